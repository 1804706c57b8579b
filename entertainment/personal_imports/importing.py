"""The flow of a personal import: upload, the run on the `cpu` queue, matching what is left.

An import is all or nothing: its activity (through activity.ingest, the bulk path, which holds
the rules of recording: a paused history stores nothing, a client event id already used is a
duplicate) and its unmatched rows are written in one transaction, or nothing is. Every event
carries a client event id made from its source row (formats.event_id), so importing the same
file twice stores nothing new; a title already listed for the person in an earlier import is
not listed again, and one they matched then is placed where they put it.

The training switches need nothing here: they act on whatever activity rows a person has,
when a snapshot is taken (recommender.snapshot).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from entertainment import queueing
from entertainment.accounts.models import PrivacySettings, User
from entertainment.activity.ingest import IngestRejected, IngestResult, ingest
from entertainment.catalogue.models import Item

from . import formats, matching
from .models import Format, PersonalImport, UnmatchedRow
from .tasks import run_import

log = logging.getLogger(__name__)

PAUSED_MESSAGE = (
    "Your history is paused, so nothing was imported. Resume it on the privacy page to "
    "import your history."
)
QUEUE_DOWN_MESSAGE = (
    "The import could not be started because the task queue is unavailable. Nothing was "
    "stored; please try again later."
)
FAILED_MESSAGE = "The import stopped on an unexpected error; nothing was stored. Please try again."
# Events per call of the bulk ingestion (its own limit is BULK_INGEST_MAX_EVENTS).
INGEST_CHUNK = 5_000


def max_upload_bytes() -> int:
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


class HistoryPaused(Exception):
    """The person's history is paused: nothing is imported or matched."""

    def __init__(self) -> None:
        super().__init__(PAUSED_MESSAGE)


class AlreadyResolved(Exception):
    """The unmatched row was matched or skipped already."""


class UploadTooLarge(ValueError):
    pass


class _Erased(Exception):
    """The person erased their history while the import ran: it rolls back."""


# --- Upload ---------------------------------------------------------------------------------


def _queue_down(import_id: int, exc: Exception) -> None:
    PersonalImport.objects.filter(pk=import_id, status=PersonalImport.Status.PENDING).update(
        status=PersonalImport.Status.FAILED,
        error=QUEUE_DOWN_MESSAGE,
        upload=None,
        finished_at=timezone.now(),
    )


@transaction.atomic
def start_import(user: User, upload: UploadedFile, format: str = Format.AUTO) -> PersonalImport:
    """Keep the file and queue its import; raises HistoryPaused or UploadTooLarge."""
    if PrivacySettings.objects.filter(user=user, history_paused=True).exists():
        raise HistoryPaused()
    limit = max_upload_bytes()
    if (upload.size or 0) > limit:
        raise UploadTooLarge(f"The file is larger than {limit // (1024 * 1024)} MiB.")
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise UploadTooLarge(f"The file is larger than {limit // (1024 * 1024)} MiB.")
    name = (upload.name or "upload").replace("\\", "/").rsplit("/", 1)[-1][:255] or "upload"
    job = PersonalImport.objects.create(user=user, format=format, filename=name, upload=data)
    queueing.send_on_commit(run_import, job.pk, on_error=partial(_queue_down, job.pk))
    return job


# --- The run --------------------------------------------------------------------------------


@dataclass
class _Counts:
    stored: int = 0
    duplicates: int = 0
    paused: int = 0

    def add(self, result: IngestResult) -> None:
        self.stored += result.stored
        self.duplicates += result.duplicates + result.superseded
        self.paused += result.skipped_paused


def _record(user: User, events: Sequence[dict[str, Any]]) -> _Counts:
    counts = _Counts()
    size = min(INGEST_CHUNK, settings.BULK_INGEST_MAX_EVENTS)
    for part in matching.chunks(events, size):
        counts.add(ingest(user, part))
    if counts.paused:
        raise HistoryPaused()
    return counts


def _finish(import_id: int, **fields: Any) -> None:
    PersonalImport.objects.filter(pk=import_id).update(
        upload=None, progress=100, finished_at=timezone.now(), **fields
    )


def claim(import_id: int) -> PersonalImport | None:
    """The import, now running, or None when it ran already or is gone (a conditional update:
    two workers given the same message never both run it)."""
    claimed = PersonalImport.objects.filter(
        pk=import_id, status__in=[PersonalImport.Status.PENDING, PersonalImport.Status.RUNNING]
    ).update(status=PersonalImport.Status.RUNNING, progress=5)
    if not claimed:
        return None
    return PersonalImport.objects.select_related("user").filter(pk=import_id).first()


def run(import_id: int) -> PersonalImport | None:
    """Read, match and store one import; the import row says how it went."""
    job = claim(import_id)
    if job is None:
        return None

    def progress(percent: int) -> None:
        PersonalImport.objects.filter(pk=import_id).update(progress=percent)

    try:
        _run(job, progress)
    except _Erased:
        return None
    except (formats.ImportFileError, HistoryPaused) as exc:
        _finish(import_id, status=PersonalImport.Status.FAILED, error=str(exc))
    except IngestRejected as exc:
        # Events the readers made and the ingestion refused: a reader's bug, named.
        first = exc.errors[0].as_dict() if exc.errors else {}
        log.error("personal import %s refused by ingestion: %s %s", import_id, exc, first)
        _finish(import_id, status=PersonalImport.Status.FAILED, error=FAILED_MESSAGE)
    except Exception:
        log.exception("personal import %s failed", import_id)
        _finish(import_id, status=PersonalImport.Status.FAILED, error=FAILED_MESSAGE)
    return PersonalImport.objects.filter(pk=import_id).first()


def _run(job: PersonalImport, progress: Callable[[int], None]) -> None:
    user = job.user
    if PrivacySettings.objects.filter(user=user, history_paused=True).exists():
        raise HistoryPaused()
    parsed = formats.read(job.format, bytes(job.upload or b""), job.filename)
    progress(30)
    items = matching.resolve(user.pk, parsed.rows)
    progress(60)
    events = [
        {**event, "item": item}
        for row, item in zip(parsed.rows, items, strict=True)
        if item is not None
        for event in row.events
    ]
    unmatched = [row for row, item in zip(parsed.rows, items, strict=True) if item is None]
    with transaction.atomic():
        # No lock before the ingestion: it takes the erasure clock's lock first when it
        # rewrites a rating (activity.signals.history_changing), the order an erasure takes.
        counts = _record(user, events)
        listed = _list_unmatched(job, unmatched)
        # An erasure that deleted this import meanwhile wins: nothing is kept.
        if not PersonalImport.objects.select_for_update().filter(pk=job.pk).exists():
            raise _Erased()
        _finish(
            job.pk,
            status=PersonalImport.Status.DONE,
            format=parsed.format,
            rows=len(parsed.rows) + parsed.skipped,
            matched=len(parsed.rows) - len(unmatched),
            unmatched=listed,
            skipped=parsed.skipped,
            stored=counts.stored,
            duplicates=counts.duplicates,
            error="",
        )


def _list_unmatched(job: PersonalImport, rows: Sequence[formats.SourceRow]) -> int:
    """Rows for the titles no item matched, except those listed in an earlier import."""
    known: set[str] = set()
    for part in matching.chunks(sorted({row.key for row in rows})):
        known.update(
            UnmatchedRow.objects.filter(user=job.user, key__in=part).values_list("key", flat=True)
        )
    fresh: list[UnmatchedRow] = []
    for row in rows:
        if row.key in known:
            continue
        known.add(row.key)
        fresh.append(
            UnmatchedRow(
                personal_import=job,
                user=job.user,
                number=len(fresh) + 1,
                key=row.key,
                source=row.where[:300],
                kind=row.kind,
                title=row.title[:300],
                year=row.year,
                external_id=row.external_id[:64],
                events=row.events,
            )
        )
    UnmatchedRow.objects.bulk_create(fresh, batch_size=500)
    return len(fresh)


# --- Matching what is left ------------------------------------------------------------------


def _lock_open(user: User, row: UnmatchedRow) -> UnmatchedRow:
    locked = UnmatchedRow.objects.select_for_update().filter(pk=row.pk, user=user).first()
    if locked is None:
        raise AlreadyResolved("This title is no longer listed.")
    if locked.status != UnmatchedRow.Status.OPEN:
        raise AlreadyResolved(f"This title was {locked.get_status_display().lower()} already.")
    return locked


@transaction.atomic
def match_row(user: User, row: UnmatchedRow, item: Item) -> IngestResult:
    """Record the row's activity for `item`; raises HistoryPaused or AlreadyResolved (and
    then nothing is stored).

    The activity is written before the row is locked: the ingestion may take the erasure
    clock's lock, which an erasure takes before it deletes these rows.
    """
    if PrivacySettings.objects.filter(user=user, history_paused=True).exists():
        raise HistoryPaused()
    if row.status != UnmatchedRow.Status.OPEN:
        raise AlreadyResolved(f"This title was {row.get_status_display().lower()} already.")
    counts = _record(user, [{**event, "item": item.pk} for event in row.events])
    locked = _lock_open(user, row)
    locked.status = UnmatchedRow.Status.MATCHED
    locked.item = item
    locked.resolved_at = timezone.now()
    locked.save(update_fields=["status", "item", "resolved_at"])
    row.status, row.item, row.resolved_at = locked.status, item, locked.resolved_at
    result = IngestResult(received=len(row.events))
    result.stored, result.duplicates = counts.stored, counts.duplicates
    return result


@transaction.atomic
def skip_row(user: User, row: UnmatchedRow) -> None:
    """Nothing is recorded for the row; it is not listed again by a later import."""
    locked = _lock_open(user, row)
    locked.status = UnmatchedRow.Status.SKIPPED
    locked.resolved_at = timezone.now()
    locked.save(update_fields=["status", "resolved_at"])
    row.status, row.resolved_at = locked.status, locked.resolved_at


def search_items(row: UnmatchedRow, text: str, limit: int = 20) -> list[Item]:
    """Catalogue items of the row's kind whose title (or a creator) holds `text`."""
    text = text.strip() or row.title
    items = Item.objects.of_kind(row.kind).search(text).order_by("title", "year", "pk")
    return list(items[:limit])
