"""API rate limits: a counter per client and window, in one cache round trip on Redis."""

from __future__ import annotations

import time
import uuid

import pytest
from django.conf import settings as django_settings

from entertainment.throttling import ResilientAnonRateThrottle, ResilientUserRateThrottle, hit


def test_a_person_over_their_rate_gets_429_with_retry_after(api, monkeypatch):
    monkeypatch.setattr(ResilientUserRateThrottle, "rate", "3/min", raising=False)
    responses = [api.get("/api/me/") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert 0 < int(responses[-1]["Retry-After"]) <= 60


def test_anonymous_clients_have_their_own_rate(anon_api, api, monkeypatch):
    monkeypatch.setattr(ResilientAnonRateThrottle, "rate", "2/min", raising=False)
    assert [anon_api.get("/api/items/").status_code for _ in range(3)] == [200, 200, 429]
    assert api.get("/api/items/").status_code == 200  # a signed-in person is counted apart


@pytest.fixture
def redis_cache(settings):
    if not django_settings.REDIS_URL:
        pytest.skip("needs Redis (set REDIS_URL)")
    settings.CACHES = {
        "default": {
            "BACKEND": "entertainment.cache.FailFastRedisCache",
            "LOCATION": django_settings.REDIS_URL,
            "KEY_PREFIX": f"throttle-test-{uuid.uuid4().hex}",
        }
    }


def test_redis_counts_hits_in_a_window_that_starts_with_the_first(redis_cache):
    assert hit("client", 60) == (1, 60)
    hits, resets_in = hit("client", 60)
    assert hits == 2 and 0 < resets_in <= 60
    assert hit("other-client", 60) == (1, 60)
    hit("short", 1)
    time.sleep(1.2)
    assert hit("short", 1) == (1, 1), "a new window after the old one expired"


def test_redis_limits_requests_through_the_api(redis_cache, api, monkeypatch):
    monkeypatch.setattr(ResilientUserRateThrottle, "rate", "2/min", raising=False)
    statuses = [api.get("/api/me/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
