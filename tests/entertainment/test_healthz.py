"""`/healthz` as a probe and a self-hoster read it: every part, 503 only when it cannot serve."""

from __future__ import annotations

import time
import uuid

import pytest

from entertainment import health
from tests.conftest import wait_for
from tests.recommender.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


def test_every_part_is_reported(client):
    ModelVersionFactory(kind="sentiment", status="active")
    body = client.get("/healthz").json()
    assert body["database"]["ok"] is True
    assert body["cache"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert body["models"]["active"] == {
        "sequence": None,
        "sentiment": "sentiment-v1",
        "artwork": None,
    }
    # No worker has answered a heartbeat in this test: the site serves, degraded.
    assert body["worker_cpu"]["ok"] is False
    assert body["status"] == "degraded"


def test_a_worker_seen_lately_counts_and_one_seen_long_ago_does_not(client, settings):
    settings.HEALTH_WORKER_SEEN_WITHIN_S = 300
    health.worker_heartbeat("cpu")
    health.worker_heartbeat("gpu")
    body = client.get("/healthz").json()
    assert body["worker_cpu"]["ok"] is True
    assert body["status"] == "ok"

    from django.core.cache import cache

    cache.set("health:worker-seen:gpu", time.time() - 600, timeout=None)
    body = client.get("/healthz").json()
    assert body["worker_gpu"]["ok"] is False
    assert "600" in body["worker_gpu"]["error"] or "300" in body["worker_gpu"]["error"]
    assert body["status"] == "degraded"


def test_a_cache_that_fails_is_named_and_the_site_still_serves(client, monkeypatch):
    class Down:
        def set(self, *args, **kwargs):
            raise ConnectionError("cache down")

        get = set

    monkeypatch.setattr(health, "cache", Down())
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["cache"] == {"ok": False, "error": "ConnectionError: cache down"}
    assert response.json()["status"] == "degraded"


@pytest.fixture
def shared_cache(settings) -> str:
    """The production Redis cache under a prefix the worker process is given too."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (set REDIS_URL)")
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "entertainment.cache.FailFastRedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    return prefix


@pytest.fixture
def worker_env(shared_cache) -> dict[str, str]:
    return {"CACHE_KEY_PREFIX": shared_cache}


@pytest.mark.worker
def test_the_heartbeat_through_a_real_worker_marks_its_queues_seen(client, celery_worker_process):
    for queue in health.QUEUES:
        health.worker_heartbeat.apply_async(args=(queue,), queue=queue)

    def seen() -> dict | None:
        body = client.get("/healthz").json()
        return body if body["worker_cpu"]["ok"] and body["worker_gpu"]["ok"] else None

    body = wait_for(seen, 30, "both queues' heartbeats")
    assert body["broker"]["ok"] is True
    assert body["status"] == "ok"
