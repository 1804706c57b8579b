"""The staff dashboard's online-metrics section (templates/recommender/_online_metrics.html)
reads its figures through this tag, so the dashboard view needs no change to include it."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

from .. import online_metrics

register = template.Library()

DAYS = 30
SUMMED = ("impressions", "clicks", "plays", "high_ratings", "reviews")


@register.simple_tag
def online_metrics_data(days: int = DAYS) -> dict[str, Any]:
    """The last `days` days as staff may see them, and per list, kind and version the sums
    over those days of the cells shown (small cells are hidden before anything is summed)."""
    view = online_metrics.staff_view(days)
    totals: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for cell in view["cells"]:
        key = (cell["list"], cell["kind"], cell["model_version"], cell["arm"])
        row = totals.setdefault(
            key,
            {"list": key[0], "kind": key[1], "model_version": key[2], "arm": key[3], "days": 0}
            | dict.fromkeys(SUMMED, 0),
        )
        row["days"] += 1
        for name in SUMMED:
            row[name] += cell[name]
    for row in totals.values():
        n = row["impressions"]
        row["click_through"] = row["clicks"] / n if n else None
        row["play_through"] = row["plays"] / n if n else None
    rows = [totals[k] for k in sorted(totals)]
    return {**view, "totals": rows, "window_days": settings.OUTCOME_WINDOW_DAYS}
