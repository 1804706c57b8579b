"""What recording impressions costs: /api/recommendations/ and the home page under gunicorn,
with recording on and off (RECORD_IMPRESSIONS), in the same run.

    .venv/bin/python bench/impressions.py [--people 300] [--duration 15] [--rounds 2]
        [--connections 32] [--workers 2] [--threads 4] [--sqlite] [--redis-db 6]

The site of bench/api_recommendations.py (PostgreSQL and Redis, a synthetic model, each
person's lists computed and cached), with a signed-in session per person for the page. Rounds
alternate off and on, each with its own gunicorn (the setting is read at start-up), and `wrk`
loads the API and the page for the same time at the same concurrency, every request from a
random person on a new connection. With recording on, each request appends its lists to the
Redis buffer (one RPUSH) after reading the person's measurement switch in the request's one
cache round trip; no worker runs, so the buffer's length at the end counts what was recorded.
Prints requests/s per endpoint and setting, and the on/off ratio (median of rounds; target
>= 0.80). Needs wrk (`make wrk`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import api_recommendations
import loadgen
import scratch


def sessions() -> list[str]:
    """A signed-in session cookie per person (as bench/load_pages.py makes them)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from entertainment.accounts.models import User

    cookies = []
    for user in User.objects.all():
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies.append(f"Cookie: sessionid={session.session_key}")
    return cookies


def buffered() -> int:
    """Lists waiting in the Redis impression buffer."""

    from entertainment.activity import impressions

    buffer = impressions.buffer()
    assert isinstance(buffer, impressions._RedisBuffer), "needs Redis"
    return int(buffer._call("llen", buffer.key))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--items-per-kind", type=int, default=1000)
    parser.add_argument("--history", type=int, default=30)
    parser.add_argument("--duration", type=int, default=15, help="seconds per endpoint and round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of off then on")
    loadgen.add_load_options(parser)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--redis-db", type=int, default=6)
    parser.add_argument("--pg-db", default="encore_bench_impressions")
    args = parser.parse_args()
    if not loadgen.ready():
        return 2

    pg = None if args.sqlite else args.pg_db
    with scratch.site("impressions", args.redis_db, pg) as (env, var_dir):
        started = time.perf_counter()
        keys = api_recommendations.seed(
            args.people, args.items_per_kind, args.history, var_dir / "model"
        )
        cookies = sessions()
        from django.core.management import call_command

        call_command("collectstatic", verbosity=0, interactive=False)  # the page's assets
        shape = f"{'SQLite' if args.sqlite else 'PostgreSQL'} + Redis db {args.redis_db}"
        print(f"seeded {args.people} people in {time.perf_counter() - started:.1f} s ({shape})")
        from django.db import connections

        connections.close_all()
        tokens = loadgen.header_file(var_dir, "tokens", [f"Authorization: Token {k}" for k in keys])
        pages = loadgen.header_file(var_dir, "cookies", cookies)
        api = "/api/recommendations/?kind=film&n=10"
        endpoints = {
            "api": (api, tokens, keys[0], "Authorization: Token "),
            "page": ("/", pages, cookies[0], ""),
        }
        results: dict[str, dict[str, list[loadgen.Result]]] = {
            name: {"off": [], "on": []} for name in endpoints
        }
        recorded = {"off": 0, "on": 0}
        for n in range(args.rounds):
            for setting in ("off", "on"):
                before = buffered()
                site_env = {**env, "RECORD_IMPRESSIONS": "true" if setting == "on" else "false"}
                with loadgen.gunicorn(site_env, args.workers, args.threads, sys.executable) as base:
                    for path, headers, first, prefix in endpoints.values():
                        loadgen.wait_up(base + path, prefix + first)
                        # Warm every worker (imports, connections).
                        loadgen.wrk(base, [path], headers, connections=args.connections,
                                    duration=3, keep_alive=False)  # fmt: skip
                    for name, (path, headers, _, _) in endpoints.items():
                        result = loadgen.wrk(base, [path], headers, connections=args.connections,
                                             duration=args.duration, keep_alive=False)  # fmt: skip
                        results[name][setting].append(result)
                        print(result.row(f"round {n + 1}, recording {setting}: {path}"))
                recorded[setting] += buffered() - before
        print()
        errors = 0
        for name, (path, *_) in endpoints.items():
            pairs = zip(results[name]["on"], results[name]["off"], strict=True)
            ratios = sorted(on.rps / off.rps for on, off in pairs)
            ratio = ratios[len(ratios) // 2] if len(ratios) % 2 else sum(ratios) / len(ratios)
            errors += sum(r.errors for r in results[name]["on"] + results[name]["off"])
            on = sum(r.rps for r in results[name]["on"]) / args.rounds
            off = sum(r.rps for r in results[name]["off"]) / args.rounds
            print(f"{path}: {off:.0f} req/s recording off, {on:.0f} req/s on; ratio on/off "
                  f"{ratio:.2f} (rounds {', '.join(f'{r:.2f}' for r in ratios)}; target >= 0.80: "
                  f"{'met' if ratio >= 0.8 else 'NOT met'})")  # fmt: skip
        print(f"lists buffered: {recorded['on']} with recording on, {recorded['off']} off; "
              f"errors in all runs: {errors}; load after: {os.getloadavg()}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
