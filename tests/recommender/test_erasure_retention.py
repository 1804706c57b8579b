"""Snapshot files are kept only while a run needs them (issue 12, finding 6, in part): a person
who withdraws a training consent leaves no snapshot on disk that a later run could train on,
a finished run's snapshot goes, and the hourly upkeep removes what a crash left behind."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings

from entertainment.accounts.privacy import change_settings
from recommender.models import Snapshot, TrainingRun
from recommender.snapshot import INTERACTIONS, take_snapshot
from recommender.tasks import retrain_after_erasure
from recommender.trainers import TRAINERS, TrainResult
from recommender.training import execute_run, request_training
from tests.factories import ItemFactory, PlayFactory, UserFactory

pytestmark = pytest.mark.django_db


def _people(n: int = 3):
    items = [ItemFactory() for _ in range(3)]
    people = [UserFactory() for _ in range(n)]
    for person in people:
        for item in items:
            PlayFactory(user=person, item=item)
    return people


def _users_in(path: Path) -> set[str]:
    lines = (path / INTERACTIONS).read_text().splitlines()[1:]
    return {line.split(",")[0] for line in lines}


def _train(monkeypatch, capture, run: TrainingRun) -> set[str]:
    seen: set[str] = set()

    def trainer(snap: Path, out_dir: Path, seed: int, progress) -> TrainResult:
        seen.update(_users_in(snap))
        out_dir.mkdir(parents=True)
        (out_dir / "meta.json").write_text("{}")
        return TrainResult({"ndcg@10": 0.2})

    monkeypatch.setitem(TRAINERS, "sequence", trainer)
    with capture(execute=True):
        execute_run(run.pk)
    return seen


def test_withdrawing_a_consent_deletes_the_snapshots_a_queued_run_would_use(
    monkeypatch, django_capture_on_commit_callbacks
):
    person, *others = _people()
    snap = take_snapshot()
    with django_capture_on_commit_callbacks(execute=False):
        (run,) = request_training(["sequence"], snapshot=snap)
    assert str(person.pk) in _users_in(Path(snap.path))

    with django_capture_on_commit_callbacks(execute=True):
        change_settings(person, train_on_plays=False)

    assert not Path(snap.path).exists() or str(person.pk) not in _users_in(Path(snap.path))
    seen = _train(monkeypatch, django_capture_on_commit_callbacks, run)
    assert str(person.pk) not in seen and {str(o.pk) for o in others} <= seen


def test_a_finished_runs_snapshot_is_deleted(monkeypatch, django_capture_on_commit_callbacks):
    _people()
    run = TrainingRun.objects.create(kind="sequence")
    _train(monkeypatch, django_capture_on_commit_callbacks, run)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.SUCCEEDED
    assert run.snapshot is not None
    assert run.snapshot.path == ""
    assert list(Path(settings.SNAPSHOT_DIR).iterdir()) == []


def test_the_hourly_upkeep_removes_old_snapshots_and_orphaned_folders(
    django_capture_on_commit_callbacks,
):
    _people()
    old, used = take_snapshot(), take_snapshot()
    with django_capture_on_commit_callbacks(execute=False):
        request_training(["sequence"], snapshot=used)  # a live run still needs this one
    root = Path(settings.SNAPSHOT_DIR)
    orphan = root / "snapshot-999999"  # left by a process that died mid-snapshot
    orphan.mkdir()
    (orphan / INTERACTIONS).write_text("user,item,timestamp,weight\n")
    hours = float(getattr(settings, "SNAPSHOT_RETENTION_H", 24.0))
    long_ago = time.time() - (hours + 1) * 3600
    for path in (orphan, Path(old.path), Path(used.path)):
        os.utime(path, (long_ago, long_ago))
    Snapshot.objects.filter(pk__in=[old.pk, used.pk]).update(
        created_at=old.created_at - timedelta(hours=hours + 1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        retrain_after_erasure()

    assert not orphan.exists()
    assert not Path(old.path).exists()
    assert Path(used.path).exists()
    old.refresh_from_db()
    assert old.path == ""


def test_the_upkeep_leaves_alone_a_snapshot_written_while_it_runs(monkeypatch):
    """The upkeep's sweep of orphaned folders and a run taking its snapshot at the same time:
    a snapshot that starts just as the sweep lists the folders (the barrier: the listing waits
    for it) keeps its folder and files, whichever of the sweep's reads came first."""
    from recommender import snapshot as snapshots

    _people()
    listed = snapshots._snapshot_folders
    started = []

    def let_a_snapshot_start_then_list(root):
        started.append(take_snapshot())
        return listed(root)

    monkeypatch.setattr(snapshots, "_snapshot_folders", let_a_snapshot_start_then_list)
    snapshots.sweep()
    (snap,) = started
    assert Path(snap.path).is_dir()
    assert (Path(snap.path) / INTERACTIONS).is_file()
