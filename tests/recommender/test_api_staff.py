"""The staff API: training runs (list, start, look up) and model versions (list, activate)."""

from __future__ import annotations

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from recommender import registry
from recommender.models import ModelVersion, TrainingRun
from tests.recommender.factories import ModelVersionFactory, TrainingRunFactory

pytestmark = pytest.mark.django_db

RUNS = "/api/staff/training-runs/"
VERSIONS = "/api/staff/model-versions/"


@pytest.fixture
def staff_api(staff) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def enqueued(monkeypatch) -> dict[str, list[int]]:
    sent: dict[str, list[int]] = {"train": [], "after_activation": []}
    monkeypatch.setattr("recommender.tasks.train.delay", sent["train"].append)
    monkeypatch.setattr("recommender.tasks.after_activation.delay", sent["after_activation"].append)
    return sent


def _results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


# --- Who may call ---------------------------------------------------------------------------


def _calls() -> list[tuple[str, str, dict | None]]:
    run = TrainingRunFactory()
    version = ModelVersionFactory()
    return [
        ("get", RUNS, None),
        ("post", RUNS, {"kind": "sequence"}),
        ("get", f"{RUNS}{run.pk}/", None),
        ("get", VERSIONS, None),
        ("get", f"{VERSIONS}{version.pk}/", None),
        ("post", f"{VERSIONS}{version.pk}/activate/", None),
    ]


@pytest.mark.parametrize("who", ["anonymous", "person"])
def test_only_staff_may_call(who, user, enqueued):
    client = APIClient()
    if who == "person":
        client.force_authenticate(user)
    for method, url, body in _calls():
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code in ((401, 403) if who == "anonymous" else (403,)), url
        assert "detail" in response.json()
    assert TrainingRun.objects.filter(status__in=TrainingRun.LIVE).count() == 0
    assert not ModelVersion.objects.active().exists()


# --- Training runs --------------------------------------------------------------------------


def test_starting_a_run_answers_202_and_a_second_start_returns_the_live_run(
    staff_api, staff, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = staff_api.post(RUNS, {"kind": "sequence"}, format="json")
    assert first.status_code == 202, first.content
    (run,) = first.json()["runs"]
    assert run["kind"] == "sequence" and run["status"] == "queued"
    assert run["requested_by"] == staff.username
    assert first.json()["already_live"] == []

    with django_capture_on_commit_callbacks(execute=True):
        second = staff_api.post(RUNS, {"kind": "sequence"}, format="json")
    assert second.status_code == 202
    assert [r["id"] for r in second.json()["runs"]] == [run["id"]]
    assert second.json()["already_live"] == [run["id"]]
    assert TrainingRun.objects.count() == 1
    assert enqueued["train"] == [run["id"]]


def test_starting_all_starts_one_run_per_model(staff_api, enqueued):
    response = staff_api.post(RUNS, {"kind": "all"}, format="json")
    assert response.status_code == 202
    assert sorted(r["kind"] for r in response.json()["runs"]) == [
        "artwork",
        "sentiment",
        "sequence",
    ]


@pytest.mark.parametrize("body", [{"kind": "telepathy"}, {}, {"kind": ["sequence"]}])
def test_a_bad_kind_is_a_400_with_a_field_message(staff_api, enqueued, body):
    response = staff_api.post(RUNS, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["kind"]
    assert response.json()["kind"][0]
    assert not TrainingRun.objects.exists()


def test_the_unknown_kind_message_names_the_choices(staff_api, enqueued):
    response = staff_api.post(RUNS, {"kind": "telepathy"}, format="json")
    assert response.json() == {
        "kind": ["Unknown model kind telepathy; use one of sequence, sentiment, artwork, all."]
    }


def test_runs_are_listed_newest_first_and_filtered(staff_api):
    old = TrainingRunFactory(kind="sequence", status="failed", error="boom")
    live = TrainingRunFactory(kind="artwork", status="running", progress=55, stage="epoch 4")
    assert [r["id"] for r in _results(staff_api.get(RUNS))] == [live.pk, old.pk]
    assert [r["id"] for r in _results(staff_api.get(RUNS, {"kind": "sequence"}))] == [old.pk]
    assert [r["id"] for r in _results(staff_api.get(RUNS, {"status": "running"}))] == [live.pk]
    assert staff_api.get(RUNS, {"status": "sleeping"}).status_code == 400


def test_one_run_shows_its_progress(staff_api):
    run = TrainingRunFactory(kind="sentiment", status="running", progress=30, stage="epoch 1/3")
    body = staff_api.get(f"{RUNS}{run.pk}/").json()
    assert (body["progress"], body["stage"], body["status"]) == (30, "epoch 1/3", "running")
    TrainingRun.objects.filter(pk=run.pk).update(progress=90)
    assert staff_api.get(f"{RUNS}{run.pk}/").json()["progress"] == 90


def test_an_unknown_run_is_a_json_404(staff_api):
    response = staff_api.get(f"{RUNS}999999/")
    assert response.status_code == 404
    assert "detail" in response.json()


# --- Model versions -------------------------------------------------------------------------


def test_versions_are_listed_and_filtered(staff_api):
    sequence = ModelVersionFactory(kind="sequence", main_metric_value=0.3)
    registry.activate(sequence)
    artwork = ModelVersionFactory(kind="artwork", status="rejected")
    assert {v["id"] for v in _results(staff_api.get(VERSIONS))} == {sequence.pk, artwork.pk}
    only = _results(staff_api.get(VERSIONS, {"kind": "sequence", "status": "active"}))
    assert [(v["id"], v["label"], v["main_metric_value"]) for v in only] == [
        (sequence.pk, sequence.label, 0.3)
    ]
    assert [v["id"] for v in _results(staff_api.get(VERSIONS, {"status": "rejected"}))] == [
        artwork.pk
    ]


def test_people_counts_below_the_threshold_are_left_out_of_metrics(staff_api, settings):
    settings.PRIVACY_MIN_GROUP_SIZE = 5
    small = ModelVersionFactory(metrics={"ndcg@10": 0.2, "users": 4.0})
    big = ModelVersionFactory(metrics={"ndcg@10": 0.3, "users": 50.0})
    assert staff_api.get(f"{VERSIONS}{small.pk}/").json()["metrics"] == {"ndcg@10": 0.2}
    assert staff_api.get(f"{VERSIONS}{big.pk}/").json()["metrics"] == {
        "ndcg@10": 0.3,
        "users": 50.0,
    }


def test_activate_switches_the_active_version(
    staff_api, enqueued, django_capture_on_commit_callbacks
):
    old = registry.activate(ModelVersionFactory(kind="sentiment"))
    new = ModelVersionFactory(kind="sentiment", status="rejected")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_api.post(f"{VERSIONS}{new.pk}/activate/")
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    assert list(ModelVersion.objects.active().filter(kind="sentiment")) == [new]
    old.refresh_from_db()
    assert old.status == "retired"
    assert enqueued["after_activation"] == [new.pk]

    # Activating the old one again is the roll-back.
    staff_api.post(f"{VERSIONS}{old.pk}/activate/")
    assert list(ModelVersion.objects.active().filter(kind="sentiment")) == [old]


def test_a_version_holding_erased_data_is_a_409(staff_api, enqueued):
    current = registry.activate(ModelVersionFactory(kind="artwork"))
    erased = ModelVersionFactory(
        kind="artwork", status="retired", needs_retrain_since=timezone.now()
    )
    response = staff_api.post(f"{VERSIONS}{erased.pk}/activate/")
    assert response.status_code == 409
    assert "erased" in response.json()["detail"]
    assert list(ModelVersion.objects.active()) == [current]


def test_activating_an_unknown_version_is_a_404(staff_api, enqueued):
    response = staff_api.post(f"{VERSIONS}999999/activate/")
    assert response.status_code == 404
    assert "detail" in response.json()


def test_the_staff_endpoints_are_in_the_schema():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/staff/training-runs/"])
    assert "get" in paths["/api/staff/training-runs/{id}/"]
    assert "get" in paths["/api/staff/model-versions/"]
    activate = paths["/api/staff/model-versions/{id}/activate/"]["post"]
    assert {"200", "404", "409"} <= set(activate["responses"])
    started = paths["/api/staff/training-runs/"]["post"]["responses"]
    assert {"202", "400"} <= set(started)
