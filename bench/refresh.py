"""Warming everyone's lists: 10,000 people over 10,000 items, as the `cpu` worker runs it.

    .venv/bin/python bench/refresh.py [--people 10000] [--items 10000] [--plays 20] [--epochs 1]
        [--train-people 2000] [--sqlite] [--redis-db 6] [--pg-db encore_bench_refresh]

1. A synthetic world, bulk-created in a fresh database (PostgreSQL, created and dropped here, or
   SQLite in a temporary directory) with Redis as the cache (one db number, flushed): items in
   a third of each kind, people who each follow one of 100 "scenes" (100 items in an order,
   played mostly in that order, sometimes skipping, sometimes off-scene to a popular item).
2. A sequence model trained quickly on it (ml.hybrid.train, few epochs; on --train-people of
   the people so that the blend's tuning fits in memory), registered and activated. Its time
   is printed but is not what is measured.
3. Timed: recommender.refresh.refresh_people over batches of settings.REFRESH_BATCH_SIZE,
   in this one process, as the worker runs it after an activation: each person's lists
   computed (recommender.lists.compute) and cached. Prints the total, people/s and its split
   (database reads, ml.ranking.Ranker.recommend, database writes, cache writes). Target
   (issue 4): under 60 s on 2 cores. Nothing waits for this warm-up any more (a read computes
   a stale list itself: bench/realtime.py measures that); it spares people their first
   computation after an activation.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import scratch

KINDS = ("film", "music", "game")
SCENES = 100
SCENE_SIZE = 100


def world(args: argparse.Namespace) -> list[tuple[int, int, datetime]]:
    """Bulk-creates items, people and plays; returns the plays as (user, item, time) rows."""
    from entertainment.accounts.models import User
    from entertainment.activity.models import Play
    from entertainment.catalogue.models import Item

    rng = random.Random(0)
    items = Item.objects.bulk_create(
        (Item(kind=KINDS[n % 3], title=f"Item {n}") for n in range(args.items)), batch_size=2000
    )
    item_ids = [i.pk for i in items]
    # Scenes: fixed orders over disjoint slices of the catalogue (wrapping when it is small).
    scenes = [
        [item_ids[(s * SCENE_SIZE + n) % len(item_ids)] for n in range(SCENE_SIZE)]
        for s in range(SCENES)
    ]
    popular = item_ids[: max(len(item_ids) // 50, 1)]
    users = User.objects.bulk_create(
        (User(username=f"bench{n}") for n in range(args.people)), batch_size=2000
    )
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows: list[tuple[int, int, datetime]] = []
    for user in users:
        scene = scenes[rng.randrange(SCENES)]
        position = rng.randrange(SCENE_SIZE)
        at = start + timedelta(days=rng.randrange(300))
        seen: set[int] = set()
        for _ in range(args.plays):
            roll = rng.random()
            if roll < 0.7:
                position = (position + 1) % SCENE_SIZE
            elif roll < 0.9:
                position = (position + rng.randrange(2, 6)) % SCENE_SIZE
            item = scene[position] if roll < 0.9 else rng.choice(popular)
            at += timedelta(minutes=rng.randrange(30, 600))
            if item not in seen:
                seen.add(item)
                rows.append((user.pk, item, at))
    Play.objects.bulk_create(
        (Play(user_id=u, item_id=i, started_at=at, completed=False) for u, i, at in rows),
        batch_size=5000,
    )
    return rows


def train_and_activate(
    rows: list[tuple[int, int, datetime]], out_dir: Path, args: argparse.Namespace
) -> str:
    from ml.data import Interaction
    from ml.hybrid import train
    from recommender import registry
    from recommender.models import ModelVersion

    keep = set(sorted({u for u, _, _ in rows})[: args.train_people])
    interactions = [
        Interaction(str(u), str(i), at.timestamp(), 1.0) for u, i, at in rows if u in keep
    ]
    result = train(
        interactions, out_dir, sequence_hyper={"epochs": args.epochs, "patience": 1}, seed=0
    )
    version = ModelVersion.objects.create(
        kind="sequence",
        path=str(out_dir),
        main_metric="ndcg@10",
        main_metric_value=result["hybrid"]["ndcg@10"],
        metrics={"ndcg@10": result["hybrid"]["ndcg@10"]},
    )
    return registry.activate(version).label


class Split:
    """Seconds spent in each named part, from wrappers put around the functions that do it."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start

        return timed


@contextmanager
def patched(target: Any, name: str, replacement: Any) -> Iterator[None]:
    original = getattr(target, name)
    setattr(target, name, replacement)
    try:
        yield
    finally:
        setattr(target, name, original)


def timed_refresh(batch_size: int) -> tuple[float, int, dict[str, float]]:
    """Every personalised person warmed, batch by batch; returns seconds, people, split."""
    from django.db import connection

    from entertainment import caching
    from ml.ranking import Ranker
    from recommender import refresh

    split = Split()
    ids = list(refresh.personalised_people().order_by("pk").values_list("pk", flat=True))

    # Database time is what the connection spends executing, split by statement kind.
    def by_statement(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        kind = "database reads" if sql.lstrip().upper().startswith("SELECT") else "database writes"
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            split.seconds[kind] += time.perf_counter() - start

    def recommend_counted(self: Ranker, history: Any, k: int, *args: Any, **kwargs: Any) -> Any:
        split.seconds[f"people ranked {k} deep"] += 1
        return recommend(self, history, k, *args, **kwargs)

    recommend = Ranker.recommend
    done = 0
    with (
        patched(Ranker, "recommend", split.wrap("Ranker.recommend", recommend_counted)),
        patched(caching, "put", split.wrap("cache writes", caching.put)),
        patched(caching, "add", split.wrap("cache writes", caching.add)),
        patched(caching, "put_many", split.wrap("cache writes", caching.put_many)),
        connection.execute_wrapper(by_statement),
        patched(connection, "commit", split.wrap("database writes", connection.commit)),
    ):
        start = time.perf_counter()
        for offset in range(0, len(ids), batch_size):
            done += refresh.refresh_people(ids[offset : offset + batch_size])
        total = time.perf_counter() - start
    return total, done, dict(split.seconds)


def _refresh_batch(ids: list[int]) -> int:
    from recommender import refresh

    return refresh.refresh_people(ids)


def parallel_refresh(batch_size: int, processes: int) -> tuple[float, int]:
    """Batches shared by worker processes, as a `cpu` worker with that concurrency runs them."""
    import multiprocessing

    from django.db import connections

    from recommender import refresh

    ids = list(refresh.personalised_people().order_by("pk").values_list("pk", flat=True))
    batches = [ids[offset : offset + batch_size] for offset in range(0, len(ids), batch_size)]
    connections.close_all()  # each forked process opens its own
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        done = sum(pool.imap_unordered(_refresh_batch, batches))
    return time.perf_counter() - start, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--plays", type=int, default=20, help="plays per person")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-people", type=int, default=2000)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--redis-db", type=int, default=6)
    parser.add_argument("--pg-db", default="encore_bench_refresh")
    parser.add_argument(
        "--processes", type=int, default=2, help="also refresh with this many processes"
    )
    parser.add_argument("--profile", type=int, default=0, help="print this many cProfile lines")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()} on {os.cpu_count()} cores (shared: figures are noisy)")

    with scratch.site("refresh", args.redis_db, None if args.sqlite else args.pg_db) as (
        _,
        var_dir,
    ):
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        shape = f"{'SQLite' if args.sqlite else 'PostgreSQL'} + Redis db {args.redis_db}"
        started = time.perf_counter()
        rows = world(args)
        print(f"world: {args.people} people, {args.items} items, {len(rows)} plays, bulk-created "
              f"in {time.perf_counter() - started:.1f} s ({shape})")  # fmt: skip
        started = time.perf_counter()
        label = train_and_activate(rows, var_dir / "model", args)
        print(f"trained and activated {label} on {args.train_people} people's plays, "
              f"{args.epochs} epoch(s), in {time.perf_counter() - started:.1f} s "
              f"(not the measured part)")  # fmt: skip

        batch = settings.REFRESH_BATCH_SIZE
        # The first warm-up loads the model in this process and finds no list cached; the
        # second replaces every cached list.
        for title in ("first warm-up", "warm-up again (replacing every cached list)"):
            if args.profile:
                import cProfile
                import pstats

                profile = cProfile.Profile()
                total, done, split = profile.runcall(timed_refresh, batch)
                pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)
            else:
                total, done, split = timed_refresh(batch)
            print(f"{title}: {done} people in batches of {batch}: {total:.1f} s "
                  f"({done / total:.0f} people/s); target < 60 s: "
                  f"{'met' if total < 60 else 'NOT met'}")  # fmt: skip
            for name in ("database reads", "Ranker.recommend", "database writes", "cache writes"):
                seconds = split.get(name, 0.0)
                print(f"  {name:<18}{seconds:>7.1f} s  {100 * seconds / total:>4.0f}%")
            passes = {name: n for name, n in split.items() if name.startswith("people ranked")}
            rest = total - sum(v for name, v in split.items() if name not in passes)
            print(f"  {'other (Python)':<18}{rest:>7.1f} s  {100 * rest / total:>4.0f}%")
            print("  " + "; ".join(f"{name}: {n:.0f}" for name, n in sorted(passes.items())))
        if args.processes > 1:
            total, done = parallel_refresh(batch, args.processes)
            print(f"warm-up in {args.processes} processes (the README's `worker -Q cpu "
                  f"--concurrency {args.processes}`): {done} people: {total:.1f} s "
                  f"({done / total:.0f} people/s)")  # fmt: skip
        print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
