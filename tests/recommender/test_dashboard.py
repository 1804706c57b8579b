"""The staff dashboard: staff only, Train now, activate and roll back, progress, chart, panels."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from kombu import Connection

from entertainment.accounts.privacy import change_settings
from entertainment.activity.models import Play
from recommender import dashboard, registry
from recommender.models import ModelVersion, TrainingRun
from tests.factories import ItemFactory, PlayFactory, RatingFactory, ReviewFactory, UserFactory
from tests.recommender.factories import ModelVersionFactory, SnapshotFactory, TrainingRunFactory

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("staff:dashboard")
PROGRESS = reverse("staff:progress")
TRAIN = reverse("staff:train")
CLOSED_PORT_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def staff_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def person_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def enqueued(monkeypatch) -> dict[str, list[int]]:
    """What would have gone to the queue; no task runs (no TensorFlow in these tests)."""
    sent: dict[str, list[int]] = {"train": [], "after_activation": []}
    monkeypatch.setattr("recommender.tasks.train.delay", sent["train"].append)
    monkeypatch.setattr("recommender.tasks.after_activation.delay", sent["after_activation"].append)
    return sent


@pytest.fixture(autouse=True)
def _no_broker_calls_by_default(monkeypatch):
    """Asking workers waits a second for replies; tests about that panel undo this."""
    monkeypatch.setattr(dashboard, "workers", lambda: [])


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def _chart_data(html: str) -> dict:
    found = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the chart data script is missing"
    return json.loads(found.group(1))


# --- Who may see and do what ----------------------------------------------------------------


def _staff_urls() -> list[tuple[str, str, dict]]:
    version = ModelVersionFactory()
    return [
        ("get", DASHBOARD, {}),
        ("get", PROGRESS, {}),
        ("post", TRAIN, {"kind": "sequence"}),
        ("post", reverse("staff:activate", args=[version.pk]), {}),
        ("post", reverse("staff:roll_back", args=["sequence"]), {}),
    ]


def test_anonymous_people_are_sent_to_log_in(enqueued):
    client = Client()
    for method, url, data in _staff_urls():
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login")), url
    assert not TrainingRun.objects.exists()
    assert not ModelVersion.objects.active().exists()


def test_people_who_are_not_staff_are_refused(person_client, enqueued):
    for method, url, data in _staff_urls():
        assert getattr(person_client, method)(url, data).status_code == 403, url
    assert not TrainingRun.objects.exists()
    assert not ModelVersion.objects.active().exists()


# --- The page ---------------------------------------------------------------------------------


def test_the_page_renders_before_anything_was_trained(staff_client):
    response = staff_client.get(DASHBOARD)
    assert response.status_code == 200
    html = response.content.decode()
    assert "No training runs yet" in html
    assert html.count(">Train now</button>") == 3
    assert "Train all models now" in html
    assert html.count("No earlier version to roll back to") == 3
    assert all(not series["points"] for series in _chart_data(html).values())


def test_the_page_shows_runs_and_versions(staff_client):
    active = ModelVersionFactory(kind="sentiment", main_metric_value=0.81)
    registry.activate(active)
    rejected = ModelVersionFactory(
        kind="sentiment", main_metric_value=0.7, status=ModelVersion.Status.REJECTED
    )
    TrainingRunFactory(
        kind="artwork", status=TrainingRun.Status.RUNNING, progress=42, stage="epoch 3/8"
    )
    TrainingRunFactory(
        kind="sentiment", error="NotEnoughData: too few reviews", status=TrainingRun.Status.FAILED
    )

    html = staff_client.get(DASHBOARD).content.decode()

    assert '<progress max="100" value="42"' in html
    assert "epoch 3/8" in html
    assert "too few reviews" in html
    assert active.label in html and rejected.label in html
    assert "0.8100" in html
    # Every version that is not active can be activated from the page.
    assert reverse("staff:activate", args=[rejected.pk]) in html
    assert reverse("staff:activate", args=[active.pk]) not in html


def test_the_page_has_no_inline_script_or_style(staff_client):
    """The Content-Security-Policy would block them: behaviour lives in static files."""
    registry.activate(ModelVersionFactory())
    TrainingRunFactory(status=TrainingRun.Status.RUNNING, progress=30)
    html = staff_client.get(DASHBOARD).content.decode()
    assert " style=" not in html and "<style" not in html
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    for attributes, body in scripts:
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
        assert "src=" not in attributes or not body.strip()
    assert any("recommender/dashboard.js" in attributes for attributes, _ in scripts)
    assert any("chart.umd.min.js" in attributes for attributes, _ in scripts)


def test_posts_without_a_csrf_token_are_refused(staff, enqueued):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.post(TRAIN, {"kind": "sequence"}).status_code == 403
    assert not TrainingRun.objects.exists()


def test_the_page_links_to_the_admin_and_the_admin_back(staff_client, staff):
    assert reverse("admin:index") in staff_client.get(DASHBOARD).content.decode()
    staff.is_superuser = True
    staff.save()
    TrainingRunFactory()
    ModelVersionFactory()
    SnapshotFactory()
    for model in ("trainingrun", "modelversion", "snapshot"):
        admin_page = staff_client.get(reverse(f"admin:recommender_{model}_changelist"))
        assert admin_page.status_code == 200
        assert DASHBOARD in admin_page.content.decode()
        # Read-only: workers and the registry write these rows, not hand edits.
        assert reverse(f"admin:recommender_{model}_add") not in admin_page.content.decode()


# --- Train now --------------------------------------------------------------------------------


def test_train_now_queues_a_run_and_a_second_click_reuses_it(
    staff_client, staff, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = staff_client.post(TRAIN, {"kind": "sequence"}, follow=True)
    run = TrainingRun.objects.get()
    assert run.kind == "sequence" and run.status == TrainingRun.Status.QUEUED
    assert run.requested_by == staff
    assert f"run {run.pk}" in " ".join(_messages(first))

    with django_capture_on_commit_callbacks(execute=True):
        second = staff_client.post(TRAIN, {"kind": "sequence"}, follow=True)
    assert TrainingRun.objects.count() == 1
    assert "already training" in " ".join(_messages(second))
    assert enqueued["train"] == [run.pk]


def test_train_all_queues_one_run_per_model(staff_client, enqueued):
    TrainingRunFactory(kind="artwork", status=TrainingRun.Status.RUNNING, progress=10)
    staff_client.post(TRAIN, {"kind": "all"})
    live = TrainingRun.objects.filter(status__in=TrainingRun.LIVE)
    assert sorted(live.values_list("kind", flat=True)) == ["artwork", "sentiment", "sequence"]
    assert TrainingRun.objects.count() == 3


def test_train_now_with_an_unknown_kind_is_refused(staff_client, enqueued):
    response = staff_client.post(TRAIN, {"kind": "telepathy"})
    assert response.status_code == 400
    assert "Unknown model kind telepathy." in _messages(response)
    assert not TrainingRun.objects.exists()


# --- Live progress ----------------------------------------------------------------------------


def test_progress_json_follows_the_run(staff_client):
    run = TrainingRunFactory(
        kind="sequence", status=TrainingRun.Status.RUNNING, progress=40, stage="epoch 2/5"
    )
    body = staff_client.get(PROGRESS).json()
    assert body["live"] is True
    assert body["runs"][0] | {"id": run.pk, "progress": 40, "stage": "epoch 2/5"} == body["runs"][0]

    TrainingRun.objects.filter(pk=run.pk).update(progress=100, status="succeeded")
    body = staff_client.get(PROGRESS).json()
    assert body["live"] is False
    assert (body["runs"][0]["progress"], body["runs"][0]["status"]) == (100, "succeeded")


def test_progress_json_is_empty_without_runs(staff_client):
    assert staff_client.get(PROGRESS).json() == {"runs": [], "live": False}


# --- Activate and roll back -------------------------------------------------------------------


def _active(kind: str) -> list[int]:
    return list(ModelVersion.objects.active().filter(kind=kind).values_list("pk", flat=True))


def test_activate_switches_the_active_version(
    staff_client, enqueued, django_capture_on_commit_callbacks
):
    old = registry.activate(ModelVersionFactory(kind="artwork"))
    new = ModelVersionFactory(kind="artwork", status=ModelVersion.Status.REJECTED)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("staff:activate", args=[new.pk]), follow=True)
    assert _active("artwork") == [new.pk]
    old.refresh_from_db()
    assert old.status == ModelVersion.Status.RETIRED
    assert enqueued["after_activation"] == [new.pk]
    assert f"{new.label} is now active" in " ".join(_messages(response))


def test_roll_back_reactivates_the_previous_version(staff_client, enqueued):
    first = registry.activate(ModelVersionFactory(kind="sequence"))
    second = registry.activate(ModelVersionFactory(kind="sequence"))
    assert (
        reverse("staff:roll_back", args=["sequence"])
        in staff_client.get(DASHBOARD).content.decode()
    )

    staff_client.post(reverse("staff:roll_back", args=["sequence"]))

    assert _active("sequence") == [first.pk]
    second.refresh_from_db()
    assert second.status == ModelVersion.Status.RETIRED


def test_roll_back_without_an_earlier_version_changes_nothing(staff_client, enqueued):
    only = registry.activate(ModelVersionFactory(kind="sequence"))
    response = staff_client.post(reverse("staff:roll_back", args=["sequence"]), follow=True)
    assert "no earlier version" in " ".join(_messages(response)).lower()
    assert _active("sequence") == [only.pk]
    assert enqueued["after_activation"] == []


def test_a_version_holding_erased_data_cannot_come_back(staff_client, enqueued):
    from django.utils import timezone

    current = registry.activate(ModelVersionFactory(kind="sentiment"))
    erased = ModelVersionFactory(
        kind="sentiment", status="retired", needs_retrain_since=timezone.now()
    )
    response = staff_client.post(reverse("staff:activate", args=[erased.pk]), follow=True)
    assert "erased" in " ".join(_messages(response))
    assert _active("sentiment") == [current.pk]


def test_a_version_without_its_files_cannot_be_activated(staff_client, enqueued, tmp_path):
    gone = ModelVersionFactory(kind="artwork")
    ModelVersion.objects.filter(pk=gone.pk).update(path=str(tmp_path / "deleted"))
    response = staff_client.post(reverse("staff:activate", args=[gone.pk]), follow=True)
    assert "has no model files" in " ".join(_messages(response))
    assert _active("artwork") == []


def test_unknown_versions_and_kinds_are_404(staff_client, enqueued):
    assert staff_client.post(reverse("staff:activate", args=[999999])).status_code == 404
    assert staff_client.post(reverse("staff:roll_back", args=["opera"])).status_code == 404


# --- The chart --------------------------------------------------------------------------------


def test_chart_data_holds_each_versions_main_metric(staff_client):
    versions = [
        ModelVersionFactory(kind="sequence", main_metric_value=value)
        for value in (0.11, 0.18, None, 0.2)
    ]
    ModelVersionFactory(kind="artwork", main_metric_value=0.6)

    data = _chart_data(staff_client.get(DASHBOARD).content.decode())

    sequence = data["sequence"]
    assert sequence["metric"] == "ndcg@10"
    assert [p["id"] for p in sequence["points"]] == [v.pk for v in versions]
    assert [p["value"] for p in sequence["points"]] == [0.11, 0.18, None, 0.2]
    assert [p["value"] for p in data["artwork"]["points"]] == [0.6]
    assert data["sentiment"]["points"] == []


# --- Queues and workers -----------------------------------------------------------------------


def test_a_dead_broker_shows_unavailable_instead_of_failing(staff_client, settings, monkeypatch):
    monkeypatch.undo()  # the real worker query, against a port where nothing listens
    settings.CELERY_BROKER_URL = CLOSED_PORT_BROKER
    assert dashboard.workers() is None
    assert dashboard.queue_lengths() == {"cpu": None, "gpu": None}

    response = staff_client.get(DASHBOARD)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Unavailable: the broker did not answer." in html
    assert html.count(">unknown<") == 2


def test_queue_lengths_count_waiting_messages_in_the_filesystem_broker(settings, tmp_path):
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        # kombu keeps queue bindings here; its default is a folder relative to the cwd.
        "control_folder": str(tmp_path / "control"),
    }
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = options
    assert dashboard.queue_lengths() == {"cpu": 0, "gpu": 0}
    # Messages as kombu's filesystem transport writes them, "<time>_<uuid>.<queue>.msg" (going
    # through kombu here depends on exchange state that other tests in the process leave).
    for queue, n in (("cpu", 2), ("gpu", 1)):
        for i in range(n):
            (folder / f"{1000 + i}_{uuid.uuid4()}.{queue}.msg").write_text('{"body": "{}"}')
    names = sorted(p.name for p in folder.iterdir())
    assert dashboard.queue_lengths() == {"cpu": 2, "gpu": 1}, names


def test_queue_lengths_count_waiting_messages_in_redis(settings):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (set REDIS_URL)")
    settings.CELERY_BROKER_URL = settings.REDIS_URL
    before = dashboard.queue_lengths()
    with Connection(settings.REDIS_URL) as conn:
        simple = conn.SimpleQueue("gpu")
        try:
            simple.put({"n": 1})
            simple.put({"n": 2}, priority=9)
            after = dashboard.queue_lengths()
        finally:
            for _ in range(2):
                simple.get(timeout=1).ack()
            simple.close()
    assert after == {"cpu": before["cpu"], "gpu": (before["gpu"] or 0) + 2}


@pytest.mark.worker
def test_a_running_worker_is_listed_with_its_queues(celery_worker_process, monkeypatch):
    monkeypatch.undo()
    workers = dashboard.workers()
    assert workers is not None
    assert any(w.name.startswith("test-") and w.queues == ["cpu", "gpu"] for w in workers)


# --- Small groups stay hidden -----------------------------------------------------------------


def _warmed() -> dict[str, int | None]:
    return {c.label: c.value for c in dashboard.people_warmed()}


WARMED = "People active in 14 days (lists warmed)"


def test_counts_of_small_groups_are_hidden(staff_client, settings):
    settings.PRIVACY_MIN_GROUP_SIZE = 5
    settings.WARM_UP_ACTIVE_DAYS = 14
    SnapshotFactory(counts={"interactions": 40, "reviews": 6, "artwork": 3, "people": 4})
    items = ItemFactory.create_batch(2)
    for person in UserFactory.create_batch(3):
        for item in items:
            PlayFactory(user=person, item=item)
    ModelVersionFactory(kind="sequence", metrics={"ndcg@10": 0.2, "users": 3.0})

    counts = {c.label: c.value for c in dashboard.training_data_counts() or []}
    assert counts == {
        "People who allow training": None,
        "Ratings and plays": None,
        "Reviews": None,
        "Artwork images": None,
    }
    assert _warmed() == {WARMED: None}
    html = staff_client.get(DASHBOARD).content.decode()
    assert WARMED in html
    assert "hidden (&lt; 5 people)" in html
    # The data card (the queues' card shows whatever the broker holds).
    data = html[html.index("<h3>Data</h3>") :]
    assert ">40<" not in data and ">3<" not in data
    assert '<span class="metric-name">users</span> &lt; 5' in html


def test_counts_of_big_enough_groups_are_shown(staff_client, settings):
    settings.PRIVACY_MIN_GROUP_SIZE = 3
    settings.WARM_UP_ACTIVE_DAYS = 14
    SnapshotFactory(counts={"interactions": 40, "reviews": 6, "artwork": 3, "people": 4})
    items = ItemFactory.create_batch(4)
    # People are counted, not events: each of these three is active in several ways.
    for person in UserFactory.create_batch(3):
        for item in items:
            PlayFactory(user=person, item=item)
        RatingFactory(user=person, item=items[0])
        ReviewFactory(user=person, item=items[1])
    # Not warmed: a person active only long ago, and one who switched personalisation off.
    old = PlayFactory(item=items[0])
    Play.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=15))
    private = UserFactory()
    PlayFactory(user=private, item=items[0])
    change_settings(private, personalised=False)

    counts = {c.label: c.value for c in dashboard.training_data_counts() or []}
    assert counts["People who allow training"] == 4
    assert counts["Ratings and plays"] == 40
    assert _warmed() == {WARMED: 3}
    assert dashboard.visible_metrics({"users": 3.0}) == [("users", "3")]
    html = staff_client.get(DASHBOARD).content.decode()
    assert f"<dt>{WARMED}</dt><dd>3</dd>" in html


def test_a_review_or_rating_alone_makes_a_person_active(settings):
    settings.PRIVACY_MIN_GROUP_SIZE = 1
    settings.WARM_UP_ACTIVE_DAYS = 7
    RatingFactory()
    ReviewFactory()
    assert _warmed() == {"People active in 7 days (lists warmed)": 2}
