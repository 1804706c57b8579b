"""Token and session authentication for the API."""

from __future__ import annotations

import uuid

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from entertainment.activity.models import Rating
from tests.conftest import api_token
from tests.factories import ItemFactory, UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _own_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"api-tests-{uuid.uuid4()}",
        }
    }


def test_password_for_a_token_then_the_token_authenticates(anon_api, user):
    response = anon_api.post(
        "/api/auth/token/", {"username": user.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    key = response.json()["token"]
    assert AuthToken.objects.get().user == user

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    item = ItemFactory()
    assert client.post("/api/ratings/", {"item": item.pk, "value": "3.0"}).status_code == 201
    assert Rating.objects.get().user == user
    # Asking again gives another token (a key is shown once); both work.
    again = anon_api.post("/api/auth/token/", {"username": user.username, "password": PASSWORD})
    other = again.json()["token"]
    assert other and other != key
    assert client.get("/api/me/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {other}")
    assert client.get("/api/me/").json()["id"] == user.pk


def test_wrong_password_is_a_400_without_a_token(anon_api, user):
    response = anon_api.post(
        "/api/auth/token/", {"username": user.username, "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "non_field_errors" in response.json()
    assert not AuthToken.objects.exists()


def test_missing_fields_are_named(anon_api, db):
    response = anon_api.post("/api/auth/token/", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"username", "password"}


def test_repeated_failures_lock_the_token_endpoint_too(anon_api, user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        anon_api.post("/api/auth/token/", {"username": user.username, "password": "wrong"})
    locked = anon_api.post("/api/auth/token/", {"username": user.username, "password": PASSWORD})
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0 and "detail" in locked.json()
    assert not AuthToken.objects.exists()


def test_rotating_a_token_revokes_the_old_one(user):
    old = api_token(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    current = client.get("/api/me/token/").json()
    # Stored hashed: its dates are shown, its key never again.
    assert current["token"] is None and current["created"] and current["expiry"]
    rotated = client.post("/api/me/token/")
    assert rotated.status_code == 201
    new_key = rotated.json()["token"]
    assert new_key != old
    assert client.get("/api/ratings/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {new_key}")
    assert client.get("/api/ratings/").status_code == 200


def test_revoked_token_stops_working(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    assert client.delete("/api/me/token/").status_code == 204
    assert client.get("/api/ratings/").status_code == 401


def test_session_login_manages_the_token_and_needs_csrf_to_write(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.get("/api/me/token/").json() == {"token": None, "created": None, "expiry": None}
    # A logged-in browser session cannot be ridden by another site: no CSRF token, no write.
    assert client.post("/api/me/token/").status_code == 403
    assert not AuthToken.objects.exists()


def test_a_made_up_token_is_a_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/items/")
    assert response.status_code == 401 and "detail" in response.json()


def test_imported_accounts_cannot_get_a_token(anon_api, db):
    imported = UserFactory(imported_from="movielens", imported_id="17")
    imported.set_unusable_password()
    imported.save()
    response = anon_api.post("/api/auth/token/", {"username": imported.username, "password": ""})
    assert response.status_code == 400


def test_me_names_the_token_holder_and_needs_authentication(anon_api, user):
    key = api_token(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/me/")
    assert response.status_code == 200
    assert response.json() == {"id": user.pk, "username": user.username}
    assert anon_api.get("/api/me/").status_code == 401
