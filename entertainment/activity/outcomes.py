"""What came of an impression: a click through, a play, a rating of 4 or more, a review.

Each outcome counts for the latest impression of its item shown to its person before it, no
longer ago than OUTCOME_WINDOW_DAYS; an impression keeps the first outcome of each sort (a
second play of the same item changes nothing). One function does it for one event (a page or
API write) and for thousands (bulk ingestion, a batch of impressions just written): one read
of the candidate impressions per few hundred (person, item) pairs, one bulk update.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from .models import Click, Impression, Play, Rating, Review

FIELDS = ("clicked_at", "played_at", "rated_at", "reviewed_at")
HIGH_RATING = 4
# (person, item) pairs per query: below SQLite's historical limit of 999 bound variables.
CHUNK = 400


@dataclass(frozen=True)
class Outcome:
    user_id: int
    item_id: int
    field: str  # one of FIELDS
    at: datetime


def window() -> timedelta:
    return timedelta(days=settings.OUTCOME_WINDOW_DAYS)


def pairs_condition(pairs: Iterable[tuple[int, int]]) -> Iterator[Q]:
    """Conditions matching (person, item) pairs, about CHUNK pairs each, grouped by person so
    each stays an indexable `user_id = … AND item_id IN (…)`."""
    by_user: dict[int, set[int]] = {}
    for user_id, item_id in pairs:
        by_user.setdefault(user_id, set()).add(item_id)
    condition, size = Q(), 0
    for user_id, items in sorted(by_user.items()):
        ordered = sorted(items)
        for start in range(0, len(ordered), CHUNK):
            part = ordered[start : start + CHUNK]
            if size and size + len(part) > CHUNK:
                yield condition
                condition, size = Q(), 0
            condition |= Q(user_id=user_id, item_id__in=part)
            size += len(part) + 1
    if size:
        yield condition


def attribute(outcomes: Iterable[Outcome]) -> int:
    """Set the outcome times on the impressions that led to these events; returns how many
    impressions changed."""
    wanted = [o for o in outcomes if o.field in FIELDS]
    if not wanted:
        return 0
    span = window()
    earliest = min(o.at for o in wanted) - span
    latest = max(o.at for o in wanted)
    shown: dict[tuple[int, int], list[Impression]] = {}
    for condition in pairs_condition((o.user_id, o.item_id) for o in wanted):
        rows = (
            Impression.objects.filter(condition, created_at__gte=earliest, created_at__lte=latest)
            .only("pk", "user_id", "item_id", "created_at", *FIELDS)
            .order_by("created_at", "pk")
        )
        for row in rows:
            shown.setdefault((row.user_id, row.item_id), []).append(row)
    changed: dict[int, Impression] = {}
    fields: set[str] = set()
    for outcome in sorted(wanted, key=lambda o: o.at):
        candidates = shown.get((outcome.user_id, outcome.item_id))
        if not candidates:
            continue
        # The latest impression at or before the event.
        position = bisect.bisect_right([r.created_at for r in candidates], outcome.at) - 1
        if position < 0:
            continue
        row = candidates[position]
        if outcome.at - row.created_at > span or getattr(row, outcome.field) is not None:
            continue
        setattr(row, outcome.field, outcome.at)
        changed[row.pk] = row
        fields.add(outcome.field)
    if changed:
        Impression.objects.bulk_update(list(changed.values()), sorted(fields), batch_size=500)
    return len(changed)


def after_impressions(pairs: set[tuple[int, int]], since: datetime) -> int:
    """Attribute the events of these (person, item) pairs since `since` (the earliest of a
    batch of impressions just written): a click or play often comes before the batch that
    holds its impression is written."""
    outcomes: list[Outcome] = []
    for condition in pairs_condition(pairs):
        outcomes.extend(
            Outcome(u, i, "clicked_at", at)
            for u, i, at in Click.objects.filter(condition, created_at__gte=since).values_list(
                "user_id", "item_id", "created_at"
            )
        )
        for u, i, started, created in Play.objects.filter(
            condition, created_at__gte=since
        ).values_list("user_id", "item_id", "started_at", "created_at"):
            outcomes.append(Outcome(u, i, "played_at", play_time(started, created)))
        outcomes.extend(
            Outcome(u, i, "rated_at", at)
            for u, i, at in Rating.objects.filter(
                condition, updated_at__gte=since, value__gte=HIGH_RATING
            ).values_list("user_id", "item_id", "updated_at")
        )
        outcomes.extend(
            Outcome(u, i, "reviewed_at", at)
            for u, i, at in Review.objects.filter(condition, updated_at__gte=since).values_list(
                "user_id", "item_id", "updated_at"
            )
        )
    return attribute(outcomes)


def play_time(started_at: datetime | None, created_at: datetime) -> datetime:
    """When a play happened: its start when the client says, else when it was recorded."""
    return started_at or created_at
