"""Fixtures shared by the whole suite: people, API clients, a real Celery worker, and the
helpers of tests that run other processes (waiting for them, stopping them, a free port)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from recommender.models import TrainingRun
from tests.factories import StaffFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent

T = TypeVar("T")


def wait_for(predicate: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll `predicate` until it returns something true, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def waiting_on_a_lock() -> bool:
    """Whether a session of the test database waits for a lock (PostgreSQL): the second actor
    of a race has gone as far as it can while the first holds its transaction open."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def finished_run(run_id: int, timeout: float = 300) -> TrainingRun:
    """The training run once a worker has ended it (succeeded, failed or skipped)."""

    def done() -> TrainingRun | None:
        run = TrainingRun.objects.get(pk=run_id)
        return run if run.status not in TrainingRun.LIVE else None

    return wait_for(done, timeout, f"training run {run_id}")


def api_token(user) -> str:
    """A new API token for `user`: its key, which exists only here (the database keeps a hash).

    Every test and benchmark that needs a token gets it this way, as a client would."""
    from entertainment.accounts.tokens import issue_token

    return issue_token(user)[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def api(user) -> APIClient:
    """An API client logged in as `user`."""
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def anon_api() -> APIClient:
    return APIClient()


@pytest.fixture(autouse=True)
def _isolated_storage(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MODEL_DIR = tmp_path / "models"
    settings.SNAPSHOT_DIR = tmp_path / "snapshots"
    settings.EXPORT_ROOT = tmp_path / "exports"
    # Pages render lists read from the cache: a cache shared with other tests (or other runs
    # on this machine) would show their items, whose ids this test's database reuses.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": str(tmp_path),
        }
    }
    # The hashed-manifest storage needs `collectstatic`; pages in tests use the plain one.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _test_database_url() -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip(
            "worker tests need PostgreSQL (set DATABASE_URL): SQLite test DBs are per process"
        )
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def start_worker(
    extra_env: dict[str, str] | None = None, name: str = "test"
) -> subprocess.Popen[bytes]:
    """Start a real `celery worker` process (both queues) on the test database and Redis,
    and wait until it answers a ping."""
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "MODEL_DIR": str(settings.MODEL_DIR),
        "SNAPSHOT_DIR": str(settings.SNAPSHOT_DIR),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "EXPORT_ROOT": str(settings.EXPORT_ROOT),
        **(extra_env or {}),
    }
    from entertainment.celery import app

    node = f"{name}-{os.getpid()}-{time.monotonic_ns()}@%h"
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "entertainment", "worker", "-Q", "cpu,gpu",
         "--pool=solo", "--loglevel=INFO", "--without-heartbeat", "--without-gossip",
         "--without-mingle", "-n", node],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("celery worker exited during start-up")
        if app.control.ping(timeout=1.0):
            return proc
    proc.kill()
    raise RuntimeError("celery worker did not answer a ping within 60 s")


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = 30) -> None:
    """SIGTERM, and SIGKILL if it is still running after `grace_s`."""
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def worker_env() -> dict[str, str]:
    """Extra environment for the worker process; a test module may override this fixture."""
    return {}


@pytest.fixture
def celery_worker_process(transactional_db, worker_env) -> Iterator[subprocess.Popen[bytes]]:
    """A real `celery worker` process on the test database and a real Redis broker.

    Tests using it must use committed data (transactional_db), since the worker is another
    process with its own connection.
    """
    if not settings.REDIS_URL:
        pytest.skip("worker tests need Redis (set REDIS_URL)")
    from entertainment.celery import app

    app.control.purge()
    proc = start_worker(worker_env)
    yield proc
    stop_process(proc)


@pytest.fixture
def wsgi_app(settings) -> Iterator[object]:
    """The site's WSGI application, for clients that call it directly (schemathesis).

    Like Django's own test client, requests must not close the database connection at their
    end: on PostgreSQL that would end the test's transaction (and its data) mid-test.
    """
    from django.core import signals
    from django.db import close_old_connections

    from entertainment.wsgi import application

    settings.ALLOWED_HOSTS = ["localhost"]  # the host schemathesis's WSGI client calls
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def redis_cache(settings):
    """The production cache (Redis, failing fast), under a key prefix of this test's own."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (set REDIS_URL)")
    settings.CACHES = {
        "default": {
            "BACKEND": "entertainment.cache.FailFastRedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    }
