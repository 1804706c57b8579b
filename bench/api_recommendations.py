"""GET /api/recommendations/ under gunicorn, beside a trivial authenticated endpoint (/api/me/).

    .venv/bin/python bench/api_recommendations.py [--people 300] [--history 30] [--duration 20]
        [--rounds 3] [--connections 32] [--think-ms 200,100,50] [--workers 2] [--threads 4]
        [--sqlite] [--redis-db 5]

The production shape: PostgreSQL (a database this script creates and drops) and Redis (one db
number, flushed before and after), gunicorn on a free loopback port with DEBUG off. A few hundred
people with tokens and a history of --history plays over a catalogue of items 1..N, a synthetic
model of that catalogue (bench/synthetic_model.py) as the active sequence version, and each
person's lists computed and cached (recommender.lists.compute, as the warm-up after an activation
does), so the reads below find them current; then `wrk` loads each endpoint in turn for the same
time at the same concurrency, every request from a random person, on a new connection (as behind
a proxy; --keep-alive to keep them). bench/realtime.py measures reads that must compute.
Prints requests/s, p50, p99 and errors for both, and the ratio:

- closed loop (each client sends again as soon as it is answered): the saturation throughput,
  the figure the 80% ratio is about. Its latency is queueing: with no pause, latency is
  clients / throughput (Little's law), so no server on this machine gives 32 such clients a
  25 ms p99 unless it serves more than 1,300 requests/s.
- paced (each client pauses --think-ms before its next request, as a person or a calling
  service does): the latency 32 concurrent clients see below saturation, at several loads.

Needs wrk (Debian/Ubuntu: `apt-get install -y wrk`). Targets (issue 4): recommendations throughput
at least 80% of /api/me/'s, p99 under 25 ms at 32 clients, no errors.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import loadgen
import scratch

KINDS = ("film", "music", "game")


def seed(n_people: int, items_per_kind: int, history: int, model_dir: Path) -> list[str]:
    """People with tokens, histories and current cached lists; returns their token keys."""
    import django

    django.setup()
    import numpy as np
    import synthetic_model
    from django.core.management import call_command

    from entertainment.accounts.models import User
    from entertainment.accounts.tokens import issue_tokens
    from entertainment.activity.models import Play
    from entertainment.catalogue.models import Genre, Item
    from ml.ranking import EXACT_BELOW
    from recommender import lists
    from recommender.models import ModelVersion

    call_command("migrate", verbosity=0)
    rng = random.Random(0)
    genres = {
        kind: Genre.objects.bulk_create(
            Genre(kind=kind, name=f"{kind} genre {n}", slug=f"{kind}-genre-{n}") for n in range(8)
        )
        for kind in KINDS
    }
    # Items 1..N, the synthetic model's ids, the kinds in turn.
    n_items = len(KINDS) * items_per_kind
    made = Item.objects.bulk_create(
        Item(pk=pk, kind=KINDS[pk % 3], title=f"{KINDS[pk % 3].title()} number {pk}",
             year=1970 + pk % 50)
        for pk in range(1, n_items + 1)
    )  # fmt: skip
    for item in made:
        item.genres.set(rng.sample(genres[item.kind], 2))
    synthetic_model.write_model(model_dir, n_items, index=n_items >= EXACT_BELOW)
    users = User.objects.bulk_create(User(username=f"bench{n}") for n in range(n_people))
    keys = issue_tokens(users)
    draw = np.random.default_rng(0)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    Play.objects.bulk_create(
        (
            Play(user=user, item_id=int(item), started_at=start + timedelta(hours=n))
            for user in users
            for n, item in enumerate(synthetic_model.history(draw, n_items, history))
        ),
        batch_size=5000,
    )
    ModelVersion.objects.create(
        kind="sequence", status=ModelVersion.Status.ACTIVE, path=str(model_dir),
        main_metric="ndcg@10",
    )  # fmt: skip
    for user in users:
        lists.compute(user.pk)
    return keys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--items-per-kind", type=int, default=1000)
    parser.add_argument("--history", type=int, default=30, help="plays per person")
    parser.add_argument("--duration", type=int, default=20, help="seconds per closed-loop run")
    parser.add_argument("--rounds", type=int, default=3, help="closed-loop rounds, alternating")
    parser.add_argument("--paced-duration", type=int, default=15, help="seconds per paced run")
    parser.add_argument("--think-ms", default="200,100,50", help="paced runs' pauses")
    loadgen.add_load_options(parser)
    parser.add_argument(
        "--keep-alive", action="store_true",
        help="clients keep their connection (each stays with one gunicorn worker: how the 32 "
        "fall on the workers then swings throughput by 2x from run to run)",
    )  # fmt: skip
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--redis-db", type=int, default=5)
    parser.add_argument("--pg-db", default="encore_bench_api")
    args = parser.parse_args()
    if not loadgen.ready():
        return 2

    with scratch.site("api", args.redis_db, None if args.sqlite else args.pg_db) as (env, var_dir):
        started = time.perf_counter()
        keys = seed(args.people, args.items_per_kind, args.history, var_dir / "model")
        from django.conf import settings

        shape = f"{'SQLite' if args.sqlite else 'PostgreSQL'} + Redis db {args.redis_db}"
        print(f"seeded {args.people} people with {args.history} plays each, "
              f"{3 * args.items_per_kind} items, a synthetic model and computed lists of "
              f"{settings.RECOMMENDATIONS_PER_KIND} per kind in "
              f"{time.perf_counter() - started:.1f} s ({shape})")  # fmt: skip
        from django.db import connections

        connections.close_all()
        headers = loadgen.header_file(
            var_dir, "tokens", [f"Authorization: Token {k}" for k in keys]
        )
        endpoints = {"me": "/api/me/", "recommendations": "/api/recommendations/?kind=film&n=10"}
        with loadgen.gunicorn(env, args.workers, args.threads, sys.executable) as base:
            for path in endpoints.values():
                loadgen.wait_up(base + path, f"Authorization: Token {keys[0]}")
            print(f"gunicorn: {args.workers} workers x {args.threads} threads; wrk: "
                  f"{args.connections} connections")  # fmt: skip

            def run(path: str, duration: int, think_ms: int = 0) -> loadgen.Result:
                return loadgen.wrk(base, [path], headers, connections=args.connections,
                                   duration=duration, think_ms=think_ms,
                                   keep_alive=args.keep_alive)  # fmt: skip

            for path in endpoints.values():  # warm every worker (imports, connections)
                run(path, 5)
            # Alternating rounds: each pair is measured minutes apart at most, so the
            # machine's other load weighs on both sides of a ratio alike.
            rounds = [
                {name: run(path, args.duration) for name, path in endpoints.items()}
                for _ in range(args.rounds)
            ]
            paced = {
                think: {
                    name: run(path, args.paced_duration, think) for name, path in endpoints.items()
                }
                for think in (int(t) for t in args.think_ms.split(",") if t)
            }
        print(
            f"\nclosed loop, {args.connections} clients, {args.rounds} rounds of {args.duration} s"
        )
        print(loadgen.HEADER)
        for n, closed in enumerate(rounds, start=1):
            for name, result in closed.items():
                print(result.row(f"round {n}: {endpoints[name]}"))
        ratios = sorted(r["recommendations"].rps / r["me"].rps for r in rounds)
        ratio = ratios[len(ratios) // 2]
        for think, results in paced.items():
            print(f"\npaced: {args.connections} clients, each pausing {think} ms on average, "
                  f"{args.paced_duration} s each")  # fmt: skip
            print(loadgen.HEADER)
            for name, result in results.items():
                print(result.row(endpoints[name]))
        errors = sum(r.errors for r in [
            *(r for closed in rounds for r in closed.values()),
            *(r for results in paced.values() for r in results.values()),
        ])  # fmt: skip
        print(f"\nthroughput ratio recommendations/me (closed loop), median of rounds: {ratio:.2f} "
              f"(rounds {', '.join(f'{r:.2f}' for r in ratios)}; target >= 0.80: "
              f"{'met' if ratio >= 0.8 else 'NOT met'})")  # fmt: skip
        for think, results in paced.items():
            p99 = results["recommendations"].p99
            rps = results["recommendations"].rps
            print(f"recommendations p99 with {args.connections} clients pausing {think} ms "
                  f"({rps:.0f} req/s): {p99:.1f} ms (target < 25: "
                  f"{'met' if p99 < 25 else 'NOT met'})")  # fmt: skip
        saturated = max(closed["recommendations"].p99 for closed in rounds)
        print(f"recommendations p99 at saturation (closed loop, worst round): {saturated:.1f} ms; "
              f"errors in all runs: {errors} "
              f"(target 0: {'met' if errors == 0 else 'NOT met'})")  # fmt: skip
        print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
