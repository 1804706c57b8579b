"""API rate limits: a counter per client and window, in one cache round trip on Redis."""

from __future__ import annotations

import time

from django.core.cache import cache

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


def test_redis_counts_hits_in_a_window_that_starts_with_the_first(redis_cache):
    assert hit("client", 60, []) == (1, 60, {})
    hits, resets_in, _ = hit("client", 60, [])
    assert hits == 2 and 0 < resets_in <= 60
    assert hit("other-client", 60, []) == (1, 60, {})
    hit("short", 1, [])
    time.sleep(1.2)
    assert hit("short", 1, [])[:2] == (1, 1), "a new window after the old one expired"


def test_the_counter_reads_other_keys_in_its_round_trip(redis_cache):
    cache.set_many({"list": {"e": [1, 2]}, "switch": False}, 60)
    assert hit("client", 60, ["list", "switch", "absent"]) == (
        1,
        60,
        {"list": {"e": [1, 2]}, "switch": False},
    )


def test_redis_limits_requests_through_the_api(redis_cache, api, monkeypatch):
    monkeypatch.setattr(ResilientUserRateThrottle, "rate", "2/min", raising=False)
    statuses = [api.get("/api/me/").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
