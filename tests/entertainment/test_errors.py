"""Unknown paths and an unreachable database: JSON for API clients, pages for people."""

from __future__ import annotations

import pytest
from django.db.utils import InterfaceError, OperationalError
from django.test import Client


@pytest.mark.django_db
def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_unknown_page_is_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- The database unreachable: 503 with Retry-After, never a 500 ----------------------------


def _database_down(*args, **kwargs):
    raise OperationalError("connection failed: server closed the connection unexpectedly")


def _assert_api_503(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


def _assert_page_503(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    assert "Back in a moment" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_api_view_with_the_database_down_is_a_json_503(api, monkeypatch, error):
    def down(*args, **kwargs):
        raise error("connection already closed")

    monkeypatch.setattr("recommender.api.RecommendationsView.get", down)
    _assert_api_503(api.get("/api/recommendations/"))


@pytest.mark.django_db
def test_api_authentication_with_the_database_down_is_a_json_503(monkeypatch):
    # A token is looked up in the database before any view code runs.
    monkeypatch.setattr(
        "entertainment.accounts.tokens.ApiTokenAuthentication.authenticate_credentials",
        _database_down,
    )
    response = Client().get("/api/plays/", HTTP_AUTHORIZATION="Token abc")
    _assert_api_503(response)


@pytest.mark.django_db
def test_the_health_check_with_the_database_down_is_a_json_503(client, monkeypatch):
    # Load balancers and probes read it: JSON, like the API.
    monkeypatch.setattr("entertainment.health.connection.cursor", _database_down)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["database"]["ok"] is False


@pytest.mark.django_db
def test_page_with_the_database_down_is_a_503_page(client, monkeypatch):
    monkeypatch.setattr("entertainment.views._home_rows", _database_down)
    response = client.get("/")
    _assert_page_503(response)
    # A page of its own: nothing of the site's layout, which needs the database.
    assert "site-header" not in response.content.decode()


@pytest.mark.django_db
def test_the_signed_in_user_lookup_with_the_database_down_is_a_503_page(client, user, monkeypatch):
    client.force_login(user)
    monkeypatch.setattr("django.contrib.auth.get_user", _database_down)
    _assert_page_503(client.get("/"))


@pytest.mark.django_db
def test_database_down_in_a_middleware_is_a_503_too(user, monkeypatch):
    """Saving the session on the way out happens after the view: the 500 handler answers."""
    client = Client(raise_request_exception=False)
    client.force_login(user)
    monkeypatch.setattr(
        "django.contrib.sessions.middleware.SessionMiddleware.process_response", _database_down
    )
    _assert_page_503(client.get("/"))
    _assert_api_503(client.get("/api/me/"))


@pytest.mark.django_db
def test_other_errors_stay_500(user, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("entertainment.views._home_rows", broken)
    monkeypatch.setattr("recommender.api.RecommendationsView.get", broken)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    assert client.get("/").status_code == 500
    response = client.get("/api/recommendations/")
    assert response.status_code == 500
    assert response.json() == {"detail": "Server error."}
    assert "Retry-After" not in response
