"""API tokens: stored hashed, expiring, revoked by a password change and by erasure."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from entertainment.accounts.erasure import erase_account
from tests.conftest import api_token

PASSWORD = "correct horse battery staple"
ROOT = Path(__file__).resolve().parents[2]


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _obtain(anon_api, user) -> dict:
    response = anon_api.post(
        "/api/auth/token/", {"username": user.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    return response.json()


def _database_text() -> str:
    """Every text column of every table, as a dump would show them."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            chunks.extend(str(value) for row in cursor.fetchall() for value in row)
    return "\n".join(chunks)


def test_the_database_never_holds_a_usable_key(anon_api, user):
    key = _obtain(anon_api, user)["token"]
    assert _client(key).get("/api/me/").status_code == 200
    assert key not in _database_text()


def test_the_answer_says_when_the_token_expires(anon_api, user, settings):
    body = _obtain(anon_api, user)
    issued = timezone.now()
    expiry = timezone.datetime.fromisoformat(body["expiry"].replace("Z", "+00:00"))
    assert abs(expiry - (issued + timedelta(hours=settings.API_TOKEN_TTL_H))) < timedelta(minutes=1)


def test_an_expired_token_is_refused(user):
    key = api_token(user)
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(seconds=1))
    response = _client(key).get("/api/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "expired" in response.json()["detail"]


def test_changing_the_password_on_the_page_revokes_every_token(client, user):
    keys = [api_token(user), api_token(user)]
    client.force_login(user)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a different long passphrase 7",
            "new_password2": "a different long passphrase 7",
        },
    )
    assert response.status_code == 302
    for key in keys:
        assert _client(key).get("/api/me/").status_code == 401
    # The browser session that changed it stays signed in.
    assert client.get("/api/me/").status_code == 200


def test_a_password_set_anywhere_else_revokes_tokens_too(user, other_user):
    mine, theirs = api_token(user), api_token(other_user)
    user.set_password("set by staff in the admin 9")
    user.save()
    assert _client(mine).get("/api/me/").status_code == 401
    assert _client(theirs).get("/api/me/").status_code == 200


def test_saving_a_person_without_a_new_password_keeps_their_tokens(client, anon_api, user):
    key = api_token(user)
    user.first_name = "Ada"
    user.save()
    # Logging in (which saves last_login) leaves them too.
    _obtain(anon_api, user)
    login = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert login.status_code == 302
    assert _client(key).get("/api/me/").status_code == 200


def test_erasing_the_account_revokes_its_tokens(user):
    key = api_token(user)
    erase_account(user)
    assert _client(key).get("/api/me/").status_code == 401
    assert not AuthToken.objects.exists()


@pytest.mark.parametrize("header", ["Token \xff\xfe", "Token zz", "Token " + "a" * 500])
def test_a_malformed_key_is_a_401(db, header):
    response = APIClient().get("/api/me/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401 and "detail" in response.json()


def test_a_person_keeps_a_bounded_number_of_tokens(user, settings):
    settings.API_TOKEN_MAX_PER_USER = 3
    keys = [api_token(user) for _ in range(5)]
    assert AuthToken.objects.filter(user=user).count() == 3
    assert [_client(k).get("/api/me/").status_code for k in keys] == [401, 401, 200, 200, 200]


def _check(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_md5_hasher_is_refused_outside_the_tests():
    refused = _check(FAST_PASSWORD_HASHER="true")
    assert refused.returncode != 0
    assert "FAST_PASSWORD_HASHER" in refused.stderr
    assert _check(FAST_PASSWORD_HASHER="false").returncode == 0


def test_a_token_looked_up_with_the_database_down_is_a_json_503(db, monkeypatch):
    from django.db.utils import OperationalError

    def down(*args, **kwargs):
        raise OperationalError("connection failed: server closed the connection unexpectedly")

    monkeypatch.setattr(AuthToken.objects, "select_related", down)
    response = APIClient().get("/api/plays/", HTTP_AUTHORIZATION="Token abc")
    assert response.status_code == 503
    assert response["Retry-After"] and "detail" in response.json()
