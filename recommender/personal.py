"""A person's own lists, computed in the calling process from their history by the loaded
serving model (recommender.serving): on a read that finds no valid cached list, and by the
warm-up refresh. No files, no TensorFlow: a history query, a ranking, a title query.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Count, QuerySet

from entertainment import caching
from entertainment.activity.models import Dismissal, Play, Rating, Review
from entertainment.catalogue.models import Item, Kind
from ml.data import Interaction, user_histories
from ml.data import Review as ReviewRow
from ml.hybrid import feedback_weights
from ml.ranking import Recommended

from . import reasons, serving
from .entries import Entry, RecommendationList
from .popular import NON_PERSONAL, popular

# The newest items a ranking reads: older ones weigh decay ** 200, nothing, and the GRU reads
# only its last max_len. Every item of the history is still left out of the lists.
HISTORY_LIMIT = 200
# How deep one ranking goes before it is split by kind (twice three kinds' lists of 20: each
# item ranked costs a row of the kinds query); a kind still short is ranked again this many
# times deeper (a catalogue where one kind dominates the person's scores).
CANDIDATES = 120
DEEPER = 10
# How many more popular items a fallback list reads, for those the person already has.
POPULAR_SLACK = 200
# A "not for me" is read as a review of these stars without text: weight -2 (feedback_weights).
DISMISSED_STARS = 0.5
KIND_SIZES_KEY = "recs:kind-sizes"
KIND_SIZES_TTL_S = 600


@dataclass(frozen=True)
class History:
    """A person's items in the order the model reads them (oldest first), with feedback weights."""

    items: list[str]
    feedback: list[float]

    @property
    def owned(self) -> set[int]:
        return {int(i) for i in self.items}


def _events(user_id: int) -> list[tuple[int, float | None, float, float | None, float | None, int]]:
    """(item, epoch seconds, weight, review stars, review score, source) of every play
    (source 0), rating (1), review (2) and "not for me" (3: as a review of the lowest stars,
    without text) of the person.

    One hand-written query: this runs on every computed read, and the ORM's three queries
    (or its UNION of them) cost four times the database's own time on PostgreSQL.
    """
    play, rating, review, dismissal = (m._meta.db_table for m in (Play, Rating, Review, Dismissal))
    epoch = (
        "EXTRACT(EPOCH FROM {})"
        if connection.vendor == "postgresql"
        else "(julianday({}) - 2440587.5) * 86400.0"
    )
    real = "DOUBLE PRECISION" if connection.vendor == "postgresql" else "REAL"
    none = f"CAST(NULL AS {real})"
    sql = f"""
        SELECT item_id, {epoch.format("started_at")}, CAST(play_count AS {real}), {none}, {none}, 0
          FROM {play} WHERE user_id = %s
        UNION ALL
        SELECT item_id, {epoch.format("created_at")}, CAST(value AS {real}), {none}, {none}, 1
          FROM {rating} WHERE user_id = %s
        UNION ALL
        SELECT item_id, {epoch.format("created_at")}, 1.0, CAST(rating AS {real}),
               sentiment_score, 2
          FROM {review} WHERE user_id = %s
        UNION ALL
        SELECT item_id, {epoch.format("created_at")}, 1.0, CAST({DISMISSED_STARS} AS {real}),
               {none}, 3
          FROM {dismissal} WHERE user_id = %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, user_id, user_id, user_id])
        return [
            (int(item), None if at is None else float(at), float(w), stars, score, int(source))
            for item, at, w, stars, score, source in cursor.fetchall()
        ]


def _items(ids: set[int]) -> dict[int, tuple[str, str]]:
    """Item id → (kind, title) of these items (hand-written: 120 ids as one array parameter
    cost PostgreSQL a quarter of what the ORM's 120 placeholders do)."""
    if not ids:
        return {}
    table = Item._meta.db_table
    params: list[Any]
    if connection.vendor == "postgresql":
        where, params = "id = ANY(%s)", [sorted(ids)]
    else:
        where, params = f"id IN ({', '.join(['%s'] * len(ids))})", sorted(ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, kind, title FROM {table} WHERE {where}", params)
        return {pk: (kind, title) for pk, kind, title in cursor.fetchall()}


def history(user_id: int) -> History:
    """Plays, ratings, reviews and "not for me"s, as ml.data.user_histories orders and merges
    them (a review or a "not for me" counts as having had the item); reviews weigh their item by
    the sentiment model's score of the text, or by their stars (ml.hybrid.feedback_weights); a
    "not for me" weighs it as the most negative review does, whatever came before."""
    user = str(user_id)
    events = _events(user_id)
    rows = [Interaction(user, str(item), at, w) for item, at, w, *_ in events]
    ordered = user_histories(rows).get(user, [])
    # Dismissals come last: their weight replaces a review's of the same item.
    reviews = [(item, stars, score) for item, _, _, stars, score, src in events if src >= 2]
    # feedback_weights reads a text's score where the review has one (`text` marks it).
    review_rows = [
        ReviewRow(user, str(item), "scored" if score is not None else "", _float(stars))
        for item, stars, score in reviews
    ]
    scores = [0.0 if score is None else float(score) for *_, score in reviews]
    weights = feedback_weights({user: ordered}, review_rows, np.asarray(scores, dtype=np.float32))
    items = [r.item for r in ordered]
    return History(items, [weights.get((user, i), 1.0) for i in items])


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def owned(user_id: int) -> set[int]:
    """Every item the person has played, rated, reviewed or marked "not for me"."""
    return owned_among(user_id, None)


def owned_among(user_id: int, item_ids: Iterable[int] | None) -> set[int]:
    """Which of these items (None: of all) the person has played, rated, reviewed or marked
    "not for me" (what no list of theirs offers)."""
    ids = None if item_ids is None else set(item_ids)
    if ids is not None and not ids:
        return set()
    found: set[int] = set()
    for query in (
        Play.objects.filter(user_id=user_id),
        Rating.objects.filter(user_id=user_id),
        Review.objects.filter(user_id=user_id),
        Dismissal.objects.filter(user_id=user_id),
    ):
        rows: QuerySet[Any] = query if ids is None else query.filter(item_id__in=ids)
        found.update(rows.values_list("item_id", flat=True).distinct())
    return found


def compute(user_id: int) -> tuple[dict[str, RecommendationList], bool]:
    """The person's list of every kind, from the active versions. A kind the model has nothing
    of theirs for (no model, or every item of it known to the model already theirs) gets the
    popular list less their own items, not personalised; a person without any history gets
    empty lists (everyone's popular lists are theirs). Also whether they have a history."""
    found = history(user_id)
    # The person's arm where an experiment runs (its versions, or the popular lists).
    current = serving.active(user_id)
    arm = (current.experiment_id, current.arm)
    if not found.items:
        empty = {
            kind: RecommendationList(kind, [], NON_PERSONAL, False, *arm) for kind in Kind.values
        }
        return empty, False
    per_kind = settings.RECOMMENDATIONS_PER_KIND
    ranked = _ranked(found, per_kind, current)
    out = {
        kind: RecommendationList(kind, entries, current.label, True, *arm)
        for kind, entries in ranked.items()
    }
    own = found.owned
    # Deep enough that leaving out the person's items still fills most lists.
    deep = per_kind + min(len(own), POPULAR_SLACK)
    for kind in [kind for kind in Kind.values if not ranked.get(kind)]:
        entries = [e for e in popular(kind, deep).entries if e.item_id not in own][:per_kind]
        out[kind] = RecommendationList(kind, entries, NON_PERSONAL, False, *arm)
    return out, True


def _ranked(found: History, per_kind: int, current: serving.Active) -> dict[str, list[Entry]]:
    ranker = serving.ranker(current)
    if ranker is None:
        return {}
    depth = CANDIDATES
    while True:
        ranked = ranker.recommend(
            found.items[-HISTORY_LIMIT:],
            depth,
            exclude=found.items,
            feedback=found.feedback[-HISTORY_LIMIT:],
        )
        lists = _by_kind(ranked, per_kind)
        short = [kind for kind, entries in lists.items() if len(entries) < per_kind]
        if not short or len(ranked) < depth or depth > CANDIDATES:
            return lists
        # A short kind of which the catalogue holds nothing but the person's items and those
        # ranked already: ranking deeper would find nothing new.
        sizes, owned = kind_sizes(), _kinds_of(found.owned)
        if all(sizes.get(k, 0) <= len(lists[k]) + owned.get(k, 0) for k in short):
            return lists
        depth = CANDIDATES * DEEPER


def ranked_deeper(user_id: int, per_kind: int) -> dict[str, list[Entry]]:
    """The person's ranking of every kind `per_kind` deep, as compute ranks it (their arm's
    versions where an experiment runs), uncached: for a filtered read that the cached list
    cannot fill (recommender.controls)."""
    found = history(user_id)
    if not found.items:
        return {}
    return _ranked(found, per_kind, serving.active(user_id))


def _kinds_of(item_ids: set[int]) -> dict[str, int]:
    rows = Item.objects.filter(pk__in=item_ids).values("kind").annotate(n=Count("pk"))
    return dict(rows.values_list("kind", "n"))


def kind_sizes() -> dict[str, int]:
    """How many items of each kind the catalogue holds (cached briefly, shared)."""
    cached = caching.get(KIND_SIZES_KEY)
    if isinstance(cached, dict):
        return cached
    sizes = dict(Item.objects.values("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    caching.put(KIND_SIZES_KEY, sizes, KIND_SIZES_TTL_S)
    return sizes


def _by_kind(ranked: list[Recommended], per_kind: int) -> dict[str, list[Entry]]:
    """Ranked items (best first) into each kind's list, reasons in words, in one query."""
    ids = {int(r.item) for r in ranked if r.item.isdigit()}
    known = _items(ids | reasons.cited(r.reason for r in ranked))
    titles = {pk: title for pk, (_, title) in known.items()}
    lists: dict[str, list[Entry]] = {kind: [] for kind in Kind.values}
    for r in ranked:
        item = int(r.item) if r.item.isdigit() else None
        if item is None or item not in known:  # the model knows an item since deleted
            continue
        entries = lists[known[item][0]]
        if len(entries) < per_kind:
            entries.append(Entry(item, round(r.score, 6), reasons.words(r.reason, titles)))
    return lists
