"""GET /api/recommendations/ under gunicorn, beside a trivial authenticated endpoint (/api/me/).

    .venv/bin/python bench/api_recommendations.py [--people 300] [--duration 30] [--connections 32]
        [--workers 2] [--threads 4] [--sqlite] [--redis-db 5] [--pg-db encore_bench_api]

The production shape: PostgreSQL (a database this script creates and drops) and Redis (one db
number, flushed before and after), gunicorn on a free loopback port with DEBUG off. A few hundred
people with tokens and a stored list per kind (recommender.lists.store, as refresh writes them);
then `wrk` loads each endpoint in turn for the same time at the same concurrency, every request
from a random person. Prints requests/s, p50, p99 and errors for both, and the ratio.

Needs wrk (Debian/Ubuntu: `apt-get install -y wrk`). Targets (issue 4): recommendations throughput
at least 80% of /api/me/'s, p99 under 25 ms at 32 clients, no errors.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
KINDS = ("film", "music", "game")

LUA = """
tokens = {}
for line in io.lines("%(tokens)s") do tokens[#tokens + 1] = line end
math.randomseed(os.time())
request = function()
  local key = tokens[math.random(#tokens)]
  return wrk.format("GET", "%(path)s", {["Authorization"] = "Token " .. key})
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(args: argparse.Namespace, var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        SECRET_KEY="bench-" + os.urandom(8).hex(),
        DEBUG="false",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1",
        ENCORE_VAR_DIR=str(var_dir),
        API_THROTTLE_USER="100000000/min",
        API_THROTTLE_ANON="100000000/min",
        DJANGO_SETTINGS_MODULE="entertainment.settings",
        # One request at a time per worker thread: multi-threaded BLAS only contends.
        OPENBLAS_NUM_THREADS="1",
        REDIS_URL=f"redis://127.0.0.1:6379/{args.redis_db}",
    )
    env["DATABASE_URL"] = (
        f"sqlite:///{var_dir / 'bench.sqlite3'}" if args.sqlite else f"{PG_SERVER}/{args.pg_db}"
    )
    return env


def seed(n_people: int, items_per_kind: int, per_kind: int) -> list[str]:
    """People with tokens and stored lists; returns their token keys."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from entertainment.accounts.models import User
    from entertainment.catalogue.models import Genre, Item
    from recommender import lists

    call_command("migrate", verbosity=0)
    rng = random.Random(0)
    genres = {
        kind: Genre.objects.bulk_create(
            Genre(kind=kind, name=f"{kind} genre {n}", slug=f"{kind}-genre-{n}") for n in range(8)
        )
        for kind in KINDS
    }
    items: dict[str, list[int]] = {}
    for kind in KINDS:
        made = Item.objects.bulk_create(
            Item(kind=kind, title=f"{kind.title()} number {n}", year=1970 + n % 50)
            for n in range(items_per_kind)
        )
        for item in made:
            item.genres.set(rng.sample(genres[kind], 2))
        items[kind] = [item.pk for item in made]
    users = User.objects.bulk_create(User(username=f"bench{n}") for n in range(n_people))
    tokens = Token.objects.bulk_create(Token(user=u, key=Token.generate_key()) for u in users)
    for user in users:
        with transaction.atomic():
            lists.store(
                user.pk,
                {
                    kind: [
                        lists.Entry(pk, round(rng.random(), 4), f"because you played {kind} {n}")
                        for n, pk in enumerate(rng.sample(items[kind], per_kind))
                    ]
                    for kind in KINDS
                },
                "bench-v1",
            )
    return [t.key for t in tokens]


def wait_up(url: str, token: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.3)


def to_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def load(base: str, path: str, token_file: Path, args: argparse.Namespace) -> dict[str, float]:
    script = token_file.parent / f"wrk{abs(hash(path))}.lua"
    script.write_text(LUA % {"tokens": token_file, "path": path})
    out = subprocess.run(
        ["wrk", "-t", str(args.wrk_threads), "-c", str(args.connections),
         "-d", f"{args.duration}s", "--timeout", "5s", "--latency", "-s", str(script), base],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    errors = 0
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(g) for g in m.groups())
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": to_ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99": to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        "requests": float(re.search(r"(\d+) requests in", out).group(1)),
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--items-per-kind", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=30, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread)")
    parser.add_argument("--rounds", type=int, default=1, help="alternate the endpoints this often")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--redis-db", type=int, default=5)
    parser.add_argument("--pg-db", default="encore_bench_api")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk (Debian/Ubuntu)", file=sys.stderr)
        return 2
    gunicorn = Path(sys.executable).parent / "gunicorn"
    print(f"load before: {os.getloadavg()} on {os.cpu_count()} cores (shared: figures are noisy)")

    var_dir = Path(tempfile.mkdtemp(prefix="encore-bench-api-"))
    env = environment(args, var_dir)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    redis = ["redis-cli", "-n", str(args.redis_db)]
    subprocess.run([*redis, "flushdb"], check=True, capture_output=True)
    if not args.sqlite:
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", args.pg_db],
                       check=True)  # fmt: skip
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.pg_db], check=True)
    server = None
    try:
        started = time.perf_counter()
        keys = seed(args.people, args.items_per_kind, per_kind=20)
        shape = f"{'SQLite' if args.sqlite else 'PostgreSQL'} + Redis db {args.redis_db}"
        print(f"seeded {args.people} people, {3 * args.items_per_kind} items, lists of 20 per "
              f"kind in {time.perf_counter() - started:.1f} s ({shape})")  # fmt: skip
        from django.db import connections

        connections.close_all()
        token_file = var_dir / "tokens.txt"
        token_file.write_text("\n".join(keys) + "\n")
        port = free_port()
        server = subprocess.Popen(
            [str(gunicorn), "entertainment.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--worker-class", "gthread",
             "--threads", str(args.threads), "--log-level", "warning"],
            cwd=ROOT, env=env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        endpoints = {"me": "/api/me/", "recommendations": "/api/recommendations/?kind=film&n=10"}
        for path in endpoints.values():
            wait_up(base + path, keys[0])
        print(f"gunicorn: {args.workers} workers x {args.threads} threads (gthread); "
              f"wrk: {args.connections} connections, {args.duration} s per endpoint")  # fmt: skip
        # Warm every worker (imports, connections) before measuring.
        warm = argparse.Namespace(**{**vars(args), "duration": 5})
        for path in endpoints.values():
            load(base, path, token_file, warm)
        results: dict[str, list[dict[str, float]]] = {name: [] for name in endpoints}
        for _ in range(args.rounds):
            for name, path in endpoints.items():
                results[name].append(load(base, path, token_file, args))
        print(f"{'endpoint':<46}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        summary = {}
        for name, runs in results.items():
            rps = sum(r["rps"] for r in runs) / len(runs)
            p50 = max(r["p50"] for r in runs)
            p99 = max(r["p99"] for r in runs)
            errors = int(sum(r["errors"] for r in runs))
            summary[name] = (rps, p99, errors)
            print(f"{endpoints[name]:<46}{rps:>9.0f}{p50:>9.1f}{p99:>9.1f}{errors:>8}")
        ratio = summary["recommendations"][0] / summary["me"][0]
        p99, errors = summary["recommendations"][1], summary["recommendations"][2]
        print(f"throughput ratio recommendations/me: {ratio:.2f} (target >= 0.80: "
              f"{'met' if ratio >= 0.8 else 'NOT met'}); recommendations p99 {p99:.1f} ms "
              f"(target < 25: {'met' if p99 < 25 else 'NOT met'}); errors {errors} "
              f"(target 0: {'met' if errors == 0 else 'NOT met'})")  # fmt: skip
        print(f"load after: {os.getloadavg()}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        subprocess.run([*redis, "flushdb"], check=False, capture_output=True)
        if not args.sqlite:
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists",
                            args.pg_db], check=False)  # fmt: skip
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
