"""Training runs: requesting, claiming, progress, and the run itself (plain functions).

Celery tasks in tasks.py only call into here. A run is claimed with a conditional update, so two
deliveries of one message, or two workers, never train the same run twice; a run whose worker
died is taken over by the redelivered message, up to TRAINING_MAX_ATTEMPTS.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from entertainment import queueing
from entertainment.accounts.models import User

from . import registry, withdrawal
from .models import ModelKind, ModelVersion, Snapshot, TrainingRun
from .snapshot import kind_hash, release, take_snapshot

if TYPE_CHECKING:
    from .trainers import TrainResult

log = logging.getLogger(__name__)

Status = TrainingRun.Status


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def request_training(
    kinds: list[str],
    trigger: str = TrainingRun.Trigger.MANUAL,
    requested_by: User | None = None,
    snapshot: Snapshot | None = None,
) -> list[TrainingRun]:
    """Queue one run per kind, or return the live run of a kind that already has one."""
    from .tasks import train  # tasks import this module

    runs = []
    for kind in kinds:
        try:
            with transaction.atomic():
                run = TrainingRun.objects.create(
                    kind=kind, trigger=trigger, requested_by=requested_by, snapshot=snapshot
                )
        except IntegrityError:
            live = TrainingRun.objects.filter(kind=kind, status__in=TrainingRun.LIVE).first()
            if live is None:  # it finished between our insert and our look-up
                return request_training(kinds, trigger, requested_by, snapshot)
            runs.append(live)
            continue
        queueing.send_on_commit(train, run.pk, on_error=partial(_queue_down, run.pk))
        runs.append(run)
    return runs


def _queue_down(run_id: int, exc: Exception) -> None:
    """The run could not be queued: fail it, so it does not block the next request."""
    TrainingRun.objects.filter(pk=run_id, status=Status.QUEUED).update(
        status=Status.FAILED,
        finished_at=timezone.now(),
        error=f"The task queue is unavailable ({exc.__class__.__name__}); try again later.",
    )


def _owner_is_gone(run: TrainingRun) -> bool:
    """The worker that claimed `run` is dead: its process is gone here, or it stopped reporting."""
    stale = timezone.now() - timedelta(seconds=settings.TRAINING_STALE_AFTER_S)
    if run.heartbeat_at is None or run.heartbeat_at < stale:
        return True
    host, _, pid = run.task_id.rpartition("@")[2].partition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
    return False


def claim(run_id: int, task_id: str) -> TrainingRun | None:
    """Take `run_id` for this process, or return None if it is not ours to run."""
    run = TrainingRun.objects.filter(pk=run_id).first()
    if run is None or run.status not in TrainingRun.LIVE:
        return None
    if run.status == Status.RUNNING and not _owner_is_gone(run):
        return None
    if run.attempts >= settings.TRAINING_MAX_ATTEMPTS:
        TrainingRun.objects.filter(pk=run_id, status=run.status).update(
            status=Status.FAILED,
            finished_at=timezone.now(),
            error=f"Gave up after {run.attempts} attempts: the worker was lost each time.",
        )
        return None
    now = timezone.now()
    claimed = TrainingRun.objects.filter(
        pk=run_id, status=run.status, attempts=run.attempts
    ).update(
        status=Status.RUNNING,
        attempts=F("attempts") + 1,
        started_at=now,
        heartbeat_at=now,
        progress=0,
        stage="starting" if run.attempts == 0 else f"restarting (attempt {run.attempts + 1})",
        task_id=f"{task_id}@{_worker_id()}",
    )
    return TrainingRun.objects.get(pk=run_id) if claimed == 1 else None


def progress_reporter(run_id: int, min_interval: float = 1.0) -> Callable[[float, str], None]:
    """An ml.progress.Progress that writes to the run's row (at most once a second)."""
    last = [0.0]

    def report(fraction: float, stage: str) -> None:
        now = time.monotonic()
        if now - last[0] < min_interval and fraction < 1.0:
            return
        last[0] = now
        TrainingRun.objects.filter(pk=run_id, status=Status.RUNNING).update(
            progress=max(0, min(100, round(fraction * 100))),
            stage=stage[:200],
            heartbeat_at=timezone.now(),
        )

    return report


def _finish(run: TrainingRun, status: str, **fields: object) -> None:
    TrainingRun.objects.filter(pk=run.pk).update(
        status=status, finished_at=timezone.now(), heartbeat_at=timezone.now(), **fields
    )


def execute_run(run_id: int, task_id: str = "") -> TrainingRun | None:
    """Snapshot, train, evaluate, register and (by policy) activate. Returns the finished run."""
    from .trainers import TRAINERS  # worker code: web processes never load the trainers

    run = claim(run_id, task_id)
    if run is None:
        log.info("training run %s is not ours to run (finished, live elsewhere or gone)", run_id)
        return None
    report = progress_reporter(run.pk)
    out_dir = Path(settings.MODEL_DIR) / run.kind / f"run-{run.pk}"
    try:
        if run.snapshot is None or not run.snapshot.path:
            # None given, or its files are gone (an erasure, a withdrawn consent): a new one.
            report(0.01, "exporting snapshot")
            run.snapshot = take_snapshot(for_run=run.pk)
        data_hash = kind_hash(run.snapshot, run.kind)
        current = registry.active_version(run.kind)
        if current and current.data_hash == data_hash and current.needs_retrain_since is None:
            _finish(
                run, Status.SKIPPED, progress=100, stage="data unchanged since the active version"
            )
            return TrainingRun.objects.get(pk=run.pk)

        report(0.02, "training")
        result = TRAINERS[run.kind](
            Path(run.snapshot.path), out_dir, settings.TRAINING_SEED, report
        )
        version = _register(run, result, data_hash, out_dir)
        if version.status == ModelVersion.Status.ACTIVE:
            from .tasks import after_activation

            queueing.send_on_commit(after_activation, version.pk)
    except Exception as exc:
        with transaction.atomic():
            _finish(run, Status.FAILED, error="".join(traceback.format_exception_only(exc)).strip())
            withdrawal.run_ended(run.pk, None)
            registry.settle_erasures()
        if not ModelVersion.objects.filter(path=str(out_dir)).exists():
            shutil.rmtree(out_dir, ignore_errors=True)
        log.exception("training run %s failed", run.pk)
        raise
    finally:
        if run.snapshot is not None:
            release(run.snapshot.pk)
    return TrainingRun.objects.get(pk=run.pk)


@transaction.atomic
def _register(run: TrainingRun, result: TrainResult, data_hash: str, out_dir: Path) -> ModelVersion:
    """Register the trained version and activate it by policy, holding the erasure clock.

    Its snapshot may have been erased from while it trained (`erased_at`): it then holds erased
    rows and is registered marked. It may still replace an active version that is marked
    too (it is retrained within the window like the one it replaces), never a clean one.
    """
    withdrawal.hold_clock()
    assert run.snapshot is not None
    erased_at = Snapshot.objects.values_list("erased_at", flat=True).get(pk=run.snapshot.pk)
    current = registry.active_version(run.kind)  # again: an erasure may have marked it
    version = ModelVersion.objects.create(
        kind=run.kind,
        path=str(out_dir),
        snapshot=run.snapshot,
        data_hash=data_hash,
        main_metric=registry.MAIN_METRIC[run.kind],
        main_metric_value=result.metrics.get(registry.MAIN_METRIC[run.kind]),
        metrics=result.metrics,
        hyperparameters=result.hyperparameters,
        needs_retrain_since=erased_at,
    )
    marked = erased_at is not None
    if marked and (current is None or current.needs_retrain_since is None):
        stage = "discarded: someone in its data erased it while it trained"
        version.status = ModelVersion.Status.RETIRED
    elif registry.passes_policy(version, current):
        version = registry.activate(version, replacing_marked=marked)
        stage = "activated (to be retrained: it holds erased data)" if marked else "activated"
    else:
        stage = "kept the active version (metric not better)"
        version.status = ModelVersion.Status.REJECTED
    if version.status != ModelVersion.Status.ACTIVE:
        version.save(update_fields=["status"])
        if marked:
            transaction.on_commit(partial(registry.discard, version))
    withdrawal.run_ended(run.pk, version if marked and version.status == "active" else None)
    _finish(
        run,
        Status.SUCCEEDED,
        progress=100,
        stage=stage,
        metrics=result.metrics,
        model_version=version,
    )
    registry.settle_erasures()
    return version


def fail_stale_runs() -> int:
    """Mark runs whose worker stopped reporting long ago as failed (the beat reaper)."""
    stale = timezone.now() - timedelta(seconds=settings.TRAINING_STALE_AFTER_S * 2)
    return TrainingRun.objects.filter(
        Q(status=Status.RUNNING) & (Q(heartbeat_at__lt=stale) | Q(heartbeat_at=None))
    ).update(
        status=Status.FAILED, finished_at=timezone.now(), error="The worker stopped reporting."
    )


ALL_KINDS = [k.value for k in ModelKind]
