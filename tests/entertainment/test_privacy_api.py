"""The privacy API: settings and their changes, exports, erasure; only ever the caller's own."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from entertainment.accounts.export import build
from entertainment.accounts.models import DataExport, ErasureRequest, SettingChange, User
from entertainment.accounts.privacy import change_settings
from entertainment.activity.models import Play, Rating, Review
from tests.conftest import api_token
from tests.factories import (
    ItemFactory,
    PlayFactory,
    RatingFactory,
    ReviewFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


PRIVACY = "/api/me/privacy/"
EXPORTS = "/api/me/exports/"
ERASE = "/api/me/erase/"


def client_of(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _history(user: User) -> list:
    items = [ItemFactory() for _ in range(2)]
    for item in items:
        RatingFactory(user=user, item=item)
        PlayFactory(user=user, item=item)
    ReviewFactory(user=user, item=items[0])
    return items


# --- Settings -------------------------------------------------------------------------------


def test_settings_start_at_the_defaults(api):
    body = api.get(PRIVACY).json()
    assert body == {
        "personalised": True,
        "history_paused": False,
        "train_on_plays": True,
        "train_on_ratings": True,
        "train_on_reviews": False,  # review text trains nothing until the person opts in
        "review_visibility": "anonymous",
        "measure_recommendations": True,  # one click off; switching it off deletes what was
        "list_style": "familiar",
        "updated_at": body["updated_at"],
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("personalised", False),
        ("history_paused", True),
        ("train_on_plays", False),
        ("train_on_ratings", False),
        ("train_on_reviews", True),
        ("review_visibility", "private"),
        ("review_visibility", "public"),
    ],
)
def test_each_setting_changes_through_patch_and_is_recorded(api, user, field, value):
    response = api.patch(PRIVACY, {field: value})
    assert response.status_code == 200, response.json()
    assert response.json()[field] == value
    assert getattr(User.objects.get(pk=user.pk).privacy, field) == value
    changes = api.get("/api/me/privacy/changes/").json()
    assert changes["count"] == 1
    assert changes["results"][0]["setting"] == field
    shown = {True: "on", False: "off"}.get(value, value)
    assert changes["results"][0]["new_value"] == shown


def test_unknown_or_read_only_fields_are_refused_and_nothing_changes(api, user):
    response = api.patch(PRIVACY, {"history_paused": True, "is_staff": True, "updated_at": "x"})
    assert response.status_code == 400
    assert set(response.json()) == {"is_staff", "updated_at"}
    assert User.objects.get(pk=user.pk).privacy.history_paused is False
    assert not User.objects.get(pk=user.pk).is_staff
    bad = api.patch(PRIVACY, {"review_visibility": "everyone"})
    assert bad.status_code == 400 and "review_visibility" in bad.json()
    assert not SettingChange.objects.filter(user=user).exists()


def test_paused_through_the_api_stores_no_play(api, user):
    api.patch(PRIVACY, {"history_paused": True})
    item = ItemFactory()
    response = api.post("/api/plays/", {"item": item.pk, "started_at": timezone.now().isoformat()})
    assert response.status_code == 202
    assert not Play.objects.filter(user=user).exists()


def test_changes_list_only_the_callers_own(api, user, other_user):
    change_settings(other_user, history_paused=True)
    assert api.get("/api/me/privacy/changes/").json()["count"] == 0


# --- Exports --------------------------------------------------------------------------------


def test_export_is_accepted_then_downloadable_by_its_owner(api, user, other_user):
    _history(user)
    created = api.post(EXPORTS)
    assert created.status_code == 202
    body = created.json()
    assert body["status"] == "pending" and body["progress"] == 0 and body["download_url"] is None
    export = DataExport.objects.get(pk=body["id"], user=user)

    build(export)  # what the `accounts.build_export` task does on the cpu queue
    detail = api.get(f"{EXPORTS}{export.pk}/").json()
    assert detail["status"] == "ready" and detail["progress"] == 100
    assert detail["download_url"].endswith(f"/api/me/exports/{export.pk}/download/")
    assert api.get(EXPORTS).json()["results"][0]["id"] == export.pk

    download = api.get(f"{EXPORTS}{export.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert download["Content-Disposition"].startswith("attachment;")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert {"encore-export.json", "plays.csv"} <= set(archive.namelist())

    for stranger in (client_of(other_user), client_of(StaffFactory())):
        assert stranger.get(f"{EXPORTS}{export.pk}/").status_code == 404
        assert stranger.get(f"{EXPORTS}{export.pk}/download/").status_code == 404
        assert stranger.get(EXPORTS).json()["count"] == 0


@pytest.mark.worker
def test_export_is_built_on_the_queue_by_a_real_worker(celery_worker_process):
    person = UserFactory()
    _history(person)
    client = client_of(person)
    export_id = client.post(EXPORTS).json()["id"]  # committed at once: transactional test
    deadline = time.monotonic() + 60
    while (detail := client.get(f"{EXPORTS}{export_id}/").json())["status"] != "ready":
        assert detail["status"] != "failed" and time.monotonic() < deadline, detail
        time.sleep(0.3)
    download = client.get(f"{EXPORTS}{export_id}/download/")
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    assert archive.read("plays.csv").decode().count("\n") == 1 + 2


def test_export_not_ready_is_404_and_expired_is_410(api, user):
    pending = api.post(EXPORTS).json()
    assert api.get(f"{EXPORTS}{pending['id']}/download/").status_code == 404
    export = build(DataExport.objects.get(pk=pending["id"]))
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    gone = api.get(f"{EXPORTS}{export.pk}/download/")
    assert gone.status_code == 410 and "expired" in gone.json()["detail"]
    detail = api.get(f"{EXPORTS}{export.pk}/").json()
    assert detail["expired"] is True and detail["download_url"] is None


def test_token_authentication_reaches_the_same_data(user):
    key = api_token(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.patch(PRIVACY, {"train_on_reviews": True}).status_code == 200
    assert User.objects.get(pk=user.pk).privacy.train_on_reviews is True
    assert client.post(EXPORTS).status_code == 202


# --- Erasure --------------------------------------------------------------------------------


def test_erase_chosen_items(api, user, django_capture_on_commit_callbacks):
    first, second = _history(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(ERASE, {"scope": "items", "items": [first.pk]})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["scope"] == "items" and body["rows_deleted"] == 3
    assert body["models_clean_at"] is not None and body["models_clean_by"] is None
    assert not Rating.objects.filter(user=user, item=first).exists()
    assert not Review.objects.filter(user=user).exists()
    assert Play.objects.filter(user=user, item=second).exists()
    assert api.get("/api/me/erasures/").json()["results"][0]["id"] == body["id"]


def test_erase_items_are_checked(api, user, other_user):
    theirs = _history(other_user)[0]
    mine = _history(user)[0]
    for payload in (
        {"scope": "items"},
        {"scope": "items", "items": []},
        {"scope": "items", "items": ["x"]},
        {"scope": "items", "items": [mine.pk, theirs.pk]},
        {"scope": "history", "items": [mine.pk]},
        {"scope": "everything"},
    ):
        response = api.post(ERASE, payload)
        assert response.status_code == 400, payload
    assert Play.objects.filter(user=user).count() == 2
    assert Play.objects.filter(user=other_user).count() == 2
    assert not ErasureRequest.objects.exists()


def test_erase_refuses_an_item_id_too_large_for_the_database(api, user):
    # Found by fuzzing: such an id reached the query and overflowed SQLite's integer (a 500).
    mine = _history(user)[0]
    response = api.post(ERASE, {"scope": "items", "items": [mine.pk, 2**70]}, format="json")
    assert response.status_code == 400
    assert "items" in response.json()
    assert Play.objects.filter(user=user).count() == 2
    assert not ErasureRequest.objects.exists()


def test_erase_all_history(api, user, django_capture_on_commit_callbacks):
    _history(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(ERASE, {"scope": "history"})
    assert response.status_code == 200 and response.json()["rows_deleted"] == 5
    assert not Play.objects.filter(user=user).exists()
    assert not Rating.objects.filter(user=user).exists()
    assert User.objects.filter(pk=user.pk).exists()


def test_erasure_pending_retrain_says_by_when(api, user, settings):
    settings.ERASURE_RETRAIN_WINDOW_H = 6
    erasure = ErasureRequest.objects.create(user=user, scope="history", pending_versions=[3])
    row = api.get("/api/me/erasures/").json()["results"][0]
    assert row["models_clean_at"] is None
    expected = erasure.requested_at + timedelta(hours=6)
    assert row["models_clean_by"].startswith(expected.strftime("%Y-%m-%dT%H:%M"))


def test_erase_account_needs_the_username(user, django_capture_on_commit_callbacks):
    _history(user)
    key = api_token(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.post(ERASE, {"scope": "account"}).status_code == 400
    wrong = client.post(ERASE, {"scope": "account", "confirm": "someone"})
    assert wrong.status_code == 400 and "confirm" in wrong.json()
    assert User.objects.filter(pk=user.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(ERASE, {"scope": "account", "confirm": user.username})
    assert done.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Play.objects.filter(user_id=user.pk).exists()
    assert not AuthToken.objects.filter(user_id=user.pk).exists()
    assert client.get(PRIVACY).status_code == 401


def test_erase_account_with_a_session_logs_it_out(user):
    client = APIClient()
    client.force_login(user)
    response = client.post(ERASE, {"scope": "account", "confirm": user.username})
    assert response.status_code == 204
    assert "_auth_user_id" not in client.session


# --- Who may ask ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", PRIVACY),
        ("patch", PRIVACY),
        ("get", "/api/me/privacy/changes/"),
        ("get", EXPORTS),
        ("post", EXPORTS),
        ("get", f"{EXPORTS}1/"),
        ("get", f"{EXPORTS}1/download/"),
        ("get", "/api/me/erasures/"),
        ("post", ERASE),
    ],
)
def test_anonymous_callers_get_401(anon_api, method, url):
    assert getattr(anon_api, method)(url, {}).status_code == 401


def test_staff_read_and_change_only_their_own(user):
    staff = StaffFactory()
    client = client_of(staff)
    export = build(DataExport.objects.create(user=user))
    ErasureRequest.objects.create(user=user, scope="history")
    change_settings(user, history_paused=True)
    assert client.get(f"{EXPORTS}{export.pk}/").status_code == 404
    assert client.get("/api/me/erasures/").json()["count"] == 0
    assert client.get("/api/me/privacy/changes/").json()["count"] == 0
    assert client.patch(PRIVACY, {"personalised": False}).status_code == 200
    assert User.objects.get(pk=user.pk).privacy.personalised is True
    assert User.objects.get(pk=staff.pk).privacy.personalised is False


def test_privacy_endpoints_are_in_the_schema(anon_api):
    schema = anon_api.get("/api/schema/", {"format": "json"}).json()
    for path in (
        "/api/me/privacy/",
        "/api/me/privacy/changes/",
        "/api/me/exports/",
        "/api/me/exports/{id}/",
        "/api/me/exports/{id}/download/",
        "/api/me/erasures/",
        "/api/me/erase/",
    ):
        assert path in schema["paths"], path
    assert "patch" in schema["paths"]["/api/me/privacy/"]
    assert "202" in schema["paths"]["/api/me/exports/"]["post"]["responses"]
