"""Stored recommendation lists: written by refresh, read by pages and the API.

Redis (the Django cache) holds each person's list per kind as plain JSON for fast reads; the
Recommendation table holds the same rows, so a cold or missing cache falls back to the
database. People who switched personalisation off, and new people, get the non-personalised
list: popular and highly rated items.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from functools import partial

from django.core.cache import cache
from django.db import transaction
from django.db.models import Avg, Count, Q

from entertainment.catalogue.models import Item, Kind

from .models import Recommendation

log = logging.getLogger(__name__)

CACHE_TTL_S = 7 * 24 * 3600
POPULAR_TTL_S = 600
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


def _cache_get(key: str) -> object:
    try:
        return cache.get(key)
    except Exception:  # Redis down: the database answers instead.
        log.warning("cache unavailable reading %s", key, exc_info=True)
        return None


def _cache_set(key: str, value: object, ttl: int) -> None:
    try:
        cache.set(key, value, ttl)
    except Exception:
        log.warning("cache unavailable writing %s", key, exc_info=True)


def store(user_id: int, lists: dict[str, list[Entry]], model_version: str) -> None:
    """Replace a person's lists (every kind given) in the database, then in the cache."""
    with transaction.atomic():
        Recommendation.objects.filter(user_id=user_id, kind__in=list(lists)).delete()
        Recommendation.objects.bulk_create(
            Recommendation(
                user_id=user_id,
                kind=kind,
                item_id=e.item_id,
                rank=rank,
                score=e.score,
                reason=e.reason[:300],
                model_version=model_version,
            )
            for kind, entries in lists.items()
            for rank, e in enumerate(entries, start=1)
        )
    for kind, entries in lists.items():
        payload = {"v": model_version, "e": [asdict(e) for e in entries]}
        transaction.on_commit(partial(_cache_set, cache_key(user_id, kind), payload, CACHE_TTL_S))


def forget(user_id: int) -> None:
    """Delete a person's stored lists everywhere (personalisation off, erasure)."""
    Recommendation.objects.filter(user_id=user_id).delete()
    try:
        cache.delete_many([cache_key(user_id, kind) for kind in Kind.values])
    except Exception:
        log.warning("cache unavailable forgetting lists of %s", user_id, exc_info=True)


def stored(user_id: int, kind: str) -> RecommendationList | None:
    cached = _cache_get(cache_key(user_id, kind))
    if isinstance(cached, dict):
        entries = [Entry(**e) for e in cached["e"]]
        return RecommendationList(kind, entries, cached["v"], personalised=True)
    rows = list(
        Recommendation.objects.filter(user_id=user_id, kind=kind)
        .order_by("rank")
        .values_list("item_id", "score", "reason", "model_version")
    )
    if not rows:
        return None
    entries = [Entry(item_id, score, reason) for item_id, score, reason, _ in rows]
    return RecommendationList(kind, entries, rows[0][3], personalised=True)


def popular(kind: str, n: int) -> RecommendationList:
    """Popular and well rated items of a kind, the same for everyone (cached briefly)."""
    key = f"recs:popular:{kind}:{n}"
    cached = _cache_get(key)
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
    _cache_set(key, [asdict(e) for e in entries], POPULAR_TTL_S)
    return RecommendationList(kind, entries, NON_PERSONAL, False)
