"""Lists that follow events, under gunicorn: event to changed list, computed vs cached, memory.

From a play to the changed list, lists computed on a read beside cached ones and /api/me/, and
what the loaded model costs each gunicorn worker's memory, at several catalogue sizes:

    .venv/bin/python bench/realtime.py [--sizes 10000,100000] [--people 300] [--history 30]
        [--requests 300] [--events 200] [--connections 32] [--think-ms 200] [--workers 2]
        [--threads 4] [--redis-db 8] [--pg-db encore_bench_realtime]

The production shape (bench/scratch.py): PostgreSQL (a database created and dropped here), Redis
(one db number, flushed before and after), gunicorn as bench/loadgen.py starts it (DEBUG off,
OPENBLAS_NUM_THREADS=1). For each catalogue size of --sizes, smallest first (1,000,000 needs
about 2 GB of disk under the temporary directory for the model): items 1..N in the database, a
synthetic model of N items (bench/synthetic_model.py; with its ANN index from
ml.ranking.EXACT_BELOW items on, where the Ranker ranks in two stages) registered as the active
sequence version, --people people with tokens and a history of --history plays drawn from the
model's clusters, and a fresh gunicorn. Then, in that gunicorn:

1. memory before: each worker's VmRSS and Pss (/proc/<pid>/smaps_rollup) once the workers have
   answered /api/me/, before any list is computed (the model is not loaded: checked).
2. computed vs cached vs /api/me/: one client, requests one after another, each on a new
   connection (as behind a proxy), --requests of each, interleaved: GET /api/recommendations/
   after the person's stamp was replaced (recommender.lists.touch from this process, before
   the request and outside its time, as an event does: the read must compute the lists), the
   same GET again (now cached), and /api/me/. Warm-up reads that compute go first, until every
   worker has mapped the model's files (their slowest is the model's loading). Targets:
   computed p99 <= 25 ms up to 100k items, <= 50 ms at 1M; cached like /api/me/.
3. memory after: each worker's again, after those reads. Target: <= 1 GiB at 1M items.
   The model's arrays are memory-mapped: RSS counts the pages of them a worker has mapped
   (clean page cache, one copy shared by every worker, and the kernel maps whole page-cache
   folios around each page read, so it runs ahead of what the reads need); Pss splits those
   pages among the workers; anon is each worker's own.
4. event to changed list: with the paced load of bench/api_recommendations.py running (wrk,
   --connections clients each pausing --think-ms on average, exponential, GET
   /api/recommendations/ for random people, a new connection each), a test person --events
   times reads their list, POSTs a play of its first item to /api/plays/ and reads the list
   again until it differs: the time from sending the POST to the first changed answer, beside
   the POST alone and the read of the list before it (cached), under the same load.
   Target: p99 <= 1 s.

Needs wrk (`make wrk`). The machine is shared: the figures are noisy.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import loadgen
import numpy as np
import scratch

KINDS = ("film", "music", "game")
RECOMMENDATIONS = "/api/recommendations/?n=10"
ME = "/api/me/"
MIB = 1024.0  # kB in a MiB
MEMORY_TARGET_MIB = 1024.0
EVENT_TARGET_MS = 1000.0


def computed_target_ms(n_items: int) -> float:
    return 25.0 if n_items <= 100_000 else 50.0


# -- the world -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    pk: int
    token: str


def setup_site() -> None:
    """Django set up on the scratch site, its database migrated."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def people(n_people: int) -> tuple[list[Person], Person]:
    """People with tokens and privacy settings (as anyone has them after their first read),
    and one more: the events' test person."""
    from entertainment.accounts.models import PrivacySettings, User
    from entertainment.accounts.tokens import issue_tokens

    users = User.objects.bulk_create(User(username=f"bench{n}") for n in range(n_people + 1))
    PrivacySettings.objects.bulk_create(PrivacySettings(user=u) for u in users)
    everyone = [Person(u.pk, key) for u, key in zip(users, issue_tokens(users), strict=True)]
    return everyone[:-1], everyone[-1]


def catalogue(n_items: int) -> None:
    """Items 1..n_items in the database (the synthetic model's ids), the kinds in turn; those of
    a smaller size before are kept. One INSERT .. SELECT over generate_series: a million items
    in seconds (bulk_create takes minutes); every other column as a new Item would have it."""
    from django.db import connection
    from django.db.models import Max

    from entertainment.catalogue.models import Item

    have = Item.objects.aggregate(top=Max("pk"))["top"] or 0
    if have >= n_items:
        return
    kinds = "ARRAY[" + ", ".join(f"'{k}'" for k in KINDS) + "]"
    computed = {
        "kind": f"({kinds})[g %% 3 + 1]",
        "title": f"initcap(({kinds})[g %% 3 + 1]) || ' number ' || g",
        "year": "1970 + g %% 50",
    }
    template = Item(kind=KINDS[0], title="")
    columns, expressions, params = [], [], []
    for f in Item._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(connection.ops.quote_name(f.column))
        if f.attname in computed:
            expressions.append(computed[f.attname])
        else:
            expressions.append("%s")
            params.append(f.get_db_prep_save(f.pre_save(template, True), connection))
    table = connection.ops.quote_name(Item._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, {', '.join(columns)}) "
            f"SELECT g, {', '.join(expressions)} FROM generate_series(%s, %s) AS g",
            [*params, have + 1, n_items],
        )
        cursor.execute(f"ANALYZE {table}")


def histories(everyone: list[Person], n_items: int, length: int) -> int:
    """Everyone's plays replaced by a history drawn from this size's model; returns the count."""
    import synthetic_model
    from django.db import connection

    from entertainment.activity.models import Play

    Play.objects.all().delete()
    draw = np.random.default_rng(n_items)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows = [
        Play(user_id=person.pk, item_id=int(item), started_at=start + timedelta(hours=n))
        for person in everyone
        for n, item in enumerate(synthetic_model.history(draw, n_items, length))
    ]
    Play.objects.bulk_create(rows, batch_size=5000)
    # As autovacuum would soon: a fresh table without statistics is scanned whole.
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Play._meta.db_table}")
    return len(rows)


def activate(model_dir: Path) -> str:
    """The model directory as the active sequence version (the one before retired)."""
    from recommender.models import ModelVersion

    ModelVersion.objects.filter(kind="sequence", status=ModelVersion.Status.ACTIVE).update(
        status=ModelVersion.Status.RETIRED
    )
    version = ModelVersion.objects.create(
        kind="sequence", status=ModelVersion.Status.ACTIVE, path=str(model_dir),
        main_metric="ndcg@10",
    )  # fmt: skip
    return version.label


def touch(user_id: int) -> None:
    """The person's stamp replaced, as after their event: their next read computes."""
    from recommender import lists

    lists.touch([user_id])


def disk_mib(directory: Path) -> float:
    return sum(f.stat().st_size for f in directory.rglob("*") if f.is_file()) / 2**20


# -- processes -------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # The name, in parentheses, may hold spaces: the fields after it are plain.
        if int(text.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def gunicorn_workers(base: str, workers: int, timeout: float = 60.0) -> list[int]:
    """The worker processes of the gunicorn this process started on `base`'s port."""
    port = urlsplit(base).port
    deadline = time.monotonic() + timeout
    while True:
        masters = [
            pid
            for pid in _children(os.getpid())
            if "gunicorn" in _cmdline(pid) and f"127.0.0.1:{port}" in _cmdline(pid)
        ]
        found = _children(masters[0]) if masters else []
        if len(found) >= workers:
            return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn on port {port}: workers {found}")
        time.sleep(0.2)


def memory(pid: int) -> dict[str, float]:
    """kB: VmRSS, RssAnon, RssFile, VmHWM (/proc/<pid>/status) and Pss (smaps_rollup)."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[name] = float(value.split()[0])
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            out["Pss"] = float(line.split()[1])
    return out


def maps(pid: int, directory: Path) -> bool:
    """Whether the process has mapped a file of `directory` (the model is loaded in it)."""
    return str(directory) in Path(f"/proc/{pid}/maps").read_text()


# -- requests --------------------------------------------------------------------------------


class Client:
    """One client's requests, each on a new connection (as a proxy sends them)."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80

    def send(
        self, method: str, path: str, token: str, body: dict[str, Any] | None = None
    ) -> tuple[float, int, bytes]:
        """(milliseconds from sending to the whole answer read, status, body)."""
        headers = {"Authorization": f"Token {token}", "Connection": "close"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            start = time.perf_counter()
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            took = (time.perf_counter() - start) * 1000.0
        finally:
            connection.close()
        return took, response.status, payload

    def get(self, path: str, token: str) -> tuple[float, int, bytes]:
        return self.send("GET", path, token)


@dataclass
class Timings:
    ms: list[float] = field(default_factory=list)
    errors: int = 0

    def add(self, ms: float, ok: bool) -> None:
        self.ms.append(ms)
        self.errors += not ok

    def p(self, q: float) -> float:
        return float(np.percentile(self.ms, q)) if self.ms else float("nan")

    def row(self, label: str) -> str:
        top = max(self.ms) if self.ms else float("nan")
        return (
            f"{label:<52}{len(self.ms):>6}{self.p(50):>9.1f}{self.p(99):>9.1f}{top:>9.1f}"
            f"{self.errors:>8}"
        )


HEADER = f"{'':<52}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}"


def _ids(payload: bytes) -> list[int]:
    return [int(r["item"]["id"]) for r in json.loads(payload)["results"]]


def _personal(payload: bytes, label: str) -> bool:
    answer = json.loads(payload)
    return bool(answer["personalised"]) and answer["model_version"] == label


# -- the measurements ------------------------------------------------------------------------


@dataclass
class SizeResult:
    n_items: int
    computed: Timings
    cached: Timings
    me: Timings
    event: Timings
    post: Timings
    before: Timings
    worker_mib: list[float]
    worker_anon_mib: list[float]
    background: loadgen.Result | None


def warm_up(
    client: Client, crowd: list[Person], workers: list[int], model_dir: Path, label: str
) -> tuple[int, float]:
    """Reads that compute, until every worker has loaded the model: (reads, slowest ms)."""
    slowest, n = 0.0, 0
    while not all(maps(pid, model_dir) for pid in workers):
        if n >= 200:
            print(f"  warning: after {n} reads, not every worker has loaded the model")
            break
        person = crowd[n % len(crowd)]
        touch(person.pk)
        ms, status, payload = client.get(RECOMMENDATIONS, person.token)
        if status != 200 or not _personal(payload, label):
            raise RuntimeError(f"warm-up read answered {status}: {payload[:300]!r}")
        slowest, n = max(slowest, ms), n + 1
    return n, slowest


def sequential(
    client: Client, crowd: list[Person], requests: int, label: str
) -> tuple[Timings, Timings, Timings]:
    """Computed, cached and /api/me/ reads, interleaved, one at a time."""
    computed, cached, me = Timings(), Timings(), Timings()
    for n in range(requests):
        person = crowd[n % len(crowd)]
        touch(person.pk)  # not timed: what an event does before the read
        ms, status, payload = client.get(RECOMMENDATIONS, person.token)
        computed.add(ms, status == 200 and _personal(payload, label))
        ms, status, payload = client.get(RECOMMENDATIONS, person.token)
        cached.add(ms, status == 200 and _personal(payload, label))
        ms, status, _ = client.get(ME, person.token)
        me.add(ms, status == 200)
    return computed, cached, me


@contextmanager
def background_load(
    base: str, headers: Path, connections: int, think_ms: int
) -> Iterator[Callable[[], loadgen.Result | None]]:
    """wrk's paced load running (api_recommendations.py's) until the block ends; yields a
    function that answers its figures once it has stopped (None if it failed)."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["wrk"] = loadgen.wrk(
                base, [RECOMMENDATIONS], headers, connections=connections, duration=3600,
                think_ms=think_ms, keep_alive=False,
            )  # fmt: skip
        except Exception as exc:  # reported by the caller
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    wrk_pids: list[int] = []
    while not wrk_pids and time.monotonic() < deadline:
        wrk_pids = [p for p in _children(os.getpid()) if _cmdline(p).startswith("wrk ")]
        time.sleep(0.05)
    if not wrk_pids:
        raise RuntimeError("wrk did not start")
    try:
        yield lambda: result.get("wrk")
    finally:
        # wrk stops on SIGINT and prints its figures for the time it ran.
        for pid in wrk_pids:
            os.kill(pid, signal.SIGINT)
        thread.join(timeout=60)
        if "error" in result:
            print(f"  background load failed: {result['error']}")


def events(
    client: Client, person: Person, n_events: int, rng: random.Random
) -> tuple[Timings, Timings, Timings, int]:
    """The test person's plays, each of the first item of their list: (POST to changed list,
    POST alone, read before, events whose first read after the POST had changed)."""
    event, post, before = Timings(), Timings(), Timings()
    first_changed = 0
    ms, status, payload = client.get(RECOMMENDATIONS, person.token)  # computed: not counted
    for _ in range(n_events):
        ms, status, payload = client.get(RECOMMENDATIONS, person.token)
        before.add(ms, status == 200)
        old = _ids(payload)
        start = time.perf_counter()
        ms, status, _ = client.send("POST", "/api/plays/", person.token, {"item": old[0]})
        post.add(ms, status == 201)
        reads = 0
        while True:
            _, status, payload = client.get(RECOMMENDATIONS, person.token)
            reads += 1
            if status == 200 and _ids(payload) != old:
                break
            if time.perf_counter() - start > 30:
                raise RuntimeError("the list did not change within 30 s of the play")
        event.add((time.perf_counter() - start) * 1000.0, True)
        first_changed += reads == 1
        time.sleep(rng.expovariate(1 / 0.05))  # a pause, so events don't queue on each other
    return event, post, before, first_changed


def mib(kb: float) -> str:
    return f"{kb / MIB:>8.0f}"


def measure_size(
    n_items: int, args: argparse.Namespace, env: dict[str, str], var_dir: Path,
    crowd: list[Person], tester: Person, headers: Path,
) -> SizeResult:  # fmt: skip
    import synthetic_model
    from django.db import connections

    from ml.ranking import EXACT_BELOW

    print(f"\n=== {n_items:,} items ===")
    started = time.perf_counter()
    catalogue(n_items)
    took_items = time.perf_counter() - started
    model_dir = var_dir / f"model-{n_items}"
    started = time.perf_counter()
    two_stage = n_items >= EXACT_BELOW
    synthetic_model.write_model(model_dir, n_items, index=two_stage)
    took_model = time.perf_counter() - started
    started = time.perf_counter()
    plays = histories([*crowd, tester], n_items, args.history)
    took_plays = time.perf_counter() - started
    label = activate(model_dir)
    connections.close_all()
    print(f"catalogue {took_items:.1f} s; model {took_model:.1f} s "
          f"({disk_mib(model_dir):,.0f} MiB on disk, "
          f"{'two-stage ranking with its ANN index' if two_stage else 'exact ranking'}); "
          f"{plays:,} plays of {len(crowd) + 1} people {took_plays:.1f} s; "
          f"active {label}")  # fmt: skip

    with loadgen.gunicorn(env, args.workers, args.threads, sys.executable) as base:
        client = Client(base)
        loadgen.wait_up(base + ME, f"Authorization: Token {crowd[0].token}")
        workers = gunicorn_workers(base, args.workers)
        for n in range(10 * args.workers):  # every worker past its first request
            client.get(ME, crowd[n % len(crowd)].token)
        if any(maps(pid, model_dir) for pid in workers):
            print("  warning: a worker had loaded the model before any list was read")
        before_mem = {pid: memory(pid) for pid in workers}
        reads, slowest = warm_up(client, crowd, workers, model_dir, label)
        print(f"gunicorn: {args.workers} workers x {args.threads} threads; every worker loaded "
              f"the model within {reads} reads (slowest {slowest:.0f} ms)")  # fmt: skip

        computed, cached, me = sequential(client, crowd, args.requests, label)
        after_mem = {pid: memory(pid) for pid in workers}
        target = computed_target_ms(n_items)
        print("\ncomputed vs cached vs /api/me/: one client, one request at a time, "
              "interleaved, a new connection each")  # fmt: skip
        print(HEADER)
        print(computed.row(f"{RECOMMENDATIONS}, computed (stamp replaced)"))
        print(cached.row(f"{RECOMMENDATIONS}, cached"))
        print(me.row(f"{ME} (baseline)"))
        print(f"computed p99 {computed.p(99):.1f} ms (target <= {target:.0f}: "
              f"{'met' if computed.p(99) <= target else 'NOT met'}); cached p99 "
              f"{cached.p(99):.1f} ms beside /api/me/'s {me.p(99):.1f} ms")  # fmt: skip

        print(f"\nmemory of each worker, MiB: before = after answering {ME}, model not loaded; "
              f"after = after the computed reads")  # fmt: skip
        print(f"{'worker':<10}{'RSS before':>11}{'Pss before':>11}{'RSS after':>10}"
              f"{'(anon':>8}{'file)':>8}{'Pss after':>10}{'peak':>8}{'growth':>8}")  # fmt: skip
        for pid in workers:
            b, a = before_mem[pid], after_mem[pid]
            print(f"{pid:<10}{mib(b['VmRSS']):>11}{mib(b['Pss']):>11}{mib(a['VmRSS']):>10}"
                  f"{mib(a['RssAnon'])}{mib(a['RssFile'])}{mib(a['Pss']):>10}"
                  f"{mib(a['VmHWM'])}{mib(a['VmRSS'] - b['VmRSS'])}")  # fmt: skip
        worst = max(a["VmRSS"] for a in after_mem.values()) / MIB
        print(f"largest worker RSS {worst:.0f} MiB (target <= {MEMORY_TARGET_MIB:.0f}: "
              f"{'met' if worst <= MEMORY_TARGET_MIB else 'NOT met'})")  # fmt: skip

        rng = random.Random(n_items)
        with background_load(base, headers, args.connections, args.think_ms) as load:
            time.sleep(args.ramp)  # the crowd's first reads compute their lists
            event, post, before, first = events(client, tester, args.events, rng)
        background = load()
        print(f"\nevent to changed list: {args.events} plays by one person, under the "
              f"paced load of {args.connections} clients pausing {args.think_ms} ms on "
              f"average")  # fmt: skip
        print(HEADER)
        print(event.row("POST /api/plays/ to the first changed list"))
        print(post.row("  the POST alone (baseline)"))
        print(before.row(f"{RECOMMENDATIONS} before the play (cached)"))
        if background is not None:
            print(f"{'background load: ' + RECOMMENDATIONS:<52}{background.requests:>6}"
                  f"{background.p50:>9.1f}{background.p99:>9.1f}{'':>9}{background.errors:>8}  "
                  f"({background.rps:.0f} req/s)")  # fmt: skip
        print(f"the first read after the POST had changed in {first} of {args.events} events; "
              f"event to changed list p99 {event.p(99):.0f} ms (target <= {EVENT_TARGET_MS:.0f}: "
              f"{'met' if event.p(99) <= EVENT_TARGET_MS else 'NOT met'})")  # fmt: skip
    shutil.rmtree(model_dir, ignore_errors=True)
    return SizeResult(
        n_items, computed, cached, me, event, post, before,
        [a["VmRSS"] / MIB for a in after_mem.values()],
        [a["RssAnon"] / MIB for a in after_mem.values()], background,
    )  # fmt: skip


def summary(results: list[SizeResult]) -> None:
    print(f"\nsummary{'':<37}" + "".join(f"{r.n_items:>12,}" for r in results))
    rows: list[tuple[str, Callable[[SizeResult], float]]] = [
        ("computed p50 ms", lambda r: r.computed.p(50)),
        ("computed p99 ms (<= 25 to 100k, <= 50 at 1M)", lambda r: r.computed.p(99)),
        ("cached p99 ms", lambda r: r.cached.p(99)),
        ("/api/me/ p99 ms (baseline)", lambda r: r.me.p(99)),
        ("event to changed list p50 ms", lambda r: r.event.p(50)),
        ("event to changed list p99 ms (<= 1000)", lambda r: r.event.p(99)),
        ("  POST alone p99 ms (baseline)", lambda r: r.post.p(99)),
        ("largest worker RSS MiB (<= 1024)", lambda r: max(r.worker_mib)),
        ("  largest worker anon MiB (its own)", lambda r: max(r.worker_anon_mib)),
    ]
    for label, value in rows:
        print(f"{label:<44}" + "".join(f"{value(r):>12.1f}" for r in results))
    errors = sum(
        t.errors for r in results for t in (r.computed, r.cached, r.me, r.event, r.post, r.before)
    ) + sum(r.background.errors for r in results if r.background is not None)
    print(f"errors in all runs: {errors}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="catalogue sizes, comma-separated")
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--history", type=int, default=30, help="plays per person")
    parser.add_argument("--requests", type=int, default=300, help="sequential reads of each")
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--think-ms", type=int, default=200, help="background clients' pauses")
    parser.add_argument("--ramp", type=float, default=3.0, help="seconds of load before events")
    loadgen.add_load_options(parser)
    parser.add_argument("--redis-db", type=int, default=8)
    parser.add_argument("--pg-db", default="encore_bench_realtime")
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s})
    if not loadgen.ready():
        return 2
    need_gib = 2.5 * max(sizes) / 1e6
    free_gib = shutil.disk_usage(tempfile.gettempdir()).free / 2**30
    if free_gib < need_gib:
        print(f"{free_gib:.1f} GiB free under {tempfile.gettempdir()}, the largest model needs "
              f"about {need_gib:.1f}", file=sys.stderr)  # fmt: skip
        return 2

    with scratch.site("realtime", args.redis_db, args.pg_db) as (env, var_dir):
        setup_site()
        crowd, tester = people(args.people)
        headers = loadgen.header_file(
            var_dir, "tokens", [f"Authorization: Token {p.token}" for p in crowd]
        )
        print(f"PostgreSQL + Redis db {args.redis_db}; {len(crowd)} people and a test person, "
              f"{args.history} plays each (drawn again for each size)")  # fmt: skip
        results = [measure_size(n, args, env, var_dir, crowd, tester, headers) for n in sizes]
        summary(results)
        print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
