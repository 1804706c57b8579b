"""The main pages and endpoints under gunicorn and wrk, next to a trivial endpoint in the same run.

    .venv/bin/python bench/load_pages.py [--duration 60] [--page-duration 10] [--connections 32]
        [--people 150] [--items-per-kind 60] [--workers 2] [--threads 4] [--redis-db 7]

The production shape on this machine: PostgreSQL (a database this script creates and drops),
Redis (one db number, flushed before and after), gunicorn on a free loopback port, DEBUG off,
static files collected and served by whitenoise. The world is `seed_demo`'s (with artwork),
every demo person signed in (a session cookie each), a synthetic model over the catalogue's ids
(bench/synthetic_model.py) as the active sequence version and each person's lists computed and
cached (recommender.lists.compute, as the warm-up after an activation does). Every request comes
from a random person.

1. The mix of main pages and endpoints, each request picking one at random, for --duration s
   at --connections clients (closed loop), then the trivial endpoint (`/api/me/`, one row
   by primary key) for the same time: requests/s, p50, p99, errors, and the ratio.
2. Each page and endpoint alone for --page-duration s, to see which one costs what.

Needs wrk (`make wrk` installs Debian's package). Issue 6 asks for the figures, not a target.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import loadgen
import scratch

KINDS = ("film", "music", "game")


def seed(args: argparse.Namespace) -> tuple[list[str], dict[str, list[str]]]:
    """The demo world, a session and computed lists per person; returns the cookies and the
    paths to load, by name."""
    import django

    django.setup()
    import synthetic_model
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db.models import Max

    from entertainment.accounts.models import User
    from entertainment.catalogue.models import Item
    from ml.ranking import EXACT_BELOW
    from recommender import lists
    from recommender.models import ModelVersion

    call_command("migrate", verbosity=0)
    call_command("collectstatic", verbosity=0, interactive=False)
    call_command("seed_demo", people=args.people, items_per_kind=args.items_per_kind, verbosity=0)
    rng = random.Random(0)
    items = {kind: list(Item.objects.of_kind(kind).values_list("pk", flat=True)) for kind in KINDS}
    # A model knowing every id up to the catalogue's largest (the fresh database numbers the
    # demo items from 1; ids it knows that are no item are skipped when lists are computed).
    n_items = Item.objects.aggregate(top=Max("pk"))["top"]
    model_dir = Path(settings.MODEL_DIR) / "bench-synthetic"
    synthetic_model.write_model(model_dir, n_items, index=n_items >= EXACT_BELOW)
    ModelVersion.objects.filter(kind="sequence", status=ModelVersion.Status.ACTIVE).update(
        status=ModelVersion.Status.RETIRED
    )
    ModelVersion.objects.create(
        kind="sequence", status=ModelVersion.Status.ACTIVE, path=str(model_dir),
        main_metric="ndcg@10",
    )  # fmt: skip
    cookies = []
    for user in User.objects.filter(is_staff=False):
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies.append(f"Cookie: sessionid={session.session_key}")
        lists.compute(user.pk)
    some = [pk for kind in KINDS for pk in rng.sample(items[kind], 10)]
    title = Item.objects.filter(pk=some[0]).values_list("title", flat=True)[0]
    word = title.split()[0].lower()
    paths = {
        "home": ["/"],
        "films list": ["/catalogue/films/"],
        "music list (page 2)": ["/catalogue/music/?page=2"],
        "item pages (30 items)": [f"/catalogue/item/{pk}/" for pk in some],
        f"search ({word!r})": [f"/catalogue/search/?q={word}"],
        "history": ["/me/history/"],
        "privacy": ["/accounts/privacy/"],
        "API items": ["/api/items/?kind=game"],
        "API recommendations": ["/api/recommendations/?n=10"],
    }
    return cookies, paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of the mix and trivial")
    parser.add_argument("--page-duration", type=int, default=10, help="seconds per page alone")
    loadgen.add_load_options(parser)
    parser.add_argument("--people", type=int, default=150)
    parser.add_argument("--items-per-kind", type=int, default=60)
    parser.add_argument("--redis-db", type=int, default=7)
    parser.add_argument("--pg-db", default="encore_bench_pages")
    args = parser.parse_args()
    if not loadgen.ready():
        return 2
    with scratch.site("pages", args.redis_db, args.pg_db) as (env, var_dir):
        started = time.perf_counter()
        cookies, paths = seed(args)
        took = time.perf_counter() - started
        print(f"seeded the demo world ({args.people} people, {args.items_per_kind} per kind, with "
              f"artwork) and {len(cookies)} sessions in {took:.0f} s")  # fmt: skip
        from django.db import connections

        connections.close_all()
        headers = loadgen.header_file(var_dir, "cookies", cookies)
        trivial = "/api/me/"
        mix = [p for group in paths.values() for p in group]
        with loadgen.gunicorn(env, args.workers, args.threads, sys.executable) as base:
            for path in [trivial, *mix]:
                loadgen.wait_up(base + path, cookies[0])
            print(f"gunicorn: {args.workers} workers x {args.threads} threads; wrk: "
                  f"{args.connections} connections (closed loop)")  # fmt: skip

            def run(targets: list[str], duration: int) -> loadgen.Result:
                return loadgen.wrk(
                    base,
                    targets,
                    headers,
                    connections=args.connections,
                    duration=duration,
                    keep_alive=False,  # as behind a proxy: each request to any worker
                )

            run(mix, 5)  # warm every worker (imports, connections, templates)
            mixed, plain = run(mix, args.duration), run([trivial], args.duration)
            alone = {name: run(group, args.page_duration) for name, group in paths.items()}
        print(f"\n{args.duration} s each")
        print(loadgen.HEADER)
        print(mixed.row(f"mix of the {len(paths)} below, at random"))
        print(plain.row(f"trivial: {trivial}"))
        print(f"\neach alone, {args.page_duration} s")
        print(loadgen.HEADER)
        for name, result in alone.items():
            print(result.row(name))
        errors = mixed.errors + plain.errors + sum(r.errors for r in alone.values())
        print(
            f"\nmix/trivial throughput: {mixed.rps / plain.rps:.2f}; errors in all runs: {errors}"
        )
        print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
