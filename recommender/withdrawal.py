"""What happens to snapshots and model versions when some of a person's rows leave.

An erasure (chosen items, all history, the account), a deletion through the API or the admin,
a staff member deleting an item, a correction of a stored rating, play or review: each has the
same effect here (`withdraw`). The finished snapshots holding the person lose their files and
are marked `erased_at`; the versions trained on them are marked (the active one is retrained
within ERASURE_RETRAIN_WINDOW_H, the others are discarded at once); an erasure request lists
what still holds the data: those active versions and the live runs training on such a snapshot
(as "run:<id>", replaced by the version the run registers, or dropped when it ends).

The erasure clock (models.ErasureClock) orders all of this against the steps that could miss
it. A withdrawal moves the clock on and holds its row lock until its transaction commits. A
snapshot takes the lock at its start, so every erasure numbered up to the value it reads had
committed before it read a row, and at its end, where an erasure of one of its people numbered
after its start means its files may hold the rows: it is taken again. A run registers its
version and anyone activates one while holding the lock, so an erasure either sees the version
(and marks it) or is seen by the registration (through the snapshot's `erased_at`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from datetime import timedelta
from functools import partial

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from entertainment.accounts.models import ErasureRequest

from .models import (
    ErasureClock,
    ErasureEvent,
    ModelVersion,
    Snapshot,
    SnapshotMember,
    TrainingRun,
)

# Longer than any snapshot can take to write (a snapshot older than this is taken again).
EVENTS_KEPT = timedelta(days=2)


def run_token(run_id: int) -> str:
    """How an erasure's pending list names a live run that trains on its data."""
    return f"run:{run_id}"


def hold_clock(advance: int = 0) -> int:
    """Take the erasure clock's row lock until the current transaction ends, moving it on by
    `advance`; returns its value. (An UPDATE, not a SELECT FOR UPDATE: on SQLite it takes the
    database's write lock, which is what serialises writers there.)"""
    clock = ErasureClock.objects.filter(pk=1)
    if not clock.update(value=F("value") + advance):
        # The migration creates the row; a test flushing the tables removes it.
        ErasureClock.objects.get_or_create(pk=1)
        clock.update(value=F("value") + advance)
    return int(clock.values_list("value", flat=True).get())


def withdraw(person_ids: Iterable[int], erasure_id: int | None = None) -> None:
    """Some rows of these people leave in the current transaction: act on every snapshot and
    version that holds them. Idempotent; cheap when they are in no snapshot."""
    people = sorted(set(person_ids))
    if not people:
        return
    with transaction.atomic():
        last = hold_clock(len(people))
        first = last - len(people) + 1
        ErasureEvent.objects.bulk_create(
            ErasureEvent(seq=first + n, person_id=person) for n, person in enumerate(people)
        )
        now = timezone.now()
        holding = SnapshotMember.objects.filter(user_id__in=people).values("snapshot_id")
        snapshot_ids = list(Snapshot.objects.filter(pk__in=holding).values_list("pk", flat=True))
        snapshots = Snapshot.objects.filter(pk__in=snapshot_ids)
        paths = list(snapshots.exclude(path="").values_list("path", flat=True))
        snapshots.filter(erased_at=None).update(erased_at=now)
        snapshots.exclude(path="").update(path="")
        versions = ModelVersion.objects.filter(snapshot_id__in=snapshot_ids)
        versions.filter(needs_retrain_since=None).update(needs_retrain_since=now)
        active = list(
            versions.filter(status=ModelVersion.Status.ACTIVE).values_list("pk", flat=True)
        )
        idle = list(versions.exclude(status=ModelVersion.Status.ACTIVE).exclude(path=""))
        if erasure_id is not None:
            runs = TrainingRun.objects.filter(
                snapshot_id__in=snapshot_ids, status__in=TrainingRun.LIVE
            ).values_list("pk", flat=True)
            pending = [*active, *(run_token(pk) for pk in runs)]
            ErasureRequest.objects.filter(pk=erasure_id).update(pending_versions=pending)
        transaction.on_commit(partial(_delete_files, idle, paths))


def _delete_files(versions: list[ModelVersion], snapshot_paths: list[str]) -> None:
    from .registry import discard

    for version in versions:
        discard(version)
    for path in snapshot_paths:
        shutil.rmtree(path, ignore_errors=True)


def erased_since(seq: int) -> set[int]:
    """The people with rows erased after erasure number `seq` (call holding the clock)."""
    return set(ErasureEvent.objects.filter(seq__gt=seq).values_list("person_id", flat=True))


def run_ended(run_id: int, marked_version: ModelVersion | None) -> None:
    """A run ended: erasures waiting on it now wait on the marked version it activated, or on
    nothing (its version was clean, discarded or never made)."""
    token = run_token(run_id)
    for erasure in ErasureRequest.objects.filter(models_clean_at=None):
        if token in erasure.pending_versions:
            pending = [p for p in erasure.pending_versions if p != token]
            if marked_version is not None and marked_version.pk not in pending:
                pending.append(marked_version.pk)
            ErasureRequest.objects.filter(pk=erasure.pk).update(pending_versions=pending)


def release_for_withdrawn_consent(person_id: int) -> None:
    """The person switched a training signal off: no run may start from a snapshot taken while
    it was on. The files of those no run is training on go now (a queued run takes a new
    snapshot); a running run's go when it ends (snapshot.release)."""
    with transaction.atomic():
        holding = SnapshotMember.objects.filter(user_id=person_id).values("snapshot_id")
        busy = TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING).values("snapshot_id")
        snapshots = Snapshot.objects.filter(pk__in=holding).exclude(path="").exclude(pk__in=busy)
        paths = list(snapshots.values_list("path", flat=True))
        snapshots.update(path="")
        transaction.on_commit(partial(_delete_files, [], paths))


def prune_events() -> int:
    """Forget erasure events no snapshot can still be waiting to compare itself with."""
    return ErasureEvent.objects.filter(at__lt=timezone.now() - EVENTS_KEPT).delete()[0]
