"""PostgreSQL restarted under traffic (issue 6, "Faults").

The real site (gunicorn, two workers, DEBUG off, persistent connections) runs on a private
PostgreSQL cluster of its own: the shared server on :5432 carries the test run itself. Threads
post plays, each with its own client_event_id, while the cluster is stopped (`pg_ctl stop -m
fast`), left down for a few seconds and started again. Then:

- during the outage every answer is a quick, clean 503 with Retry-After (JSON under /api/, the
  503 page for pages), never a 500 or a hang;
- after the restart every request succeeds again, on the same gunicorn workers, and so after
  a restart nobody noticed (each worker's pooled connection died unused: CONN_HEALTH_CHECKS);
- every play answered 201 is in the database, and sending the others again with the same
  client_event_id stores each exactly once.

Marked `worker` so it runs in the PostgreSQL pass of `make test` only; it needs PostgreSQL 15's
binaries (initdb, pg_ctl) and, when run as root, `runuser` to run them as `postgres`.
"""

from __future__ import annotations

import itertools
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, stop_process

pytestmark = pytest.mark.worker

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SENDERS = 6
# "Not a hang": every answer, outage or not, comes within this long.
QUICK_S = 2.0
OUTAGE_S = 3.0
# Between one sender's requests: some hundred requests a second in all, refused ones included.
PACE_S = 0.03


class Cluster:
    """A throwaway PostgreSQL cluster on a free loopback port, run as the `postgres` user."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="encore-pg-"))
        self.base.chmod(0o755)  # the postgres user walks into it
        self.data, self.sockets = self.base / "data", self.base / "sockets"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root
            self._as_postgres = [shutil.which("runuser") or "runuser", "-u", "postgres", "--"]
            owner = pwd.getpwnam("postgres")
            for folder in (self.data, self.sockets):
                folder.mkdir()
                os.chown(folder, owner.pw_uid, owner.pw_gid)
        else:
            self.data.mkdir()
            self.sockets.mkdir()

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [*self._as_postgres, *args], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def init(self) -> None:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.sockets} "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run(str(PG_BIN / "pg_ctl"), "start", "-w", "-D", str(self.data),
                  "-l", str(self.sockets / "server.log"), "-o", options)  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "stop", "-w", "-m", mode, "-D", str(self.data))

    def remove(self) -> None:
        subprocess.run(
            [*self._as_postgres, str(PG_BIN / "pg_ctl"), "stop", "-m", "immediate",
             "-D", str(self.data)],
            capture_output=True, timeout=60,
        )  # fmt: skip
        shutil.rmtree(self.base, ignore_errors=True)

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        import psycopg

        with psycopg.connect(self.url, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    missing = [p.name for p in (PG_BIN / "initdb", PG_BIN / "pg_ctl") if not p.exists()]
    if missing:
        pytest.skip(f"needs PostgreSQL 15's {', '.join(missing)} in {PG_BIN}")
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root needs runuser to run initdb as postgres")
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root needs a postgres user to run initdb as")
    server = Cluster()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Message
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def _http(url: str, token: str | None = None, body: object = None) -> Reply:
    """GET, or POST `body` as JSON; an error status is a Reply too."""
    headers = {"Authorization": f"Token {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    assert url.startswith("http://127.0.0.1:")  # the site under test, nothing else
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=QUICK_S * 2) as response:  # noqa: S310
            return Reply(response.status, response.headers, response.read().decode())
    except urllib.error.HTTPError as error:
        with error:
            return Reply(error.code, error.headers, error.read().decode())


@dataclass(frozen=True)
class Site:
    url: str
    token: str
    item: int


def _site_environment(cluster: Cluster, var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(
        SECRET_KEY="restart-" + os.urandom(8).hex(),
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1",
        ENCORE_VAR_DIR=str(var_dir),
        STATIC_ROOT=str(var_dir / "static"),
        DATABASE_URL=cluster.url,
        # Persistent connections, as in production: the restart kills them all.
        DB_CONN_MAX_AGE="60",
        API_THROTTLE_USER="100000000/min",
        API_THROTTLE_ANON="100000000/min",
        DJANGO_SETTINGS_MODULE="entertainment.settings",
        OPENBLAS_NUM_THREADS="1",
        LOG_LEVEL="WARNING",
    )
    return env


SETUP = """
import json
from entertainment.accounts.models import User
from entertainment.accounts.tokens import issue_token
from entertainment.catalogue.models import Item
person = User.objects.create_user("restart", "restart@example.org")
item = Item.objects.create(kind="film", title="Restart", year=2001)
print(json.dumps({"token": issue_token(person)[1], "item": item.pk}))
"""


@pytest.fixture
def site(cluster: Cluster, tmp_path: Path) -> Iterator[Site]:
    env = _site_environment(cluster, tmp_path / "var")
    manage = [sys.executable, "manage.py"]
    # The hashed static manifest DEBUG-off pages need, collected while the schema migrates.
    static = subprocess.Popen(
        [*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    migrate = subprocess.run(
        [*manage, "migrate", "-v0"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    setup = subprocess.run(
        [*manage, "shell", "-c", SETUP], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert setup.returncode == 0, setup.stdout + setup.stderr
    made = json.loads(setup.stdout.strip().splitlines()[-1])
    assert static.wait(timeout=120) == 0, static.stdout.read() if static.stdout else ""

    port = free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "entertainment.wsgi", "-w", "2",
         "-b", f"127.0.0.1:{port}", "--timeout", "30", "--graceful-timeout", "5"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:  # from here on, a failure must not leave gunicorn running
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                if _http(f"{url}/healthz").status == 200:
                    break
            except OSError:  # not listening yet, or still starting
                pass
            assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
            time.sleep(0.2)
        yield Site(url, made["token"], made["item"])
    finally:
        stop_process(server, grace_s=15)
        log.close()


@dataclass(frozen=True)
class Answer:
    event: str
    started: float
    took: float
    status: int | None  # None: no HTTP answer at all
    content_type: str = ""
    retry_after: str | None = None
    body: str = ""


class Traffic:
    """Threads posting plays, each with a new client_event_id, until told to stop."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.answers: list[Answer] = []
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def post(self, event: str) -> Answer:
        started = time.monotonic()
        try:
            reply = _http(
                f"{self.site.url}/api/plays/",
                self.site.token,
                {"item": self.site.item, "seconds_played": 60, "client_event_id": event},
            )
        except OSError as exc:  # no HTTP answer: refused, reset or timed out
            return Answer(event, started, time.monotonic() - started, None, body=repr(exc))
        return Answer(
            event,
            started,
            time.monotonic() - started,
            reply.status,
            reply.headers.get("Content-Type", ""),
            reply.headers.get("Retry-After"),
            reply.text[:300],
        )

    def _send(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                event = f"restart-{next(self._ids)}"
            answer = self.post(event)
            with self._lock:
                self.answers.append(answer)
            time.sleep(PACE_S)

    def __enter__(self) -> Traffic:
        self._pool = ThreadPoolExecutor(SENDERS)
        self._futures = [self._pool.submit(self._send) for _ in range(SENDERS)]
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for future in self._futures:
            future.result(timeout=30)
        self._pool.shutdown()


def _is_clean_503(answer: Answer) -> bool:
    if answer.status != 503 or answer.retry_after != "5":
        return False
    if answer.content_type != "application/json":
        return False
    return set(json.loads(answer.body)) == {"detail"}


def test_requests_fail_cleanly_while_postgres_restarts_and_nothing_acknowledged_is_lost(
    cluster: Cluster, site: Site
) -> None:
    with Traffic(site) as traffic:
        time.sleep(1.5)
        stopping = time.monotonic()
        cluster.stop("fast")
        stopped = time.monotonic()
        time.sleep(OUTAGE_S / 2)
        # A page and the recommendations API, during the outage.
        page = _http(f"{site.url}/")
        api = _http(f"{site.url}/api/recommendations/", site.token)
        time.sleep(OUTAGE_S / 2)
        starting = time.monotonic()
        cluster.start()
        started = time.monotonic()
        time.sleep(3.0)
    answers = traffic.answers

    assert page.status == 503 and page.headers["Retry-After"] == "5"
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Back in a moment" in page.text
    assert api.status == 503 and api.headers["Retry-After"] == "5"
    assert api.headers["Content-Type"] == "application/json"
    assert set(api.json()) == {"detail"}

    # Every request answered, quickly, with a success or a clean 503.
    unanswered = [a for a in answers if a.status is None]
    assert not unanswered, unanswered[:5]
    slow = [a for a in answers if a.took >= QUICK_S]
    assert not slow, slow[:5]
    unclean = [a for a in answers if a.status != 201 and not _is_clean_503(a)]
    assert not unclean, unclean[:5]

    def during(start: float, end: float) -> list[Answer]:
        return [a for a in answers if a.started >= start and a.started + a.took <= end]

    before, outage, after = (
        during(0, stopping), during(stopped, starting), during(started, float("inf"))
    )  # fmt: skip
    assert len(before) > 20 and len(outage) > 20 and len(after) > 20
    assert {a.status for a in before} == {201}
    assert {a.status for a in outage} == {503}
    assert {a.status for a in after} == {201}, "every request succeeds after the restart"

    # Every acknowledged play is stored, once.
    def stored() -> dict[str, int]:
        rows = cluster.query(
            "SELECT client_event_id, count(*) FROM activity_play"
            " WHERE client_event_id LIKE 'restart-%%' GROUP BY client_event_id"
        )
        return {str(event): int(str(n)) for event, n in rows}

    acknowledged = {a.event for a in answers if a.status == 201}
    rows = stored()
    assert acknowledged <= set(rows)
    assert set(rows.values()) == {1}

    # Sent again with the same client_event_id, every other play is stored exactly once.
    refused = [a.event for a in answers if a.status != 201]
    assert refused
    with ThreadPoolExecutor(SENDERS) as pool:
        again = list(pool.map(traffic.post, refused))
    assert {a.status for a in again} <= {200, 201}, [a for a in again if a.status not in (200, 201)]
    # 200: stored by the refused request after all (its transaction committed, its answer not).
    assert {a.event for a in again if a.status == 201} == set(refused) - set(rows)
    rows = stored()
    assert set(rows) == {a.event for a in answers}
    assert set(rows.values()) == {1}

    # Restarted while nobody asked: each worker's pooled connection is dead without having
    # failed a request. The health check replaces it before use: no request fails.
    cluster.stop("fast")
    cluster.start()
    with ThreadPoolExecutor(SENDERS) as pool:
        quiet = list(pool.map(traffic.post, [f"restart-quiet-{n}" for n in range(4 * SENDERS)]))
    assert [a for a in quiet if a.status != 201] == []
