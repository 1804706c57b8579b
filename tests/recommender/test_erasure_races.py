"""Erasure while a snapshot is written or a model trains (issue 12, finding 1).

Each race is made deterministic with a hook at a named step: the erasure runs inside the
snapshot's writing (after its CSV files, before it is registered) or inside the training
(after the trainer read the snapshot, before the version is registered). The last test runs
the two actors on two connections (PostgreSQL): an erasure not yet committed when a snapshot
starts.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from entertainment.accounts import erasure as erasure_module
from entertainment.accounts.erasure import erase_account, erase_history
from entertainment.accounts.models import ErasureRequest, User
from recommender import registry, snapshot
from recommender.models import ModelVersion, SnapshotMember, TrainingRun
from recommender.snapshot import INTERACTIONS, take_snapshot
from recommender.trainers import TRAINERS, TrainResult
from recommender.training import execute_run
from tests.conftest import wait_for, waiting_on_a_lock
from tests.factories import ItemFactory, PlayFactory, RatingFactory, UserFactory

pytestmark = pytest.mark.django_db


def _people(n: int = 3) -> list[Any]:
    items = [ItemFactory() for _ in range(4)]
    people = []
    for _ in range(n):
        person = UserFactory()
        for item in items:
            PlayFactory(user=person, item=item)
        RatingFactory(user=person, item=items[0])
        people.append(person)
    return people


def _files_naming(user_id: int) -> list[Path]:
    """Every snapshot file on disk that holds a row of this person."""
    found = []
    for path in Path(settings.SNAPSHOT_DIR).glob("**/" + INTERACTIONS):
        with path.open(newline="", encoding="utf-8") as handle:
            if any(row["user"] == str(user_id) for row in csv.DictReader(handle)):
                found.append(path)
    return found


def _version_on(snap) -> ModelVersion:
    """An active sequence version trained on `snap` (a directory with a meta.json)."""
    directory = Path(settings.MODEL_DIR) / f"held-{snap.pk}"
    directory.mkdir(parents=True)
    (directory / "meta.json").write_text("{}")
    return registry.activate(
        ModelVersion.objects.create(
            kind="sequence",
            path=str(directory),
            snapshot=snap,
            data_hash="old",
            main_metric="ndcg@10",
            main_metric_value=0.1,
        )
    )


class Trainer:
    """A sequence trainer that reads its snapshot as the real one does, then (while it
    'trains') runs `during`, then writes a model directory."""

    def __init__(self, during: Callable[[], object] | None = None) -> None:
        self.during = during
        self.saw: set[str] = set()

    def __call__(self, snap: Path, out_dir: Path, seed: int, progress) -> TrainResult:
        with (snap / INTERACTIONS).open(newline="", encoding="utf-8") as handle:
            self.saw = {row["user"] for row in csv.DictReader(handle)}
        if self.during is not None:
            self.during()
        out_dir.mkdir(parents=True)
        (out_dir / "meta.json").write_text("{}")
        return TrainResult({"ndcg@10": 0.2})


@pytest.fixture
def run_training(monkeypatch, django_capture_on_commit_callbacks):
    """Run one sequence training run here, with `trainer`; after-commit work runs too."""

    def run(trainer: Trainer) -> TrainingRun:
        monkeypatch.setitem(TRAINERS, "sequence", trainer)
        job = TrainingRun.objects.create(kind="sequence")
        with django_capture_on_commit_callbacks(execute=True):
            finished = execute_run(job.pk)
        assert finished is not None
        return finished

    return run


def _during_snapshot(monkeypatch, action: Callable[[], object]) -> None:
    """Run `action` while a snapshot is being written: its CSV files are on disk, it is not
    registered yet."""
    original = snapshot._export_artwork
    calls: list[int] = []

    def export_then_act(directory: Path) -> int:
        count = original(directory)
        if not calls:  # once: a snapshot taken again afterwards is left alone
            calls.append(1)
            action()
        return count

    monkeypatch.setattr(snapshot, "_export_artwork", export_then_act)


def _erase(kind: str, person: User, capture) -> Callable[[], object]:
    def act() -> object:
        with capture(execute=True):
            if kind == "history":
                return erase_history(User.objects.get(pk=person.pk))
            return erase_account(User.objects.get(pk=person.pk))

    return act


@pytest.mark.parametrize("kind", ["history", "account"])
def test_erasure_while_the_snapshot_is_written_keeps_the_rows_out_of_the_model(
    kind, monkeypatch, run_training, django_capture_on_commit_callbacks
):
    people = _people()
    person = people[0]
    _during_snapshot(monkeypatch, _erase(kind, person, django_capture_on_commit_callbacks))
    trainer = Trainer()

    run = run_training(trainer)

    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert str(person.pk) not in trainer.saw  # the model never learnt the erased rows
    assert {str(p.pk) for p in people[1:]} <= trainer.saw
    version = ModelVersion.objects.get(pk=run.model_version_id)
    assert version.status == ModelVersion.Status.ACTIVE and version.needs_retrain_since is None
    assert _files_naming(person.pk) == []  # no snapshot folder left holding the rows
    assert not SnapshotMember.objects.filter(user_id=person.pk).exists()
    if kind == "history":
        erasure = ErasureRequest.objects.get(user_id=person.pk)
        assert erasure.models_clean_at is not None  # nothing that serves ever held them


@pytest.mark.parametrize("kind", ["history", "account"])
def test_erasure_while_training_marks_the_new_version_and_discards_the_old(
    kind, run_training, django_capture_on_commit_callbacks, settings
):
    """The issue's case: the person was in the active version and in the run's snapshot."""
    people = _people()
    person = people[0]
    old = _version_on(take_snapshot())
    seen_during: dict[str, object] = {}

    def erase_and_look() -> None:
        _erase(kind, person, django_capture_on_commit_callbacks)()
        if kind == "history":
            seen_during["clean"] = ErasureRequest.objects.get(user_id=person.pk).models_clean_at

    trainer = Trainer(erase_and_look)
    run = run_training(trainer)

    assert str(person.pk) in trainer.saw  # it did train on the rows: the race happened
    new = ModelVersion.objects.get(pk=run.model_version_id)
    # It replaced a version that held the erased rows too, so it may serve, but marked: the
    # retrain within the window replaces it like the version it replaced.
    assert new.status == ModelVersion.Status.ACTIVE
    assert new.needs_retrain_since is not None
    settings.ERASURE_RETRAIN_WINDOW_H = 0
    assert registry.due_for_erasure_retrain() == ["sequence"]
    old.refresh_from_db()
    assert old.status == ModelVersion.Status.RETIRED and not Path(old.path or "x").exists()
    with pytest.raises(registry.CannotActivate):
        registry.activate(old)
    assert _files_naming(person.pk) == []
    if kind == "account":
        assert not SnapshotMember.objects.filter(user_id=person.pk).exists()
    if kind == "history":
        assert seen_during["clean"] is None
        erasure = ErasureRequest.objects.get(user_id=person.pk)
        assert erasure.models_clean_at is None  # the active version still holds the rows
        # The retrain that follows settles it.
        fresh = registry.activate(
            ModelVersion.objects.create(
                kind="sequence", path=_clean_dir(), main_metric="ndcg@10", main_metric_value=0.0
            )
        )
        assert fresh.status == ModelVersion.Status.ACTIVE
        erasure.refresh_from_db()
        assert erasure.models_clean_at is not None


def _clean_dir() -> str:
    directory = Path(settings.MODEL_DIR) / "retrained"
    directory.mkdir(parents=True)
    (directory / "meta.json").write_text("{}")
    return str(directory)


def test_erasure_while_training_a_version_without_the_person_keeps_the_clean_one(
    run_training, django_capture_on_commit_callbacks
):
    """The active version never held the person; the run's snapshot does. The new version is
    never activated, and the erasure is clean only once the run is over."""
    newcomer = UserFactory()
    people = _people()
    clean = _version_on(take_snapshot())
    for item in (ItemFactory(), ItemFactory()):
        PlayFactory(user=newcomer, item=item)
    seen_during: dict[str, object] = {}

    def erase_and_look() -> None:
        _erase("history", newcomer, django_capture_on_commit_callbacks)()
        seen_during["clean"] = ErasureRequest.objects.get(user=newcomer).models_clean_at

    trainer = Trainer(erase_and_look)
    run = run_training(trainer)

    assert str(newcomer.pk) in trainer.saw
    assert seen_during["clean"] is None  # a run in flight still held the rows
    assert registry.active_version("sequence") == clean
    new = ModelVersion.objects.get(pk=run.model_version_id)
    assert new.status != ModelVersion.Status.ACTIVE and new.needs_retrain_since is not None
    assert not Path(new.path or "x").exists()
    with pytest.raises(registry.CannotActivate):
        registry.activate(new)
    erasure = ErasureRequest.objects.get(user=newcomer)
    assert erasure.models_clean_at is not None
    assert _files_naming(newcomer.pk) == []
    assert {str(p.pk) for p in people} <= trainer.saw


@pytest.mark.django_db(transaction=True)
def test_an_erasure_not_yet_committed_when_a_snapshot_starts(monkeypatch):
    """Two connections. The erasure has begun (its rows are still there, not committed) when
    another process takes a snapshot; whatever the order, no snapshot may keep the rows
    without being known to hold them."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite's in-memory test database is per connection")
    person = _people()[0]
    began, go = threading.Event(), threading.Event()
    failures: list[BaseException] = []
    original = erasure_module._delete_history

    def pause_then_delete(user, item_ids):
        began.set()
        assert go.wait(30), "never released"
        return original(user, item_ids)

    monkeypatch.setattr(erasure_module, "_delete_history", pause_then_delete)

    def actor(action: Callable[[], object]) -> threading.Thread:
        def body() -> None:
            try:
                action()
            except BaseException as exc:  # reported below
                failures.append(exc)
            finally:
                connection.close()

        thread = threading.Thread(target=body)
        thread.start()
        return thread

    eraser = actor(lambda: erase_history(User.objects.get(pk=person.pk)))
    assert began.wait(30)
    snapshotter = actor(take_snapshot)

    # Let the snapshot go as far as it can while the erasure is open: to its end, or until
    # it waits for a lock the erasure holds.
    wait_for(
        lambda: not snapshotter.is_alive() or waiting_on_a_lock(),
        60,
        "the snapshot to end or to wait for the erasure's lock",
    )
    go.set()
    eraser.join(30)
    snapshotter.join(30)
    assert failures == []
    assert _files_naming(person.pk) == []
    erasure = ErasureRequest.objects.get(user=person)
    assert erasure.rows_deleted == 5
