"""The fail-fast Redis cache backend: after a failure, calls fail at once for a moment."""

from __future__ import annotations

import time

import pytest
import redis

from entertainment.cache import CacheDown, FailFastRedisCache


@pytest.fixture(autouse=True)
def _fresh_state(monkeypatch):
    # What this module learns about its dead ports stays here.
    monkeypatch.setattr("entertainment.cache._down_until", {})


def _cache(location: str, backoff_s: float) -> FailFastRedisCache:
    return FailFastRedisCache(
        location,
        {"OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2,
                     "down_backoff_s": backoff_s}},
    )  # fmt: skip


def test_a_failure_makes_the_next_calls_fail_at_once_then_redis_is_tried_again(monkeypatch):
    cache = _cache("redis://127.0.0.1:1/0", backoff_s=0.3)  # nothing listens on port 1
    tried = []
    real_get_client = type(cache._cache).get_client

    def get_client(self, *args, **kwargs):
        tried.append(1)
        return real_get_client(self, *args, **kwargs)

    monkeypatch.setattr(type(cache._cache), "get_client", get_client)
    with pytest.raises(redis.ConnectionError) as first:
        cache.get("k")
    assert not isinstance(first.value, CacheDown)
    for call in (lambda: cache.get("k"), lambda: cache.set("k", 1), lambda: cache.get_many(["k"])):
        with pytest.raises(CacheDown):
            call()
    assert len(tried) == 1, "no network call while Redis is considered down"
    time.sleep(0.35)
    with pytest.raises(redis.ConnectionError) as again:
        cache.get("k")
    assert not isinstance(again.value, CacheDown)
    assert len(tried) == 2


def test_servers_are_tracked_apart():
    down = _cache("redis://127.0.0.1:1/0", backoff_s=60)
    other = _cache("redis://127.0.0.1:2/0", backoff_s=60)
    with pytest.raises(redis.ConnectionError):
        down.get("k")
    with pytest.raises(CacheDown):
        down.get("k")
    with pytest.raises(redis.ConnectionError) as error:
        other.get("k")
    assert not isinstance(error.value, CacheDown)
