"""The pipeline through real workers and a real Redis broker: train, activate, serve lists
computed by the new version (in this process, as a web process does) through the API, retrain
after an erasure, and survive a worker killed mid-training."""

from __future__ import annotations

import os
import signal
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from entertainment.accounts.erasure import erase_account
from entertainment.accounts.privacy import change_settings
from entertainment.catalogue.models import Kind
from recommender import lists, registry, serving
from recommender.models import ModelVersion, SnapshotMember, TrainingRun
from recommender.tasks import retrain_after_erasure
from recommender.training import request_training
from tests.conftest import finished_run, start_worker, stop_process, wait_for
from tests.factories import ItemFactory, PlayFactory, RatingFactory, UserFactory

pytestmark = [pytest.mark.worker, pytest.mark.slow]

KINDS = ["film", "music", "game"]


def _world(people: int = 36, items: int = 24) -> tuple[list[Any], list[Any]]:
    """People who play items in a fixed cycle: a successor structure the GRU must learn."""
    catalogue = [ItemFactory(kind=KINDS[n % 3], title=f"Item {n}") for n in range(items)]
    start = timezone.now() - timedelta(days=30)
    persons = []
    for p in range(people):
        person = UserFactory()
        persons.append(person)
        offset = p % items
        for step in range(12):
            item = catalogue[(offset + step) % items]
            PlayFactory(user=person, item=item, started_at=start + timedelta(hours=p * 13 + step))
        RatingFactory(user=person, item=catalogue[offset], value=Decimal("4.5"))
    return persons, catalogue


def test_training_to_recommendations_through_the_api_and_retraining_after_erasure(
    celery_worker_process, settings
):
    persons, _ = _world()
    private = persons[-1]
    change_settings(private, personalised=False)

    (run,) = request_training(["sequence"])
    run = finished_run(run.pk)
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert run.progress == 100
    version = ModelVersion.objects.get(pk=run.model_version_id)
    assert version.status == ModelVersion.Status.ACTIVE

    # Every personalised person's lists now come from the new version (computed on their
    # next read); the person who switched personalisation off gets none of their own.
    serving.forget_active()  # the web process looks the active versions up every few seconds
    personalised = persons[:-1]
    for person in personalised:
        found = lists.for_kinds(person, KINDS, 5)
        assert all(f.personalised for f in found.values()), person.pk
        assert {f.model_version for f in found.values()} == {version.label}
        assert all(f.entries and all(e.reason for e in f.entries) for f in found.values())
    own = lists.for_person(private, "film", 10)
    assert own.personalised is False and own.model_version == lists.NON_PERSONAL
    assert all(lists.cache_key(private.pk, kind) not in cache for kind in Kind.values)

    client = APIClient()
    client.force_authenticate(persons[0])
    body = client.get("/api/recommendations/?kind=film&n=5").json()
    assert body["personalised"] is True
    assert body["model_version"].startswith(version.label)
    assert body["results"] and all(r["item"]["kind"] == "film" for r in body["results"])
    assert all(r["reason"] for r in body["results"])
    client.force_authenticate(private)
    assert client.get("/api/recommendations/?kind=film").json()["personalised"] is False

    # Erasing an account marks the version trained with it; the retrain replaces and discards it.
    erased = persons[1]
    erased_id = erased.pk
    erase_account(erased)
    version.refresh_from_db()
    assert version.needs_retrain_since is not None
    settings.ERASURE_RETRAIN_WINDOW_H = 0
    run_ids = retrain_after_erasure()
    assert len(run_ids) == 1
    retrain = finished_run(run_ids[0])
    assert retrain.status == TrainingRun.Status.SUCCEEDED, retrain.error
    assert retrain.trigger == TrainingRun.Trigger.ERASURE
    new = registry.active_version("sequence")
    assert new is not None and new.pk != version.pk and new.needs_retrain_since is None
    assert not SnapshotMember.objects.filter(user_id=erased_id).exists()
    wait_for(lambda: not Path(version.path).exists(), 30, "the old version's files to go")
    assert registry.due_for_erasure_retrain() == []
    # The lists cached from the old version are stale: the next read computes them anew.
    serving.forget_active()
    again = lists.for_person(persons[0], "film", 5)
    assert again.personalised is True and again.model_version == new.label


@pytest.fixture
def worker_env() -> dict[str, str]:
    # Redeliver an unacknowledged message soon, so a second worker takes over the killed one's.
    return {"CELERY_VISIBILITY_TIMEOUT_S": "8"}


def test_a_worker_killed_mid_training_leaves_the_old_version_serving(
    celery_worker_process, worker_env
):
    _world(people=48, items=30)
    (first,) = request_training(["sequence"])
    first = finished_run(first.pk)
    serving = registry.active_version("sequence")
    assert serving is not None
    for person in UserFactory.create_batch(6):  # new data, so the next run is not skipped
        PlayFactory(user=person)

    (run,) = request_training(["sequence"])
    wait_for(lambda: "epoch" in TrainingRun.objects.get(pk=run.pk).stage, 240, "training to start")
    os.kill(celery_worker_process.pid, signal.SIGKILL)
    celery_worker_process.wait(timeout=10)

    run.refresh_from_db()
    assert run.status == TrainingRun.Status.RUNNING
    assert registry.active_version("sequence") == serving  # the old version keeps serving
    out_dir = Path(serving.path).parent / f"run-{run.pk}"
    assert not out_dir.exists()  # only a temporary directory, never a half-written model

    # The message was never acknowledged: Redis hands it to the next worker, which sees the
    # first one's process is gone and trains the run again (attempt 2).
    second = start_worker(worker_env, name="second")
    try:
        run = finished_run(run.pk, timeout=300)
    finally:
        stop_process(second)
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert run.attempts == 2
    assert registry.active_version("sequence").pk == run.model_version_id
    assert ModelVersion.objects.filter(kind="sequence", status="active").count() == 1
