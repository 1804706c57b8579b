"""Password guessing: one client address for rate limits and lockout, derived from NUM_PROXIES;
a lockout a stranger cannot turn on someone else; many addresses on one username slowed."""

from __future__ import annotations

import uuid

import pytest
from django.test import RequestFactory

from entertainment import throttling
from entertainment.client_ip import client_ip
from entertainment.throttling import ResilientAnonRateThrottle
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"
URL = "/api/auth/token/"
PROXY = "10.0.0.1"


@pytest.fixture(autouse=True)
def _clean(settings, db):
    from axes.models import AccessAttempt

    AccessAttempt.objects.all().delete()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"brute-force-{uuid.uuid4()}",
        }
    }


def _try(client, username, password, **headers):
    return client.post(URL, {"username": username, "password": password}, format="json", **headers)


def test_a_new_x_forwarded_for_gives_no_fresh_budget_without_a_proxy(
    anon_api, user, settings, monkeypatch
):
    # NUM_PROXIES is left at its default: no proxy configured.
    monkeypatch.setattr(ResilientAnonRateThrottle, "rate", "3/min", raising=False)
    statuses = [
        _try(anon_api, user.username, "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
        for i in range(5)
    ]
    assert statuses == [400, 400, 400, 429, 429]


def test_behind_a_proxy_each_client_has_its_own_budget(anon_api, user, settings, monkeypatch):
    settings.NUM_PROXIES = 1
    monkeypatch.setattr(ResilientAnonRateThrottle, "rate", "2/min", raising=False)
    one = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    other = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.8"}
    assert [_try(anon_api, "x", "y", **one).status_code for _ in range(3)] == [400, 400, 429]
    assert _try(anon_api, "x", "y", **other).status_code == 400
    # What a client writes before the proxy's own entry changes nothing.
    forged = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "1.2.3.4, 198.51.100.7"}
    assert _try(anon_api, "x", "y", **forged).status_code == 429


def test_a_stranger_behind_the_proxy_cannot_lock_a_person_out(anon_api, user, settings):
    settings.NUM_PROXIES = 1  # BEHIND_TLS_PROXY's default: every request comes from the proxy
    stranger = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.66"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _try(anon_api, user.username, "guess", **stranger)
    # The stranger is locked out, even with the right password...
    assert _try(anon_api, user.username, PASSWORD, **stranger).status_code == 429
    # ...the person, behind the same proxy, is not.
    person = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "192.0.2.10"}
    response = _try(anon_api, user.username, PASSWORD, **person)
    assert response.status_code == 200 and response.json()["token"]


def test_without_a_proxy_a_forged_header_escapes_no_lockout(anon_api, user, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        _try(anon_api, user.username, "guess", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")
    again = _try(anon_api, user.username, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.200")
    assert again.status_code == 429


def test_the_login_page_locks_by_the_same_address(client, user, settings):
    settings.NUM_PROXIES = 1
    stranger = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "198.51.100.66"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": user.username, "password": "x"}, **stranger)
    person = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": "192.0.2.10"}
    response = client.post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD}, **person
    )
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(user.pk)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.2.3.4", "192.0.2.1"),
        (1, None, "192.0.2.1"),
        (1, "1.2.3.4", "1.2.3.4"),
        (1, "9.9.9.9, 1.2.3.4", "1.2.3.4"),
        (2, "9.9.9.9, 1.2.3.4, 10.0.0.2", "1.2.3.4"),
        (2, "1.2.3.4", "1.2.3.4"),
    ],
)
def test_client_ip_counts_our_proxies_from_the_end(settings, proxies, forwarded, expected):
    settings.NUM_PROXIES = proxies
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", **extra)
    assert client_ip(request) == expected


def test_many_addresses_on_one_username_are_slowed_not_blocked(
    anon_api, user, settings, monkeypatch
):
    settings.LOGIN_USERNAME_SLOW_AFTER = 6
    settings.LOGIN_USERNAME_INTERVAL_S = 10
    clock = [1_000_000.0]
    monkeypatch.setattr(throttling, "_now", lambda: clock[0])
    # A botnet: each address stays under the lockout's limit.
    for i in range(6):
        address = {"REMOTE_ADDR": f"203.0.113.{i}"}
        assert _try(anon_api, user.username, f"guess{i}", **address).status_code == 400
    # From now on, one attempt on this username every 10 s, from anywhere.
    assert _try(anon_api, user.username, "guess", REMOTE_ADDR="203.0.113.50").status_code == 400
    slowed = _try(anon_api, user.username, "guess", REMOTE_ADDR="203.0.113.51")
    assert slowed.status_code == 429
    assert 0 < int(slowed["Retry-After"]) <= 10 and "detail" in slowed.json()
    # Another person is not slowed.
    someone = UserFactory()
    assert _try(anon_api, someone.username, PASSWORD).status_code == 200
    # Seconds later, the person gets in: slowed, never locked out.
    clock[0] += 10
    response = _try(anon_api, user.username, PASSWORD, REMOTE_ADDR="192.0.2.10")
    assert response.status_code == 200 and response.json()["token"]


def test_failures_on_the_login_page_count_towards_the_slowdown(client, anon_api, user, settings):
    settings.LOGIN_USERNAME_SLOW_AFTER = 3
    for i in range(3):
        client.post(
            "/accounts/login/",
            {"username": user.username, "password": "x"},
            REMOTE_ADDR=f"203.0.113.{i}",
        )
    assert _try(anon_api, user.username, "x", REMOTE_ADDR="203.0.113.9").status_code == 400
    assert _try(anon_api, user.username, "x", REMOTE_ADDR="203.0.113.10").status_code == 429


def test_the_login_page_is_slowed_too_and_says_how_long(client, user, settings, monkeypatch):
    settings.LOGIN_USERNAME_SLOW_AFTER = 3
    monkeypatch.setattr(throttling, "_now", lambda: 1_000_000.0)
    for i in range(4):
        client.post(
            "/accounts/login/",
            {"username": user.username, "password": "x"},
            REMOTE_ADDR=f"203.0.113.{i}",
        )
    slowed = client.post(
        "/accounts/login/", {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="1.1.1.1"
    )
    assert slowed.status_code == 429
    assert 0 < int(slowed["Retry-After"]) <= settings.LOGIN_USERNAME_INTERVAL_S
    assert "Please wait" in slowed.content.decode()
    assert client.session.get("_auth_user_id") is None


def test_the_slowdown_counts_in_redis(redis_cache, settings, monkeypatch):
    settings.LOGIN_USERNAME_SLOW_AFTER = 2
    clock = [5_000.0]
    monkeypatch.setattr(throttling, "_now", lambda: clock[0])
    slowdown = throttling.login_slowdown
    slowdown.failed("ada")
    assert slowdown.wait("ada") == 0
    slowdown.failed("ada")
    assert slowdown.wait("ada") == 0  # takes the slot
    assert slowdown.wait("ada") == settings.LOGIN_USERNAME_INTERVAL_S
    assert slowdown.wait("grace") == 0
    clock[0] += settings.LOGIN_USERNAME_INTERVAL_S
    assert slowdown.wait("ada") == 0
