"""Experiments through the staff API and the dashboard's forms: validation, stop, activate."""

from __future__ import annotations

from typing import cast

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from entertainment.activity.models import Impression
from recommender import experiments, registry
from recommender.models import Experiment, ModelVersion
from tests.factories import ItemFactory, UserFactory
from tests.recommender.factories import ModelVersionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_lists")]

URL = "/api/staff/experiments/"


@pytest.fixture
def staff_api(staff) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def enqueued(monkeypatch) -> list[int]:
    sent: list[int] = []
    monkeypatch.setattr("recommender.tasks.after_activation.delay", sent.append)
    return sent


@pytest.fixture
def versions(db) -> tuple[ModelVersion, ModelVersion]:
    active = registry.activate(ModelVersionFactory(kind="sequence"))
    return active, cast(ModelVersion, ModelVersionFactory(kind="sequence"))


def _body(a: ModelVersion, b: ModelVersion | None, **extra: object) -> dict[str, object]:
    return {
        "name": "new gru",
        "kind": "sequence",
        "version_a": a.pk,
        "version_b": b.pk if b else None,
        "share": 0.5,
        **extra,
    }


def _plant_b_wins(experiment: Experiment, people: int = 30) -> None:
    item, now = ItemFactory(), timezone.now()
    rows = []
    for arm, clicks in (("a", 1), ("b", 4)):
        for n in range(people):
            person = UserFactory()
            for rank in range(10):
                rows.append(
                    Impression(
                        user=person, item=item, list="for_you", kind=item.kind, rank=rank,
                        experiment_id=experiment.pk, arm=arm,
                        clicked_at=now if rank < clicks + n % 2 else None,
                    )
                )  # fmt: skip
    Impression.objects.bulk_create(rows)


@pytest.mark.parametrize("who", ["anonymous", "person"])
def test_only_staff_may_call(who, user, versions):
    client = APIClient()
    if who == "person":
        client.force_authenticate(user)
    experiment = experiments.start("x", "sequence", versions[0], versions[1], 0.5)
    calls = [
        ("get", URL, None),
        ("post", URL, _body(*versions)),
        ("get", f"{URL}{experiment.pk}/", None),
        ("post", f"{URL}{experiment.pk}/stop/", None),
        ("post", f"{URL}{experiment.pk}/activate/", None),
    ]
    for method, url, body in calls:
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == (401 if who == "anonymous" else 403), url
    assert Experiment.objects.get().status == "running"


def test_create_list_and_detail(staff_api, versions, staff):
    a, b = versions
    response = staff_api.post(URL, _body(a, b, share=0.25), format="json")
    assert response.status_code == 201, response.content
    made = response.json()
    assert made["version_a_label"] == a.label == f"sequence-v{a.number}"
    assert made["version_b_label"] == b.label
    assert (made["share"], made["status"], made["started_by"]) == (0.25, "running", staff.username)
    assert [arm["people"] for arm in made["results"]["arms"]] == [None, None]

    listed = staff_api.get(URL).json()["results"]
    assert [e["id"] for e in listed] == [made["id"]]
    detail = staff_api.get(f"{URL}{made['id']}/").json()
    assert detail["results"]["significant"] is False
    assert detail["results"]["winner"] == ""


def test_versus_the_popular_lists(staff_api, versions):
    response = staff_api.post(URL, _body(versions[0], None), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["version_b"] is None and body["version_b_label"] is None
    assert body["results"]["arms"][1]["serves"] == "popular"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"share": 0}, "share", "between 0 and 1"),
        ({"share": 1}, "share", "between 0 and 1"),
        ({"share": 1.5}, "share", "between 0 and 1"),
        ({"share": -0.1}, "share", "between 0 and 1"),
        ({"share": "0.5"}, "share", "number"),
        ({"share": True}, "share", "number"),
        ({"kind": "sentiment"}, "kind", "Sentiment versions cannot be compared online"),
        ({"kind": "artwork"}, "kind", "Artwork versions cannot be compared online"),
        ({"kind": "nope"}, "kind", "not a valid choice"),
        ({"version_a": 999_999}, "version_a", "does not exist"),
        ({"version_a": "1"}, "version_a", "valid integer"),
        ({"name": ""}, "name", "blank"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(staff_api, versions, change, field, words):
    response = staff_api.post(URL, {**_body(*versions), **change}, format="json")
    assert response.status_code == 400, response.content
    assert words in " ".join(response.json()[field])
    assert not Experiment.objects.exists()


def test_versions_of_another_kind_or_the_same_twice_are_refused(staff_api, versions):
    a, _ = versions
    sentiment = ModelVersionFactory(kind="sentiment")
    response = staff_api.post(URL, _body(a, sentiment), format="json")
    assert response.status_code == 400
    assert response.json() == {
        "version_b": [f"{sentiment.label} is a sentiment version, not sequence."]
    }
    response = staff_api.post(URL, _body(a, a), format="json")
    assert response.status_code == 400
    assert response.json() == {"version_b": ["Compare two different versions."]}


def test_a_version_that_cannot_serve_is_refused(staff_api, versions):
    a, _ = versions
    erased = ModelVersionFactory(kind="sequence", needs_retrain_since=timezone.now())
    response = staff_api.post(URL, _body(a, erased), format="json")
    assert response.status_code == 400
    assert "erased" in response.json()["version_b"][0]


def test_a_second_running_experiment_of_a_kind_is_refused(staff_api, versions):
    assert staff_api.post(URL, _body(*versions), format="json").status_code == 201
    response = staff_api.post(URL, _body(*versions), format="json")
    assert response.status_code == 400
    assert response.json() == {"kind": ["A sequence experiment is already running: stop it first."]}


def test_stop_then_activate_the_winner(
    staff_api, versions, enqueued, settings, django_capture_on_commit_callbacks
):
    settings.EXPERIMENT_MIN_PEOPLE = 20
    a, b = versions
    made = staff_api.post(URL, _body(a, b), format="json").json()
    experiment = Experiment.objects.get(pk=made["id"])
    _plant_b_wins(experiment)

    # Not while it runs.
    response = staff_api.post(f"{URL}{experiment.pk}/activate/")
    assert response.status_code == 409
    assert "Stop the experiment" in response.json()["detail"]

    response = staff_api.post(f"{URL}{experiment.pk}/stop/")
    assert response.status_code == 200, response.content
    stopped = response.json()
    assert (stopped["status"], stopped["winner"]) == ("stopped", "b")
    assert stopped["results"]["significant"] is True
    assert stopped["stopped_at"] is not None
    assert staff_api.post(f"{URL}{experiment.pk}/stop/").status_code == 409

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_api.post(f"{URL}{experiment.pk}/activate/")
    assert response.status_code == 200, response.content
    assert response.json()["label"] == b.label
    assert response.json()["status"] == "active"
    assert registry.active_version("sequence") == b
    assert enqueued == [b.pk]  # the normal activation path: lists are refreshed

    # A new experiment of the kind may start now.
    assert staff_api.post(URL, _body(b, a), format="json").status_code == 201


def test_no_winner_no_activation(staff_api, versions, enqueued):
    experiment = experiments.start("quiet", "sequence", versions[0], versions[1], 0.5)
    staff_api.post(f"{URL}{experiment.pk}/stop/")
    response = staff_api.post(f"{URL}{experiment.pk}/activate/")
    assert response.status_code == 409
    assert "No arm won" in response.json()["detail"]
    assert registry.active_version("sequence") == versions[0]


def test_popular_winning_activates_nothing(staff_api, versions, enqueued, settings):
    settings.EXPERIMENT_MIN_PEOPLE = 20
    experiment = experiments.start("vs popular", "sequence", versions[0], None, 0.5)
    _plant_b_wins(experiment)
    staff_api.post(f"{URL}{experiment.pk}/stop/")
    response = staff_api.post(f"{URL}{experiment.pk}/activate/")
    assert response.status_code == 409
    assert "popular lists won" in response.json()["detail"]


def test_the_schema_documents_the_endpoints(staff_api):
    schema = staff_api.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/staff/experiments/"])
    assert "409" in paths["/api/staff/experiments/{id}/stop/"]["post"]["responses"]
    assert "409" in paths["/api/staff/experiments/{id}/activate/"]["post"]["responses"]
    share = schema["components"]["schemas"]["ExperimentCreateRequest"]["properties"]["share"]
    assert share["exclusiveMinimum"] is True and share["exclusiveMaximum"] is True


# --- The dashboard's forms -----------------------------------------------------------------------


def test_dashboard_start_stop_and_activate(
    client, staff, versions, enqueued, settings, django_capture_on_commit_callbacks
):
    settings.EXPERIMENT_MIN_PEOPLE = 20
    a, b = versions
    client.force_login(staff)
    page = client.get("/staff/").content.decode()
    assert "Online experiments" in page and "Start experiment" in page
    assert f'<option value="{a.pk}" selected>{a.label} (active)</option>' in page

    form = {"name": "try b", "kind": "sequence", "version_a": a.pk, "version_b": b.pk}
    response = client.post("/staff/experiments/start/", {**form, "share": "0.5"}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Started experiment “try b”" in page and "not significant yet" in page
    experiment = Experiment.objects.get()

    # A second one is refused with the reason, on the page.
    response = client.post("/staff/experiments/start/", {**form, "share": "0.5"})
    assert response.status_code == 400
    assert "already running" in response.content.decode()

    _plant_b_wins(experiment)
    page = client.get("/staff/").content.decode()
    assert ">significant<" in page and "Arm B is ahead." in page

    response = client.post(f"/staff/experiments/{experiment.pk}/stop/", follow=True)
    assert "arm B won" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/staff/experiments/{experiment.pk}/activate/", follow=True)
    assert f"{b.label} is now active" in response.content.decode()
    assert registry.active_version("sequence") == b


def test_dashboard_form_refuses_a_bad_share(client, staff, versions):
    client.force_login(staff)
    a, b = versions
    form = {"name": "x", "kind": "sequence", "version_a": a.pk, "version_b": b.pk, "share": "1"}
    response = client.post("/staff/experiments/start/", form)
    assert response.status_code == 400
    assert "between 0 and 1" in response.content.decode()


def test_the_experiment_forms_are_staff_only(client, user, versions):
    experiment = experiments.start("x", "sequence", versions[0], versions[1], 0.5)
    client.force_login(user)
    for url in (
        "/staff/experiments/start/",
        f"/staff/experiments/{experiment.pk}/stop/",
        f"/staff/experiments/{experiment.pk}/activate/",
    ):
        assert client.post(url).status_code == 403
    assert Experiment.objects.get().status == "running"


# --- What staff see of versions (item 6 of issue 14) ---------------------------------------------


def test_an_artwork_f1_of_zero_says_why_and_chance_levels_sit_beside_their_measure():
    from recommender.staff_metrics import metrics_text

    shown = dict(
        metrics_text(
            {
                "micro_f1": 0.0,
                "macro_f1": 0.0,
                "neighbour_genre_accuracy": 0.88,
                "chance_micro_f1": 0.184,
                "chance_macro_f1": 0.15,
                "chance_neighbour_genre_accuracy": 0.213,
            }
        )
    )
    assert set(shown) == {"micro_f1", "macro_f1", "neighbour_genre_accuracy"}
    assert shown["neighbour_genre_accuracy"] == "0.8800 (chance 0.2130)"
    assert shown["micro_f1"].startswith("0 (no genre right at the head's 0.5 threshold")
    assert shown["micro_f1"].endswith("chance 0.1840")
    assert dict(metrics_text({"micro_f1": 0.72, "chance_micro_f1": 0.18}))["micro_f1"] == (
        "0.7200 (chance 0.1800)"
    )


def test_version_labels_are_numbered_per_kind_on_the_dashboard_api_and_admin(
    client, staff, staff_api, admin_client
):
    sequence = [ModelVersionFactory(kind="sequence") for _ in range(2)]
    artwork = ModelVersionFactory(kind="artwork")
    assert [v.label for v in sequence] == ["sequence-v1", "sequence-v2"]
    assert artwork.label == "artwork-v1"
    client.force_login(staff)
    dashboard = client.get("/staff/").content.decode()
    assert "artwork-v1" in dashboard and "sequence-v2" in dashboard
    api = staff_api.get(f"/api/staff/model-versions/{artwork.pk}/").json()
    assert api["label"] == "artwork-v1"
    admin = admin_client.get("/admin/recommender/modelversion/").content.decode()
    assert "artwork-v1" in admin and "sequence-v2" in admin
