"""Online figures of the recommendation lists: each day's impressions counted into ListMetricDay.

A cell is one day of one list (for_you, up_next, ...) for one item kind, model version label
and, while an experiment runs, arm. Its counts: impressions, people, impressions followed by a
click, a play, a rating of 4 or more or a review within OUTCOME_WINDOW_DAYS, distinct items
(coverage: distinct items / the kind's catalogue size) and novel impressions (items outside the
top 10% of their kind by popularity). A day is counted again from scratch each time (its
outcomes keep arriving for a week), so re-running is harmless; days whose raw impressions may
have expired are never recounted, so the aggregates outlive the rows.

Staff read cells only through `staff_view`, which hides every cell of fewer than
PRIVACY_MIN_GROUP_SIZE people (recommender.staff_metrics.at_least_k): its rates would say what
those few did.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from entertainment.activity.models import Impression, Play, Rating
from entertainment.catalogue.models import Item

from .models import Experiment, ListMetricDay
from .staff_metrics import at_least_k

TOP_SHARE = 0.10


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def popular_items(kind: str, catalogue_size: int) -> set[int]:
    """The top 10% of a kind's catalogue by popularity (plays and ratings, all time)."""
    top = math.ceil(TOP_SHARE * catalogue_size)
    if not top:
        return set()
    counts: dict[int, int] = defaultdict(int)
    for model in (Play, Rating):
        for item_id, n in (
            model.objects.filter(item__kind=kind)
            .order_by()
            .values("item_id")
            .annotate(n=Count("pk"))
            .values_list("item_id", "n")
        ):
            counts[item_id] += n
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    return {item_id for item_id, _ in ranked[:top]}


def oldest_recountable(today: date | None = None) -> date:
    """The oldest day whose raw impressions are all still kept."""
    today = today or timezone.now().date()
    return today - timedelta(days=settings.IMPRESSION_RETENTION_DAYS - 1)


def aggregate_day(
    day: date, today: date | None = None, popular: dict[str, set[int]] | None = None
) -> int:
    """Count one day into ListMetricDay, replacing what was counted before; returns the cells.
    A day some of whose impressions may have expired is left as it was (returns -1)."""
    if day < oldest_recountable(today):
        return -1
    start, end = _bounds(day)
    shown = Impression.objects.filter(created_at__gte=start, created_at__lt=end)
    sizes = dict(
        Item.objects.order_by().values("kind").annotate(n=Count("pk")).values_list("kind", "n")
    )
    kinds = set(shown.order_by().values_list("kind", flat=True).distinct())
    popular = dict(popular or {})
    for kind in kinds - set(popular):
        popular[kind] = popular_items(kind, sizes.get(kind, 0))
    cell = ("list", "kind", "model_version", "experiment_id", "arm")
    rows = (
        shown.order_by()
        .values(*cell)
        .annotate(
            impressions=Count("pk"),
            people=Count("user_id", distinct=True),
            clicks=Count("pk", filter=Q(clicked_at__isnull=False)),
            plays=Count("pk", filter=Q(played_at__isnull=False)),
            high_ratings=Count("pk", filter=Q(rated_at__isnull=False)),
            reviews=Count("pk", filter=Q(reviewed_at__isnull=False)),
            distinct_items=Count("item_id", distinct=True),
        )
    )
    # Novel impressions per cell: impressions of items outside their kind's top 10%.
    novel: dict[tuple[Any, ...], int] = defaultdict(int)
    for row in shown.order_by().values(*cell, "item_id").annotate(n=Count("pk")):
        if row["item_id"] not in popular.get(row["kind"], set()):
            novel[tuple(row[name] for name in cell)] += row["n"]
    experiments = set(
        Experiment.objects.filter(
            pk__in={r["experiment_id"] for r in rows if r["experiment_id"] is not None}
        ).values_list("pk", flat=True)
    )
    cells = [
        ListMetricDay(
            day=day,
            list=row["list"],
            kind=row["kind"],
            model_version=row["model_version"],
            experiment_id=row["experiment_id"] if row["experiment_id"] in experiments else None,
            arm=row["arm"] if row["experiment_id"] in experiments else "",
            people=row["people"],
            impressions=row["impressions"],
            clicks=row["clicks"],
            plays=row["plays"],
            high_ratings=row["high_ratings"],
            reviews=row["reviews"],
            distinct_items=row["distinct_items"],
            novel_impressions=novel[tuple(row[name] for name in cell)],
            catalogue_size=sizes.get(row["kind"], 0),
        )
        for row in rows
    ]
    cells = _merged(cells)
    with transaction.atomic():
        ListMetricDay.objects.filter(day=day).delete()
        ListMetricDay.objects.bulk_create(cells)
    return len(cells)


def _merged(cells: list[ListMetricDay]) -> list[ListMetricDay]:
    """Cells whose experiment was deleted fold into the cell without one (one row per key)."""
    by_key: dict[tuple[Any, ...], ListMetricDay] = {}
    for c in cells:
        key = (c.list, c.kind, c.model_version, c.experiment_id, c.arm)
        found = by_key.get(key)
        if found is None:
            by_key[key] = c
            continue
        for name in (
            "people",
            "impressions",
            "clicks",
            "plays",
            "high_ratings",
            "reviews",
            "distinct_items",
            "novel_impressions",
        ):
            setattr(found, name, getattr(found, name) + getattr(c, name))
    return list(by_key.values())


def aggregate_recent(today: date | None = None) -> int:
    """Count today and the days whose outcomes may still arrive (the beat task)."""
    today = today or timezone.now().date()
    first = max(today - timedelta(days=settings.OUTCOME_WINDOW_DAYS), oldest_recountable(today))
    # Popularity as of now for every day recounted: one reading per kind, not per day.
    sizes = Item.objects.order_by().values("kind").annotate(n=Count("pk")).values_list("kind", "n")
    popular = {kind: popular_items(kind, n) for kind, n in sizes}
    cells = 0
    day = first
    while day <= today:
        cells += max(aggregate_day(day, today, popular), 0)
        day += timedelta(days=1)
    return cells


# --- What staff see -------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class Cell:
    day: date
    list: str
    kind: str
    model_version: str
    experiment_id: int | None
    arm: str
    people: int
    impressions: int
    clicks: int
    plays: int
    high_ratings: int
    reviews: int
    distinct_items: int
    novel_impressions: int
    catalogue_size: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "list": self.list,
            "kind": self.kind,
            "model_version": self.model_version,
            "experiment": self.experiment_id,
            "arm": self.arm,
            "people": self.people,
            "impressions": self.impressions,
            "clicks": self.clicks,
            "plays": self.plays,
            "high_ratings": self.high_ratings,
            "reviews": self.reviews,
            "click_through": _rate(self.clicks, self.impressions),
            "play_through": _rate(self.plays, self.impressions),
            "high_rating_rate": _rate(self.high_ratings, self.impressions),
            "review_rate": _rate(self.reviews, self.impressions),
            "coverage": _rate(self.distinct_items, self.catalogue_size),
            "novelty": _rate(self.novel_impressions, self.impressions),
        }


def staff_view(days: int, today: date | None = None) -> dict[str, Any]:
    """The last `days` days as staff may see them: the cells of at least k people (the others
    counted, never shown), and per list a daily series summed over those cells."""
    today = today or timezone.now().date()
    first = today - timedelta(days=days - 1)
    shown: list[Cell] = []
    hidden = 0
    for row in ListMetricDay.objects.filter(day__gte=first, day__lte=today).order_by(
        "day", "list", "kind", "model_version", "arm"
    ):
        if at_least_k(row.people) is None:
            hidden += 1
            continue
        shown.append(
            Cell(
                row.day,
                row.list,
                row.kind,
                row.model_version,
                row.experiment_id,
                row.arm,
                row.people,
                row.impressions,
                row.clicks,
                row.plays,
                row.high_ratings,
                row.reviews,
                row.distinct_items,
                row.novel_impressions,
                row.catalogue_size,
            )
        )
    return {
        "days": days,
        "first_day": first,
        "last_day": today,
        "min_group": settings.PRIVACY_MIN_GROUP_SIZE,
        "hidden_cells": hidden,
        "cells": [c.as_dict() for c in shown],
        "series": _series(shown),
    }


def _series(cells: list[Cell]) -> dict[str, list[dict[str, Any]]]:
    """Per list, one point a day: rates over every shown cell of that list and day. Coverage is
    averaged over kinds (distinct items of a kind over its catalogue), weighted by impressions."""
    totals: dict[tuple[str, date], dict[str, float]] = {}
    for c in cells:
        t = totals.setdefault(
            (c.list, c.day),
            {
                "impressions": 0,
                "clicks": 0,
                "plays": 0,
                "high": 0,
                "reviews": 0,
                "novel": 0,
                "cov": 0.0,
            },
        )
        t["impressions"] += c.impressions
        t["clicks"] += c.clicks
        t["plays"] += c.plays
        t["high"] += c.high_ratings
        t["reviews"] += c.reviews
        t["novel"] += c.novel_impressions
        if c.catalogue_size:
            t["cov"] += c.impressions * c.distinct_items / c.catalogue_size
    series: dict[str, list[dict[str, Any]]] = {}
    for (name, day), t in sorted(totals.items(), key=lambda pair: (pair[0][0], pair[0][1])):
        n = int(t["impressions"])
        series.setdefault(name, []).append(
            {
                "day": day,
                "impressions": n,
                "click_through": _rate(int(t["clicks"]), n),
                "play_through": _rate(int(t["plays"]), n),
                "high_rating_rate": _rate(int(t["high"]), n),
                "review_rate": _rate(int(t["reviews"]), n),
                "coverage": round(t["cov"] / n, 4) if n else None,
                "novelty": _rate(int(t["novel"]), n),
            }
        )
    return series
