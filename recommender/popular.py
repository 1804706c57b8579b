"""Popular and well rated items per kind: what people without a list of their own see."""

from __future__ import annotations

from django.db.models import Avg, Count, Q

from entertainment import caching
from entertainment.catalogue.models import Item

from . import diversity, reasons
from .entries import Entry, RecommendationList, plain

POPULAR_TTL_S = 600
NON_PERSONAL = "popular"


def popular(kind: str, n: int, capped: bool = True) -> RecommendationList:
    """The n most played and rated items of a kind, the same for everyone (cached briefly);
    `capped`: at most two of one series or artist in ten (diversity.capped), else as ranked."""
    key = f"recs:popular:{kind}:{n}" if capped else f"recs:popular-ranked:{kind}:{n}"
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
        average = float(avg) if avg is not None else None
        entries.append(Entry(pk, round(score, 4), reasons.popular(kind, average)))
    entries.sort(key=lambda e: (-e.score, e.item_id))
    if capped:
        entries = diversity.capped(entries, diversity.groups(e.item_id for e in entries), limit=n)
    entries = entries[:n]
    caching.put(key, [plain(e) for e in entries], POPULAR_TTL_S)
    return RecommendationList(kind, entries, NON_PERSONAL, False)
