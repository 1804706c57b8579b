"""Bulk ingestion: up to BULK_INGEST_MAX_EVENTS rating, play, review, impression and click events.

The batch is validated as a whole: one invalid event and nothing is stored. A valid batch is
stored in one transaction with a number of queries that grows with the batch's size only in
steps of hundreds of events, never per event or per person (items, people, privacy settings
and already-used event ids are read in chunks; rows are written with bulk_create and
bulk_update). Events are checked by `events.py`. The rules are those of `recording.py`:

- nothing is stored for a person whose history is paused (counted as skipped_paused);
- an event whose client_event_id the person already used, in the database or earlier in the
  batch, is ignored (counted as duplicates);
- ratings and reviews are one per person and item: a new one updates the stored row, and when
  a batch holds several for the same person and item only the last counts (the others are
  counted as superseded). Resending a whole batch therefore changes nothing.

Two copies of a batch sent at the same moment: each runs in its own transaction, and the
second one's inserts collide with the first one's on the unique constraints (on PostgreSQL
they wait for the first to commit; SQLite runs writers one at a time). The collision rolls the
attempt back and it runs once more, now finding every event already stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from entertainment.accounts.models import PrivacySettings, User
from entertainment.catalogue.models import Item

from . import outcomes
from .events import check_event
from .models import Click, Impression, Play, Rating, Review
from .parsers import MalformedLine
from .signals import announce, events_ingested, history_changing

INGEST_FOR_OTHERS = "activity.ingest_for_others"
# Ids per `__in` query: below SQLite's historical limit of 999 bound variables.
CHUNK = 900
# Errors listed in a rejection; the count of all of them is given too.
MAX_REPORTED_ERRORS = 100

T = TypeVar("T")
EventKey = tuple[str, int, str]  # (type, user id, client event id)
# Plays without a time (imported counts) sort before every timed play.
NO_TIME = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class EventError:
    index: int
    errors: dict[str, list[str]]
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"index": self.index}
        if self.line is not None:
            body["line"] = self.line
        body["errors"] = self.errors
        return body


class IngestRejected(Exception):
    """The batch is invalid as a whole; nothing was stored."""

    def __init__(self, errors: list[EventError], detail: str | None = None) -> None:
        self.errors = errors
        self.detail = detail or (
            f"{len(errors)} of the events are invalid; nothing was stored. "
            "Fix them and send the whole batch again."
        )
        super().__init__(self.detail)

    def as_dict(self) -> dict[str, Any]:
        return {
            "detail": self.detail,
            "invalid_events": len(self.errors),
            "errors": [error.as_dict() for error in self.errors[:MAX_REPORTED_ERRORS]],
        }


@dataclass
class IngestResult:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    superseded: int = 0
    skipped_paused: int = 0
    skipped_not_measured: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "superseded": self.superseded,
            "skipped_paused": self.skipped_paused,
            "skipped_not_measured": self.skipped_not_measured,
        }


@dataclass
class _Event:
    index: int
    type: str
    user_id: int
    item_id: int
    client_event_id: str
    data: dict[str, Any] = field(repr=False)

    @property
    def key(self) -> EventKey:
        return (self.type, self.user_id, self.client_event_id)


def _chunks(values: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- Validation -----------------------------------------------------------------------------


def _validate_shapes(
    raw_events: Sequence[object],
) -> tuple[list[dict[str, Any] | None], dict[int, dict[str, list[str]]]]:
    """Field-level validation of each event on its own."""
    valid: list[dict[str, Any] | None] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for index, raw in enumerate(raw_events):
        if isinstance(raw, MalformedLine):
            cleaned, problems = None, {"non_field_errors": [raw.message]}
        else:
            cleaned, problems = check_event(raw)
        valid.append(cleaned)
        if problems:
            errors[index] = problems
    return valid, errors


def _existing_item_ids(ids: set[int]) -> set[int]:
    found: set[int] = set()
    for chunk in _chunks(sorted(ids)):
        found.update(Item.objects.filter(pk__in=chunk).values_list("pk", flat=True))
    return found


def _users_by_name(names: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(names)):
        found.update(User.objects.filter(username__in=chunk).values_list("username", "pk"))
    return found


def validate(
    sender: User, raw_events: Sequence[object], lines: Sequence[int] | None = None
) -> list[_Event]:
    """Every event checked; raises IngestRejected listing each invalid one."""
    limit = settings.BULK_INGEST_MAX_EVENTS
    if len(raw_events) > limit:
        raise IngestRejected(
            [], f"A batch holds at most {limit} events; this one has {len(raw_events)}."
        )
    valid, errors = _validate_shapes(raw_events)
    shaped = [(i, data) for i, data in enumerate(valid) if data is not None]

    items = _existing_item_ids({data["item"] for _, data in shaped})
    others = {data["user"] for _, data in shaped if data["user"] not in (None, sender.username)}
    may_send_for_others = bool(others) and sender.has_perm(INGEST_FOR_OTHERS)
    users = _users_by_name(others) if may_send_for_others else {}

    events: list[_Event] = []
    for index, data in shaped:
        problems: dict[str, list[str]] = {}
        if data["item"] not in items:
            problems["item"] = [f"No item with id {data['item']}."]
        username = data["user"] or sender.username
        user_id: int | None = sender.pk
        if username != sender.username:
            if not may_send_for_others:
                problems["user"] = ["You may only send your own events."]
            elif username not in users:
                problems["user"] = [f"No account named {username!r}."]
            user_id = users.get(username)
        if problems or user_id is None:
            errors[index] = problems
            continue
        events.append(
            _Event(index, data["type"], user_id, data["item"], data["client_event_id"], data)
        )
    if errors:
        raise IngestRejected(
            [
                EventError(index, messages, lines[index] if lines is not None else None)
                for index, messages in sorted(errors.items())
            ]
        )
    return events


# --- Storage --------------------------------------------------------------------------------

MODELS: dict[str, type[Rating] | type[Play] | type[Review] | type[Impression] | type[Click]] = {
    "rating": Rating,
    "play": Play,
    "review": Review,
    "impression": Impression,
    "click": Click,
}
# One row per person and item: a later event in the batch supersedes an earlier one.
ONE_PER_ITEM = ("rating", "review")
# Measurement, not history: stored only while the person lets what they are shown be measured.
MEASUREMENT = ("impression", "click")


def _paused_user_ids(user_ids: set[int]) -> set[int]:
    paused: set[int] = set()
    for chunk in _chunks(sorted(user_ids)):
        paused.update(
            PrivacySettings.objects.filter(user_id__in=chunk, history_paused=True).values_list(
                "user_id", flat=True
            )
        )
    return paused


def _not_measured(user_ids: set[int]) -> set[int]:
    """People who switched measurement off. Their settings rows stay locked until the batch
    commits, so switching off meanwhile (which deletes what was measured) waits for it."""
    off: set[int] = set()
    for chunk in _chunks(sorted(user_ids)):
        off.update(
            user_id
            for user_id, measure in PrivacySettings.objects.select_for_update()
            .filter(user_id__in=chunk)
            .order_by("user_id")
            .values_list("user_id", "measure_recommendations")
            if not measure
        )
    return off


def _store_measurements(by_type: dict[str, list[_Event]], now: datetime) -> None:
    kinds: dict[int, str] = {}
    for chunk in _chunks(sorted({e.item_id for e in by_type["impression"]})):
        kinds.update(Item.objects.filter(pk__in=chunk).values_list("pk", "kind"))
    Impression.objects.bulk_create(
        (
            Impression(
                user_id=e.user_id,
                item_id=e.item_id,
                client_event_id=e.client_event_id,
                created_at=now,
                list=e.data["list"],
                kind=kinds.get(e.item_id, ""),
                model_version=e.data["model_version"],
                rank=e.data["rank"],
            )
            for e in by_type["impression"]
        ),
        batch_size=500,
    )
    Click.objects.bulk_create(
        (
            Click(
                user_id=e.user_id,
                item_id=e.item_id,
                client_event_id=e.client_event_id,
                list=e.data["list"],
            )
            for e in by_type["click"]
        ),
        batch_size=500,
    )


def _attribute_outcomes(by_type: dict[str, list[_Event]], now: datetime) -> None:
    """Count this batch's clicks, plays, high ratings and reviews for the impressions that
    led to them (activity.outcomes), in bulk."""
    found = [
        *(outcomes.Outcome(e.user_id, e.item_id, "clicked_at", now) for e in by_type["click"]),
        *(
            outcomes.Outcome(e.user_id, e.item_id, "played_at", e.data["started_at"] or now)
            for e in by_type["play"]
        ),
        *(
            outcomes.Outcome(e.user_id, e.item_id, "rated_at", now)
            for e in by_type["rating"]
            if e.data["value"] >= outcomes.HIGH_RATING
        ),
        *(outcomes.Outcome(e.user_id, e.item_id, "reviewed_at", now) for e in by_type["review"]),
    ]
    outcomes.attribute(found)


def _per_person(pairs: Iterable[tuple[int, Any]], field_name: str) -> Iterator[Q]:
    """Conditions matching (person, value) pairs, about CHUNK values each.

    One query per chunk whether the batch is one person's or a service's for thousands of
    people; each person's values stay an indexable `IN` list.
    """
    by_user: dict[int, set[Any]] = {}
    for user_id, value in pairs:
        by_user.setdefault(user_id, set()).add(value)
    condition, size = Q(), 0
    for user_id, values in by_user.items():
        for part in _chunks(sorted(values)):
            if size and size + len(part) > CHUNK:
                yield condition
                condition, size = Q(), 0
            condition |= Q(user_id=user_id, **{f"{field_name}__in": part})
            size += len(part) + 1
    if size:
        yield condition


def _stored_keys(kind: str, events: list[_Event]) -> set[EventKey]:
    keys: set[EventKey] = set()
    pairs = ((event.user_id, event.client_event_id) for event in events)
    for condition in _per_person(pairs, "client_event_id"):
        keys.update(
            (kind, user_id, ceid)
            for user_id, ceid in MODELS[kind]
            ._default_manager.filter(condition)
            .values_list("user_id", "client_event_id")
            if ceid is not None
        )
    return keys


def _rows_by_user_item(
    model: type[Rating] | type[Review], events: list[_Event]
) -> dict[tuple[int, int], Any]:
    """The stored rows these events update, locked until the transaction ends."""
    rows: dict[tuple[int, int], Any] = {}
    pairs = ((event.user_id, event.item_id) for event in events)
    for condition in _per_person(pairs, "item_id"):
        for row in model._default_manager.select_for_update().filter(condition):
            rows[(row.user_id, row.item_id)] = row
    return rows


def _announce_rewrites(by_type: dict[str, list[_Event]]) -> None:
    """Name the people whose stored ratings or reviews this batch rewrites (a resent event, its
    client_event_id stored already, rewrites nothing): the old values are in snapshots and
    models, which act as for an erasure of them (activity.signals.history_changing). Sent before
    the rows are locked, the order an erasure takes its locks in."""
    people: set[int] = set()
    for kind, model in (("rating", Rating), ("review", Review)):
        stored = _stored_keys(kind, by_type[kind])
        pairs = {(e.user_id, e.item_id) for e in by_type[kind] if e.key not in stored}
        for condition in _per_person(pairs, "item_id"):
            people.update(
                model._default_manager.filter(condition).values_list("user_id", flat=True)
            )
    if people:  # one signal: the erasure steps run once for all of them
        history_changing.send(sender=Rating, user_ids=sorted(people))


def _store_ratings(events: list[_Event], stored: dict[tuple[int, int], Any], now: datetime) -> None:
    new: list[Rating] = []
    changed: list[Rating] = []
    for event in events:
        row = stored.get((event.user_id, event.item_id))
        if row is None:
            new.append(
                Rating(
                    user_id=event.user_id,
                    item_id=event.item_id,
                    value=event.data["value"],
                    client_event_id=event.client_event_id,
                )
            )
        else:
            row.value = event.data["value"]
            row.client_event_id = event.client_event_id
            row.updated_at = now
            changed.append(row)
    Rating.objects.bulk_create(new)
    Rating.objects.bulk_update(changed, ["value", "client_event_id", "updated_at"])


def _store_reviews(
    events: list[_Event], stored: dict[tuple[int, int], Any], now: datetime
) -> list[int]:
    new: list[Review] = []
    changed: list[Review] = []
    for event in events:
        fields = {
            "text": event.data["text"],
            "rating": event.data["rating"],
            "client_event_id": event.client_event_id,
            # New words need a new score, as in recording.record_review.
            "sentiment_score": None,
            "sentiment": "",
            "sentiment_model_version": "",
        }
        row = stored.get((event.user_id, event.item_id))
        if row is None:
            new.append(Review(user_id=event.user_id, item_id=event.item_id, **fields))
        else:
            for name, value in fields.items():
                setattr(row, name, value)
            row.updated_at = now
            changed.append(row)
    Review.objects.bulk_create(new)
    Review.objects.bulk_update(
        changed,
        [
            "text",
            "rating",
            "client_event_id",
            "updated_at",
            "sentiment_score",
            "sentiment",
            "sentiment_model_version",
        ],
    )
    return [row.pk for row in new] + [row.pk for row in changed]


def _store_plays(events: list[_Event]) -> dict[int, int]:
    """Stores the plays; answers, per person, the id of their newest play in the batch."""
    plays = [
        Play(
            user_id=event.user_id,
            item_id=event.item_id,
            client_event_id=event.client_event_id,
            started_at=event.data["started_at"],
            seconds_played=event.data["seconds_played"],
            completed=event.data["completed"],
            play_count=event.data["play_count"],
        )
        for event in events
    ]
    Play.objects.bulk_create(plays)
    newest: dict[int, Play] = {}
    for play in plays:
        best = newest.get(play.user_id)
        # Among plays of the same time the later event in the batch wins.
        if best is None or (play.started_at or NO_TIME) >= (best.started_at or NO_TIME):
            newest[play.user_id] = play
    return {user_id: play.pk for user_id, play in newest.items()}


def _store(events: list[_Event], received: int) -> IngestResult:
    result = IngestResult(received=received)
    paused = _paused_user_ids({event.user_id for event in events})
    not_measured = _not_measured({e.user_id for e in events if e.type in MEASUREMENT})
    seen: set[EventKey] = set()
    fresh: list[_Event] = []
    for event in events:
        if event.user_id in paused:
            result.skipped_paused += 1
        elif event.type in MEASUREMENT and event.user_id in not_measured:
            result.skipped_not_measured += 1
        elif event.key in seen:
            result.duplicates += 1
        else:
            seen.add(event.key)
            fresh.append(event)

    # One rating and one review per person and item: the last in the batch wins. Done before
    # looking for stored ids so that resending a batch leaves the stored rows as they are.
    last: dict[tuple[str, int, int], int] = {}
    for position, event in enumerate(fresh):
        if event.type in ONE_PER_ITEM:
            last[(event.type, event.user_id, event.item_id)] = position
    winners: list[_Event] = []
    for position, event in enumerate(fresh):
        if (
            event.type in ONE_PER_ITEM
            and last[(event.type, event.user_id, event.item_id)] != position
        ):
            result.superseded += 1
        else:
            winners.append(event)

    by_type: dict[str, list[_Event]] = {kind: [] for kind in MODELS}
    for event in winners:
        by_type[event.type].append(event)
    _announce_rewrites(by_type)
    # Lock the rows these ratings and reviews update before looking for used event ids: a
    # concurrent copy of this batch then waits here until the first one commits, and sees
    # its event ids as stored.
    rating_rows = _rows_by_user_item(Rating, by_type["rating"])
    review_rows = _rows_by_user_item(Review, by_type["review"])
    for kind, kind_events in by_type.items():
        stored_keys = _stored_keys(kind, kind_events)
        by_type[kind] = [event for event in kind_events if event.key not in stored_keys]
        result.duplicates += len(kind_events) - len(by_type[kind])

    now = timezone.now()
    _store_ratings(by_type["rating"], rating_rows, now)
    review_ids = _store_reviews(by_type["review"], review_rows, now)
    last_play_ids = _store_plays(by_type["play"])
    _store_measurements(by_type, now)
    _attribute_outcomes(by_type, now)
    result.stored = sum(len(kind_events) for kind_events in by_type.values())

    history = [e for kind in ("rating", "play", "review") for e in by_type[kind]]
    if history:
        user_ids = sorted({event.user_id for event in history})
        announce(
            events_ingested,
            Play,
            user_ids=user_ids,
            last_play_ids=last_play_ids,
            review_ids=review_ids,
        )
    return result


def ingest(
    sender: User, raw_events: Sequence[object], lines: Sequence[int] | None = None
) -> IngestResult:
    """Validates and stores a batch; raises IngestRejected (nothing stored) if any is invalid."""
    events = validate(sender, raw_events, lines)
    try:
        with transaction.atomic():
            return _store(events, len(raw_events))
    except IntegrityError:
        # A concurrent request stored some of these events after we looked: look again.
        with transaction.atomic():
            return _store(events, len(raw_events))
