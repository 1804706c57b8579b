"""Stored recommendation lists: written by refresh, read by pages and the API.

Redis (the Django cache) holds each person's list per kind as plain JSON for fast reads; the
Recommendation table holds the same rows, so a cold or missing cache falls back to the
database. People who switched personalisation off, and new people, get the non-personalised
list: popular and highly rated items.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import Avg, Count, Q
from django.utils import timezone

from entertainment import caching
from entertainment.catalogue.models import Item, Kind

from .models import Recommendation

# The hourly refresh rewrites every list, and a read that misses puts it back; the TTL bounds
# how long a list outlives a delete that failed because Redis was away (a rated item, erasure).
CACHE_TTL_S = 2 * 3600
POPULAR_TTL_S = 600
# Privacy changes drop the cached switch at once (receivers.py); the TTL bounds the rest.
PERSONALISED_TTL_S = 300
NON_PERSONAL = "popular"
PLURAL = {Kind.FILM: "films", Kind.MUSIC: "music", Kind.GAME: "games"}


@dataclass(frozen=True)
class Entry:
    item_id: int
    score: float
    reason: str


@dataclass(frozen=True)
class RecommendationList:
    kind: str
    entries: list[Entry]
    model_version: str
    personalised: bool


def cache_key(user_id: int, kind: str) -> str:
    return f"recs:{user_id}:{kind}"


def store(user_id: int, lists: dict[str, list[Entry]], model_version: str) -> None:
    """Replace a person's lists (every kind given) in the database, then in the cache."""
    store_many({user_id: lists}, model_version)


def store_many(by_user: dict[int, dict[str, list[Entry]]], model_version: str) -> None:
    """Replace many people's lists (every kind given for each) in one transaction, then put
    them in the cache in one round trip once it has committed (refresh stores its batches so)."""
    by_kinds: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for user_id, lists in by_user.items():
        by_kinds[tuple(sorted(lists))].append(user_id)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [
        (user_id, kind, e.item_id, rank, e.score, e.reason[:300], model_version, now)
        for user_id, lists in by_user.items()
        for kind, entries in lists.items()
        for rank, e in enumerate(entries, start=1)
    ]
    with transaction.atomic():
        for kinds, user_ids in by_kinds.items():
            Recommendation.objects.filter(user_id__in=user_ids, kind__in=kinds).delete()
        _insert(rows)
    payloads = {
        cache_key(user_id, kind): {"v": model_version, "e": [plain(e) for e in entries]}
        for user_id, lists in by_user.items()
        for kind, entries in lists.items()
    }
    transaction.on_commit(partial(caching.put_many, payloads, CACHE_TTL_S))


COLUMNS = ("user_id", "kind", "item_id", "rank", "score", "reason", "model_version", "created_at")


def _insert(rows: list[tuple[Any, ...]]) -> None:
    """Insert Recommendation rows given as COLUMNS tuples.

    A refresh writes about sixty rows a person: building model instances for bulk_create costs
    more than the rest of the refresh, so the rows go in as plain tuples (COPY on PostgreSQL).
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    table = quote(Recommendation._meta.db_table)
    columns = ", ".join(quote(c) for c in COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def plain(entry: Entry) -> dict[str, Any]:
    """The entry as the cache keeps it (Entry(**plain(e)) == e)."""
    # dataclasses.asdict deep-copies field by field: ten times slower for this flat record.
    return {"item_id": entry.item_id, "score": entry.score, "reason": entry.reason}


def forget(user_id: int) -> None:
    """Delete a person's stored lists everywhere (personalisation off, erasure)."""
    Recommendation.objects.filter(user_id=user_id).delete()
    keys = [cache_key(user_id, kind) for kind in Kind.values]
    # The cached switch names the person too: erasure must leave no key behind.
    caching.delete([*keys, personalised_key(user_id)])


def personalised_key(user_id: int) -> str:
    return f"recs:personalised:{user_id}"


def stored(user_id: int, kind: str) -> RecommendationList | None:
    return _stored(user_id, kind, caching.get(cache_key(user_id, kind)))


def _stored(
    user_id: int, kind: str, cached: Any, n: int | None = None
) -> RecommendationList | None:
    """The person's list (its first `n` entries) from what the cache held (`cached`), else
    from the database."""
    if isinstance(cached, dict):
        if not cached["e"]:
            return None  # the marker for "nothing stored"
        entries = [Entry(**e) for e in cached["e"][:n]]
        return RecommendationList(kind, entries, cached["v"], personalised=True)
    rows = list(
        Recommendation.objects.filter(user_id=user_id, kind=kind)
        .order_by("rank")
        .values_list("item_id", "score", "reason", "model_version")
    )
    if not rows:
        # Remembered, so people without lists don't query the database on every request;
        # store() overwrites the marker and forget()/drop_item() delete it.
        caching.put(cache_key(user_id, kind), {"v": "", "e": []}, CACHE_TTL_S)
        return None
    entries = [Entry(item_id, score, reason) for item_id, score, reason, _ in rows]
    caching.put(
        cache_key(user_id, kind), {"v": rows[0][3], "e": [plain(e) for e in entries]}, CACHE_TTL_S
    )
    return RecommendationList(kind, entries, rows[0][3], personalised=True)


def drop_item(user_id: int, item_id: int) -> None:
    """Take an item the person has now rated or finished out of their stored lists."""
    kinds = list(
        Recommendation.objects.filter(user_id=user_id, item_id=item_id)
        .values_list("kind", flat=True)
        .distinct()
    )
    if not kinds:
        return
    Recommendation.objects.filter(user_id=user_id, item_id=item_id).delete()
    # The next read rebuilds the cache from the database rows.
    caching.delete(cache_key(user_id, kind) for kind in kinds)


def popular(kind: str, n: int) -> RecommendationList:
    """Popular and well rated items of a kind, the same for everyone (cached briefly)."""
    key = f"recs:popular:{kind}:{n}"
    cached = caching.get(key)
    if isinstance(cached, list):
        return RecommendationList(kind, [Entry(**e) for e in cached], NON_PERSONAL, False)
    items = (
        Item.objects.filter(kind=kind)
        .annotate(
            n_plays=Count("plays", distinct=True),
            n_ratings=Count("ratings", distinct=True),
            avg=Avg("ratings__value"),
        )
        .filter(Q(n_plays__gt=0) | Q(n_ratings__gt=0))
        .order_by("-n_plays", "-n_ratings", "-avg", "pk")
        .values_list("pk", "n_plays", "n_ratings", "avg")[: n * 3]
    )
    entries = []
    for pk, n_plays, n_ratings, avg in items:
        # Bayesian-style: popularity, nudged by how well people rate it.
        score = (n_plays + n_ratings) * (float(avg) / 5.0 if avg is not None else 0.6)
        reason = f"Popular in {PLURAL[Kind(kind)]}" + (
            f", rated {float(avg):.1f}★ on average" if avg is not None else ""
        )
        entries.append(Entry(pk, round(score, 4), reason))
    entries.sort(key=lambda e: (-e.score, e.item_id))
    entries = entries[:n]
    caching.put(key, [plain(e) for e in entries], POPULAR_TTL_S)
    return RecommendationList(kind, entries, NON_PERSONAL, False)


def forget_personalised(user_id: int) -> None:
    """Drop the cached copy of a person's personalisation switch (it has just changed)."""
    caching.delete([personalised_key(user_id)])


def read_keys(user_id: int, kinds: list[str]) -> list[str]:
    """The cache keys for_person reads, for a caller that fetches them with others at once."""
    return [personalised_key(user_id), *(cache_key(user_id, kind) for kind in kinds)]


def for_person(
    user: Any, kind: str, n: int, cached: dict[str, Any] | None = None
) -> RecommendationList:
    """What a person sees for a kind: their own list, or the non-personalised one when
    personalisation is off or nothing has been computed for them yet.

    `cached` is what the cache held for read_keys (fetched by the caller); without it, they
    are fetched here, in one round trip: this runs on every request.
    """
    if getattr(user, "is_authenticated", False):
        if cached is None:
            cached = caching.get_many(read_keys(user.pk, [kind]))
        personalised = cached.get(personalised_key(user.pk))
        if not isinstance(personalised, bool):
            personalised = bool(user.privacy.personalised)
            caching.put(personalised_key(user.pk), personalised, PERSONALISED_TTL_S)
            cached[personalised_key(user.pk)] = personalised
        if personalised:
            own = _stored(user.pk, kind, cached.get(cache_key(user.pk, kind)), n)
            if own is not None and own.entries:
                return RecommendationList(kind, own.entries[:n], own.model_version, True)
    return popular(kind, n)
