"""An erasure whose retrain cannot succeed (issue 12, finding 4): at the deadline the version
holding the erased data stops serving, whatever the retrain did, and the person's erasure
says the models no longer hold the data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from entertainment.accounts.erasure import erase_history
from entertainment.accounts.models import ErasureRequest
from recommender import lists, registry, serving
from recommender.models import ModelVersion, TrainingRun
from recommender.snapshot import take_snapshot
from recommender.tasks import retrain_after_erasure
from recommender.trainers import TRAINERS, NotEnoughData
from recommender.training import execute_run
from tests.factories import ItemFactory, PlayFactory, UserFactory
from tests.recommender.serving_model import write_model

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh(fresh_lists):
    yield


def _served(items, name: str, snapshot=None) -> ModelVersion:
    directory = Path(settings.MODEL_DIR) / name
    write_model(directory, [i.pk for i in items])
    return registry.activate(
        ModelVersion.objects.create(
            kind="sequence",
            path=str(directory),
            snapshot=snapshot,
            main_metric="ndcg@10",
            main_metric_value=0.1,
        )
    )


def _world(with_clean_predecessor: bool):
    """A person in the active version's snapshot; maybe an earlier clean version."""
    items = [ItemFactory(kind="film") for _ in range(6)]
    person, other = UserFactory(), UserFactory()
    previous = _served(items, "clean") if with_clean_predecessor else None
    for item in items[:3]:
        PlayFactory(user=person, item=item)
        PlayFactory(user=other, item=item)
    holding = _served(items, "holding", take_snapshot())
    serving.forget_active()
    return person, other, previous, holding


def _erase_then_fail_to_retrain(person, capture, monkeypatch) -> ErasureRequest:
    with capture(execute=True):
        erasure = erase_history(person)

    def cannot(*args, **kwargs):
        raise NotEnoughData("the snapshot has 1 person's history")

    monkeypatch.setitem(TRAINERS, "sequence", cannot)
    run = TrainingRun.objects.create(kind="sequence", trigger=TrainingRun.Trigger.ERASURE)
    with pytest.raises(NotEnoughData), capture(execute=True):
        execute_run(run.pk)
    return erasure


def _past_the_deadline(erasure: ErasureRequest) -> None:
    """Move the erasure and the marks it made back past ERASURE_RETRAIN_WINDOW_H."""
    then = timezone.now() - timedelta(hours=settings.ERASURE_RETRAIN_WINDOW_H, minutes=1)
    ErasureRequest.objects.filter(pk=erasure.pk).update(requested_at=then)
    ModelVersion.objects.exclude(needs_retrain_since=None).update(needs_retrain_since=then)


def test_at_the_deadline_the_last_clean_version_serves_again(
    monkeypatch, django_capture_on_commit_callbacks
):
    person, other, previous, holding = _world(with_clean_predecessor=True)
    erasure = _erase_then_fail_to_retrain(person, django_capture_on_commit_callbacks, monkeypatch)
    assert registry.active_version("sequence") == holding  # within the window: still serving

    _past_the_deadline(erasure)
    with django_capture_on_commit_callbacks(execute=True):
        retrain_after_erasure()  # the hourly beat

    assert registry.active_version("sequence") == previous
    holding.refresh_from_db()
    assert holding.status == ModelVersion.Status.RETIRED and holding.path == ""
    serving.forget_active()
    found = lists.for_person(other, "film", 5)
    assert found.personalised and found.model_version == previous.label
    erasure.refresh_from_db()
    assert erasure.models_clean_at is not None and erasure.pending_versions == []
    assert registry.due_for_erasure_retrain() == []  # and the hourly retry stops


def test_without_a_clean_version_the_popular_lists_serve(
    monkeypatch, django_capture_on_commit_callbacks
):
    person, other, _, holding = _world(with_clean_predecessor=False)
    erasure = _erase_then_fail_to_retrain(person, django_capture_on_commit_callbacks, monkeypatch)
    _past_the_deadline(erasure)
    with django_capture_on_commit_callbacks(execute=True):
        retrain_after_erasure()

    assert registry.active_version("sequence") is None
    serving.forget_active()
    api = APIClient()
    api.force_authenticate(other)
    body = api.get("/api/recommendations/?kind=film").json()
    assert body["personalised"] is False and body["model_version"] == lists.NON_PERSONAL
    api.force_authenticate(person)
    (shown,) = api.get("/api/me/erasures/").json()["results"]
    assert shown["models_clean_at"] is not None and shown["models_clean_by"] is None
    assert shown["models_withdrawn_at"] is not None  # the status says it was withdrawn
    page = Client()
    page.force_login(person)
    assert "could not be retrained in time" in page.get("/accounts/privacy/").content.decode()
    with pytest.raises(registry.CannotActivate):
        registry.activate(holding)


def test_before_the_deadline_the_marked_version_keeps_serving(
    monkeypatch, django_capture_on_commit_callbacks
):
    person, _, _, holding = _world(with_clean_predecessor=True)
    erasure = _erase_then_fail_to_retrain(person, django_capture_on_commit_callbacks, monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        retrain_after_erasure()
    assert registry.active_version("sequence") == holding
    erasure.refresh_from_db()
    assert erasure.models_clean_at is None and erasure.models_withdrawn_at is None
