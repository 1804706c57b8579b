"""Training runs: one live run per kind, claimed once, taken over when the worker died."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from recommender import registry
from recommender.models import ModelVersion, TrainingRun
from recommender.training import claim, fail_stale_runs, request_training

pytestmark = pytest.mark.django_db


def test_second_request_returns_the_live_run(django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("recommender.tasks.train.delay", lambda pk: sent.append(pk))
    with django_capture_on_commit_callbacks(execute=True):
        first = request_training(["sequence"])
    with django_capture_on_commit_callbacks(execute=True):
        second = request_training(["sequence"])
    assert first[0].pk == second[0].pk
    assert TrainingRun.objects.filter(kind="sequence").count() == 1
    assert sent == [first[0].pk]


def test_a_run_is_claimed_once():
    run = TrainingRun.objects.create(kind="sentiment")
    assert claim(run.pk, "task-a") is not None
    assert claim(run.pk, "task-b") is None
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.RUNNING and run.attempts == 1


def test_a_run_whose_worker_died_is_taken_over_then_given_up(settings):
    settings.TRAINING_MAX_ATTEMPTS = 2
    run = TrainingRun.objects.create(kind="artwork")
    claim(run.pk, "task-a")
    # The claiming process is gone: a pid that cannot exist on this host.
    dead = f"task-a@{socket.gethostname()}:999999999"
    TrainingRun.objects.filter(pk=run.pk).update(task_id=dead)
    taken = claim(run.pk, "task-a")
    assert taken is not None and taken.attempts == 2
    TrainingRun.objects.filter(pk=run.pk).update(task_id=dead)
    assert claim(run.pk, "task-a") is None
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED
    assert "Gave up after 2 attempts" in run.error


def test_stale_runs_are_failed(settings):
    settings.TRAINING_STALE_AFTER_S = 60
    run = TrainingRun.objects.create(
        kind="sequence",
        status=TrainingRun.Status.RUNNING,
        heartbeat_at=timezone.now() - timedelta(minutes=10),
    )
    assert fail_stale_runs() == 1
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED


def _version(kind="sequence", value=0.1, **fields):
    version = ModelVersion.objects.create(
        kind=kind, path="", main_metric="ndcg@10", main_metric_value=value, **fields
    )
    directory = Path(settings.MODEL_DIR) / f"v{version.pk}"
    directory.mkdir(parents=True)
    (directory / "meta.json").write_text("{}")
    ModelVersion.objects.filter(pk=version.pk).update(path=str(directory))
    version.refresh_from_db()
    return version


def test_policy_keeps_a_better_active_version(settings):
    settings.MODEL_ACTIVATION_TOLERANCE = 0.0
    current = registry.activate(_version(value=0.05))
    assert registry.passes_policy(_version(value=0.06), current)
    assert not registry.passes_policy(_version(value=0.04), current)
    settings.MODEL_ACTIVATION_TOLERANCE = 0.25
    assert registry.passes_policy(_version(value=0.04), current)


def test_policy_replaces_a_version_that_holds_erased_data():
    current = _version(value=0.5, status="active", needs_retrain_since=timezone.now())
    assert registry.passes_policy(_version(value=0.01), current)


def test_activate_and_roll_back_keep_one_active_version():
    first = registry.activate(_version(value=0.1))
    second = registry.activate(_version(value=0.2))
    assert list(ModelVersion.objects.active().filter(kind="sequence")) == [second]
    previous = registry.previous_version("sequence")
    assert previous == first
    registry.activate(previous)
    assert registry.active_version("sequence") == first
