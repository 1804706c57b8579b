"""A broker that is down never turns a stored write into an error, nor a run into a blocker."""

from __future__ import annotations

import pytest
from kombu.exceptions import OperationalError

from entertainment.accounts.export import request_export
from entertainment.accounts.models import DataExport
from recommender.models import TrainingRun
from recommender.training import request_training

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("celery.app.task.Task.delay", refuse)


def test_a_run_that_cannot_be_queued_fails_and_frees_the_kind(
    broker_down, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        (run,) = request_training(["sequence"])
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.FAILED
    assert "task queue is unavailable" in run.error
    with django_capture_on_commit_callbacks(execute=True):
        (again,) = request_training(["sequence"])
    assert again.pk != run.pk


def test_an_export_that_cannot_be_queued_says_so(
    broker_down, user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        export = request_export(user)
    export.refresh_from_db()
    assert export.status == DataExport.Status.FAILED
    assert "try again later" in export.error


def test_a_review_is_stored_when_scoring_cannot_be_queued(
    broker_down, api, django_capture_on_commit_callbacks
):
    from tests.factories import ItemFactory

    item = ItemFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/api/reviews/", {"item": item.pk, "text": "Lovely", "rating": "4.0"}, format="json"
        )
    assert response.status_code == 201
