"""Recomputing everyone's lists with the active models, in batches on the `cpu` queue."""

from __future__ import annotations

import csv
import logging
import re
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from entertainment.accounts.models import User
from entertainment.activity.models import Play, Rating, Review
from entertainment.catalogue.models import Item

from . import lists, registry
from .models import ModelVersion

log = logging.getLogger(__name__)

# How deep to rank before splitting by kind: enough for each kind's list to fill.
CANDIDATES = 300
# The first, cheaper pass ranks this many times a list's length per kind (see _ranked).
FIRST_PASS_PER_KIND = 2


def personalised_people() -> QuerySet[User]:
    """People whose lists are computed: personalisation on (the default) and able to log in."""
    return User.objects.filter(is_active=True).exclude(privacy_settings__personalised=False)


def enqueue_refresh() -> int:
    """Split every personalised person into batches, one `cpu` task each. Returns the count."""
    from .tasks import refresh_batch

    if registry.active_version("sequence") is None:
        return 0
    ids = list(personalised_people().order_by("pk").values_list("pk", flat=True))
    size = settings.REFRESH_BATCH_SIZE
    for start in range(0, len(ids), size):
        refresh_batch.delay(ids[start : start + size])
    return len(ids)


def after_activation(version_id: int) -> None:
    version = ModelVersion.objects.get(pk=version_id)
    if version.kind == "sentiment":
        from .sentiment import score_reviews

        score_reviews()
    enqueue_refresh()


def model_bundle(directory: Path) -> str | None:
    """Join the active versions into one hybrid model directory (symlinks); returns their label.

    The sequence version is itself a hybrid directory (its blend and the GRU in `sequence/`);
    the active text and artwork models are linked in beside it.
    """
    sequence = registry.active_version("sequence")
    if sequence is None:
        return None
    for entry in Path(sequence.path).iterdir():
        (directory / entry.name).symlink_to(entry.resolve())
    labels = [sequence.label]
    for kind in ("sentiment", "artwork"):
        version = registry.active_version(kind)
        if version is not None and version.path:
            (directory / kind).symlink_to(Path(version.path).resolve())
            labels.append(version.label)
    return "+".join(labels)


def _write_history(path: Path, reviews_path: Path, user_ids: list[int]) -> None:
    """The batch's own history in the ml formats (all of it: this is serving, not training)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user", "item", "timestamp", "weight"])
        plays = Play.objects.filter(user_id__in=user_ids).order_by("user_id", "started_at", "pk")
        for u, i, at, n in plays.values_list("user_id", "item_id", "started_at", "play_count"):
            writer.writerow([u, i, "" if at is None else int(at.timestamp()), n])
        ratings = Rating.objects.filter(user_id__in=user_ids).order_by("user_id", "created_at")
        for u, i, at, value in ratings.values_list("user_id", "item_id", "created_at", "value"):
            writer.writerow([u, i, int(at.timestamp()), value])
    with reviews_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user", "item", "text", "rating"])
        for u, i, text, r in Review.objects.filter(user_id__in=user_ids).values_list(
            "user_id", "item_id", "text", "rating"
        ):
            writer.writerow([u, i, text, "" if r is None else r])


def refresh_people(user_ids: list[int]) -> int:
    """Compute and store the lists of these people (those still personalised). Returns the count."""
    from ml.data import read_interactions, read_reviews

    user_ids = list(personalised_people().filter(pk__in=user_ids).values_list("pk", flat=True))
    if not user_ids:
        return 0
    kinds = dict(Item.objects.values_list("pk", "kind"))
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        bundle.mkdir()
        version = model_bundle(bundle)
        if version is None:
            return 0
        history, reviews = Path(tmp) / "interactions.csv", Path(tmp) / "reviews.csv"
        _write_history(history, reviews, user_ids)
        ranked = _ranked(bundle, read_interactions(history), read_reviews(reviews), kinds)
    every_kind = set(kinds.values())
    lists.store_many(
        _readable(
            {
                user_id: {kind: ranked.get(user_id, {}).get(kind, []) for kind in every_kind}
                for user_id in user_ids
            }
        ),
        version,
    )
    return len(user_ids)


_REASON = re.compile(r"^(because you played|looks like) (\S+)$")


def _readable(
    by_person: dict[int, dict[str, list[lists.Entry]]],
) -> dict[int, dict[str, list[lists.Entry]]]:
    """ml/ explains with ids ("because you played 17"); people read titles."""
    entries = [e for by_kind in by_person.values() for found in by_kind.values() for e in found]
    referenced = {
        int(match.group(2))
        for e in entries
        if (match := _REASON.match(e.reason)) and match.group(2).isdigit()
    }
    titles = dict(Item.objects.filter(pk__in=referenced).values_list("pk", "title"))

    def said(reason: str) -> str:
        match = _REASON.match(reason)
        if match and match.group(2).isdigit() and int(match.group(2)) in titles:
            reason = f"{match.group(1)} {titles[int(match.group(2))]}"
        elif reason.startswith("popular in "):
            reason = "popular in " + reason.removeprefix("popular in ").replace("-", " ")
        return reason[:1].upper() + reason[1:]

    return {
        person: {
            kind: [lists.Entry(e.item_id, e.score, said(e.reason)) for e in found]
            for kind, found in by_kind.items()
        }
        for person, by_kind in by_person.items()
    }


def _ranked(
    bundle: Path, interactions: list[Any], reviews: list[Any], kinds: dict[int, str]
) -> dict[int, dict[str, list[lists.Entry]]]:
    """Each person's best RECOMMENDATIONS_PER_KIND per kind, from one overall ranking.

    Ranking is cheap; explaining each ranked item (its reason) is what costs, so a first pass
    ranks only a few per kind more than the lists hold. The k best of a longer ranking are the
    k of a shorter one, so people whose lists that fills are done; the others (a kind short,
    the first pass full) are ranked again to CANDIDATES deep, as if that had been asked first.
    """
    from ml.hybrid import recommend as hybrid_recommend

    per_kind = settings.RECOMMENDATIONS_PER_KIND
    every_kind = set(kinds.values())
    first_k = min(CANDIDATES, FIRST_PASS_PER_KIND * per_kind * len(every_kind))
    ranked, counts = _split_by_kind(
        hybrid_recommend(bundle, interactions, reviews, k=first_k), kinds, per_kind
    )
    short = {
        str(user_id)
        for user_id, by_kind in ranked.items()
        if counts[user_id] >= first_k
        and any(len(by_kind.get(kind, ())) < per_kind for kind in every_kind)
    }
    if short and first_k < CANDIDATES:
        again, _ = _split_by_kind(
            hybrid_recommend(
                bundle,
                [row for row in interactions if row.user in short],
                [row for row in reviews if row.user in short],
                k=CANDIDATES,
            ),
            kinds,
            per_kind,
        )
        ranked.update(again)
    return ranked


def _split_by_kind(
    rows: list[Any], kinds: dict[int, str], per_kind: int
) -> tuple[dict[int, dict[str, list[lists.Entry]]], Counter[int]]:
    """Rows (best first per person) into lists per person and kind; also rows per person."""
    ranked: dict[int, dict[str, list[lists.Entry]]] = defaultdict(lambda: defaultdict(list))
    counts: Counter[int] = Counter()
    for row in rows:
        item_id, user_id = int(row.item), int(row.user)
        counts[user_id] += 1
        kind = kinds.get(item_id)
        if kind is None or len(ranked[user_id][kind]) >= per_kind:
            continue
        ranked[user_id][kind].append(lists.Entry(item_id, float(row.score), row.reason))
    return ranked, counts
