"""POST 10,000 events to /api/events/bulk/ on a fresh SQLite database, then send them again.

    .venv/bin/python bench/api_bulk_ingest.py [--events N] [--database-url URL]

Goes through the whole request path in this process (DRF's test client: parsing, validation,
the bulk writes, the commit). Prints seconds and events per second for a JSON array of new
events (a third each of plays, ratings and reviews, for people and items of a small world),
the same batch as JSON Lines sent again (all duplicates), and a batch with one bad event
(rejected, nothing stored).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary dir")
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="encore-bench-bulk-"))
    for folder in ("queue", "control", "processed"):
        (var / "broker" / folder).mkdir(parents=True)
    os.environ.update(
        {
            "ENCORE_VAR_DIR": str(var),
            "DATABASE_URL": args.database_url or f"sqlite:///{var / 'bench.sqlite3'}",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-key"),
            "DJANGO_SETTINGS_MODULE": "entertainment.settings",
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "false",
            "API_THROTTLE_BULK": "1000/min",
            "BULK_INGEST_MAX_EVENTS": str(max(args.events, 10_000)),
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from rest_framework.test import APIClient

    from entertainment.accounts.models import User
    from entertainment.activity.models import Play, Rating, Review
    from entertainment.catalogue.models import Item, Kind

    call_command("migrate", verbosity=0)
    person = User.objects.create(username=f"bench-{time.time_ns()}")
    items = Item.objects.bulk_create(
        [Item(kind=Kind.FILM, title=f"Bench film {i}") for i in range(4_000)]
    )
    client = APIClient()
    client.force_authenticate(person)

    events = []
    for i in range(args.events):
        # Every event on its own item: no rating or review supersedes another.
        item = items[(i // 3) % len(items)].pk
        kind = ("play", "rating", "review")[i % 3]
        event = {"type": kind, "client_event_id": f"bench-{i}", "item": item}
        if kind == "play":
            event |= {"started_at": f"2026-11-{1 + i % 28:02d}T20:00:00Z", "seconds_played": i}
        elif kind == "rating":
            event |= {"value": str(0.5 + (i % 10) / 2)}
        else:
            event |= {"text": f"Review number {i}: rather good.", "rating": "4.0"}
        events.append(event)

    def post(body: str, content_type: str) -> tuple[float, int, dict[str, object]]:
        started, cpu = time.perf_counter(), time.process_time()
        response = client.post("/api/events/bulk/", body, content_type=content_type)
        # CPU seconds too: on a shared machine the wall clock also counts waiting for a core.
        print(f"  (CPU {time.process_time() - cpu:.2f} s)", end=" ")
        return time.perf_counter() - started, response.status_code, response.json()

    array = json.dumps(events)
    lines = "\n".join(json.dumps(event) for event in events)
    bad = json.dumps([*events[:-1], {**events[-1], "item": 10**12}])

    first, status, body = post(array, "application/json")
    rows = Play.objects.count() + Rating.objects.count() + Review.objects.count()
    print(
        f"new events, JSON array:   {first:6.2f} s  {args.events / first:8.0f} events/s  "
        f"HTTP {status}  {body}  rows now {rows}"
    )
    again, status, body = post(lines, "application/jsonl")
    print(
        f"same batch again, JSONL:  {again:6.2f} s  {args.events / again:8.0f} events/s  "
        f"HTTP {status}  {body}"
    )
    rejected, status, body = post(bad, "application/json")
    print(
        f"one bad event, rejected:  {rejected:6.2f} s  HTTP {status}  "
        f"invalid_events={body.get('invalid_events')}"
    )
    print(f"database: {os.environ['DATABASE_URL'].split('@')[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
