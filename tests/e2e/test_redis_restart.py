"""Redis stopped and started again under a running site (issue 6, "Faults").

A private `redis-server` on a free loopback port backs the Django cache, configured exactly
as settings.py configures it from REDIS_URL (key prefix, socket timeouts). With it up, the
recommendations API caches in it; killed, pages and the API answer from the database (every
read computes the person's lists from their history) and writes are stored, each request
quickly; frozen (SIGSTOP: it accepts nothing and answers
nothing), the socket timeouts bound every request; started again on the same port, the same
process caches and throttles in it again, with no restart.

Plays and ratings enqueue no Celery task (their receivers only touch the cache). Reviews,
privacy changes, exports and training runs do, from the request: a second test sends tasks
from a process configured for REDIS_URL while the same Redis is killed, restarted and frozen.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

import entertainment
from entertainment.activity.models import Play, Rating
from entertainment.cache import DEFAULT_DOWN_BACKOFF_S
from entertainment.throttling import ResilientUserRateThrottle
from recommender import lists, serving
from recommender.models import ModelVersion
from tests.conftest import api_token, free_port
from tests.factories import ItemFactory, PlayFactory, UserFactory
from tests.recommender.factories import ModelVersionFactory
from tests.recommender.serving_model import write_model

# transaction=True: on-commit hooks (the cache writes that follow a play or a rating: the
# person's new stamp) run as they do in production, against the Redis under test.
pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
# "A couple of seconds": a request that waits on a dead or frozen cache must not take longer.
QUICK_S = 2.0
# A task send to a Redis that hangs: two tries and a reconnection, a 1 s socket timeout each.
FROZEN_SEND_S = 4.0


class RedisServer:
    """One private redis-server that can be killed, frozen and started again on its port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def client(self) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except OSError:
                pass
            except Exception as exc:  # redis.ConnectionError is no OSError
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on {self.port}") from exc
            time.sleep(0.05)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=10)
        self.proc = None

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server on PATH")
    server = RedisServer(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def site_cache(redis_server: RedisServer, settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The cache settings.py builds for REDIS_URL pointing at the private server; its prefix."""
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("CACHE_KEY_PREFIX", "restart-test")
    # A fresh copy of the settings module, run under that environment (never registered).
    spec = importlib.util.spec_from_file_location(
        "entertainment._settings_with_redis", Path(entertainment.__file__).parent / "settings.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.CACHES
    assert built["default"]["BACKEND"] == "entertainment.cache.FailFastRedisCache"
    assert built["default"]["LOCATION"] == redis_server.url
    settings.CACHES = built
    return str(built["default"]["KEY_PREFIX"])


def _timed(call: Callable[[], Any]) -> Any:
    started = time.monotonic()
    response = call()
    took = time.monotonic() - started
    assert took < QUICK_S, f"took {took:.2f} s"
    return response


@pytest.fixture
def serving_model(settings: Any) -> Iterator[Any]:
    """A planted serving model (tests/recommender/serving_model.py) as the active version."""

    def activate(items: list[Any], **planted: Any) -> None:
        directory = Path(settings.MODEL_DIR) / "planted"
        write_model(directory, [i.pk for i in items], **planted)
        ModelVersionFactory(kind="sequence", status=ModelVersion.Status.ACTIVE, path=str(directory))
        serving.forget_active()

    serving.forget_active()
    yield activate
    serving.forget_active()


# What the cached list says once a test has marked it: an answer with it came from Redis.
FROM_REDIS = "from Redis"


def test_site_answers_without_redis_and_recovers_when_it_returns(
    redis_server: RedisServer,
    site_cache: str,
    client: Any,
    monkeypatch: pytest.MonkeyPatch,
    serving_model: Any,
) -> None:
    person = UserFactory()
    seed = ItemFactory(kind="film", title="Seed")
    films = [ItemFactory(kind="film", title=f"Film {n}") for n in range(3)]
    # The films' planted popularity orders the person's list, whatever they played last; their
    # plays below are of the seed again, so the list only changes when they rate a film.
    serving_model([seed, *films], popular=[f.pk for f in films])
    PlayFactory(user=person, item=seed)
    list_key = f"{site_cache}:1:{lists.cache_key(person.pk, 'film')}"
    throttle_key = f"{site_cache}:1:throttle_user_{person.pk}"
    server = redis_server.client()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token(person)}")
    client.force_login(person)
    listed = [f.pk for f in films]

    def recommended(from_redis: bool) -> list[int]:
        response = _timed(lambda: api.get("/api/recommendations/?kind=film"))
        assert response.status_code == 200, response.content
        results = response.json()["results"]
        reasons = {r["reason"] for r in results}
        if from_redis:
            assert reasons == {FROM_REDIS}
        else:  # computed now, from the database
            assert FROM_REDIS not in reasons and all(reasons)
        return [r["item"]["id"] for r in results]

    def mark_cached() -> None:
        """The cached list's reasons say where an answer came from: computed lists differ."""
        payload = cache.get(lists.cache_key(person.pk, "film"))
        assert isinstance(payload, dict) and payload["e"]
        payload["e"] = [{**entry, "reason": FROM_REDIS} for entry in payload["e"]]
        cache.set(lists.cache_key(person.pk, "film"), payload, lists.CACHE_TTL_S)

    def back_on_redis() -> None:
        """Within the backend's fail-fast pause of Redis's return, requests cache again."""
        deadline = time.monotonic() + DEFAULT_DOWN_BACKOFF_S + 1
        while not server.exists(list_key):
            assert time.monotonic() < deadline, "the list was not cached in Redis again"
            assert recommended(from_redis=False) == listed
            time.sleep(0.1)
        # The next request reads it from there.
        mark_cached()
        assert recommended(from_redis=True) == listed

    def pages_answer() -> None:
        for path in ("/", "/catalogue/films/", films[0].get_absolute_url()):
            response = _timed(lambda: client.get(path))  # noqa: B023
            assert response.status_code == 200, (path, response.status_code)

    def write(event: str) -> None:
        play = _timed(
            lambda: api.post(
                "/api/plays/",
                {"item": seed.pk, "seconds_played": 30, "client_event_id": f"play-{event}"},
                format="json",
            )
        )
        assert play.status_code == 201, play.content
        assert Play.objects.filter(user=person, client_event_id=f"play-{event}").exists()

    # Up: the first read computes the list and caches it in Redis; the next is answered from
    # there, and the throttle counts there.
    assert recommended(from_redis=False) == listed
    assert server.exists(list_key)
    mark_cached()
    assert recommended(from_redis=True) == listed
    assert server.exists(throttle_key)
    pages_answer()
    write("up")

    # Killed: every read computes from the database, every write is stored.
    redis_server.kill(signal.SIGKILL)
    assert recommended(from_redis=False) == listed
    pages_answer()
    write("killed")
    rating = _timed(
        lambda: api.post("/api/ratings/", {"item": films[1].pk, "value": "4.5"}, format="json")
    )
    assert rating.status_code == 201, rating.content
    assert Rating.objects.get(user=person, item=films[1]).value == Decimal("4.5")
    # The rated film leaves the list (computed from the database; the cache was unreachable).
    listed.remove(films[1].pk)
    assert recommended(from_redis=False) == listed

    # Started again on the same port: the same process uses it again.
    redis_server.start()
    server = redis_server.client()
    assert not server.exists(list_key)
    back_on_redis()
    assert server.exists(throttle_key), "the throttle counts in Redis again"
    pages_answer()
    write("back")

    # Frozen (SIGSTOP): connections are accepted by the kernel but nothing is answered; the
    # cache's socket timeouts keep every request short.
    redis_server.signal(signal.SIGSTOP)
    try:
        assert recommended(from_redis=False) == listed
        pages_answer()
        write("frozen")
    finally:
        redis_server.signal(signal.SIGCONT)

    # Thawed: back on Redis, and throttling works again (a small rate, counted from now).
    server.delete(list_key)
    back_on_redis()
    server.delete(throttle_key)
    monkeypatch.setattr(ResilientUserRateThrottle, "rate", "3/min", raising=False)
    statuses = [api.get("/api/recommendations/?kind=film").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


# A web process's sends, as configured for REDIS_URL: one line on stdin, one send, one answer.
SENDER = """
import json, sys, time
import django
django.setup()
from entertainment import queueing
from recommender.tasks import score_reviews
for line in sys.stdin:
    started = time.monotonic()
    sent = queueing.send(score_reviews, [1])
    print(json.dumps({"sent": sent, "took": time.monotonic() - started}), flush=True)
"""


def test_task_sends_fail_fast_while_redis_is_down_and_work_when_it_returns(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Reviews, privacy changes, exports and training runs send Celery tasks from the request:
    with Redis gone the send must fail (the callers cope) without holding the request."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        REDIS_URL=redis_server.url,
        ENCORE_VAR_DIR=str(tmp_path / "var"),
        DJANGO_SETTINGS_MODULE="entertainment.settings",
    )
    sender = subprocess.Popen(
        [sys.executable, "-c", SENDER], cwd=ROOT, env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert sender.stdin is not None and sender.stdout is not None
    queued = redis_server.client()

    def send() -> tuple[bool, float]:
        sender.stdin.write("send\n")
        sender.stdin.flush()
        line = sender.stdout.readline()
        assert line, "the sender died"
        answer = json.loads(line)
        return answer["sent"], answer["took"]

    try:
        assert send()[0]
        assert queued.llen("cpu") == 1

        redis_server.kill(signal.SIGKILL)
        for _ in range(2):
            sent, took = send()
            assert not sent and took < QUICK_S, took

        redis_server.start()
        queued = redis_server.client()
        sent, took = send()
        assert sent and took < QUICK_S, took
        assert queued.llen("cpu") == 1

        redis_server.signal(signal.SIGSTOP)
        try:
            for _ in range(2):
                sent, took = send()
                # A socket timeout per try (two tries, and a reconnection between them).
                assert not sent and took < FROZEN_SEND_S, took
        finally:
            redis_server.signal(signal.SIGCONT)
        assert send()[0]
    finally:
        sender.kill()
        sender.wait(timeout=10)
