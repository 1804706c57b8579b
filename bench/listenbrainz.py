"""10,000 listens through /1/submit-listens in batches of 100, against /api/events/bulk/.

    .venv/bin/python bench/listenbrainz.py [--listens N] [--batch 100] [--database-url URL]

Goes through the whole request path in this process (Django's test client: token
authentication, ListenBrainz's checks, matching to the catalogue, the bulk writes, the commit).
A small music world of 2,000 tracks (200 artists, 2 albums each, half the tracks with
MusicBrainz recording ids) is listened to three times, each by a new person, with the same
listens (times and tracks):

1. ListenBrainz, catalogue empty: every track is new and added (artist, album, track);
2. ListenBrainz, catalogue known: every listen matched by MBID or by name;
3. /api/events/bulk/, the same plays by item id, the same batch size.

Prints listens per second for each and the ratios of 1 and 2 to 3.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listens", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary dir")
    args = parser.parse_args()

    var = Path(tempfile.mkdtemp(prefix="encore-bench-lb-"))
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
            "API_THROTTLE_BULK": "100000/min",
            "API_THROTTLE_USER": "100000/min",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from entertainment.accounts.models import User
    from entertainment.accounts.tokens import issue_token
    from entertainment.activity.models import Play

    call_command("migrate", verbosity=0)
    stamp = time.time_ns()
    people = [User.objects.create(username=f"bench-lb-{stamp}-{n}") for n in range(3)]
    tokens = [issue_token(person)[1] for person in people]

    tracks: list[dict[str, object]] = []
    for a in range(200):
        for b in range(2):
            for t in range(5):
                n = len(tracks)
                info: dict[str, object] = {"duration_ms": 180_000 + n, "tracknumber": t + 1}
                if n % 2 == 0:
                    info["recording_mbid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{stamp}/{n}"))
                tracks.append(
                    {
                        # The run's stamp in every name: new tracks even in a database reused.
                        "artist_name": f"Bench Artist {stamp} {a}",
                        "release_name": f"Bench Album {a}-{b}",
                        "track_name": f"Bench Song {n}",
                        "additional_info": info,
                    }
                )
    start_ts = 1_700_000_000
    listens = [
        {"listened_at": start_ts + 200 * i, "track_metadata": tracks[(i * 7) % len(tracks)]}
        for i in range(args.listens)
    ]
    batches = [listens[i : i + args.batch] for i in range(0, len(listens), args.batch)]

    def run(send) -> tuple[float, float]:
        started, cpu = time.perf_counter(), time.process_time()
        for batch in batches:
            response = send(batch)
            assert response.status_code == 200, response.content[:300]
        return time.perf_counter() - started, time.process_time() - cpu

    def listenbrainz(token: str):
        client = Client()

        def send(batch):
            body = json.dumps({"listen_type": "import", "payload": batch})
            return client.post(
                "/1/submit-listens",
                body,
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Token {token}",
            )

        return send

    new_wall, new_cpu = run(listenbrainz(tokens[0]))
    stored = Play.objects.filter(user=people[0]).count()
    assert stored == args.listens, stored
    known_wall, known_cpu = run(listenbrainz(tokens[1]))

    # The same plays by item id, as a client that already knows Encore's ids sends them.
    item_of: dict[str, int] = {}
    events: dict[str, datetime] = {}
    for cid, item, moment in Play.objects.filter(user=people[0]).values_list(
        "client_event_id", "item_id", "started_at"
    ):
        assert cid is not None and moment is not None
        item_of[cid], events[cid] = item, moment
    ordered = sorted(item_of, key=lambda cid: events[cid])
    plays = [
        {
            "type": "play",
            "client_event_id": cid,
            "item": item_of[cid],
            "started_at": events[cid].isoformat(),
            "seconds_played": 180,
            "completed": True,
        }
        for cid in ordered
    ]
    bulk_batches = [plays[i : i + args.batch] for i in range(0, len(plays), args.batch)]
    client = Client()

    started, cpu = time.perf_counter(), time.process_time()
    for batch in bulk_batches:
        response = client.post(
            "/api/events/bulk/",
            json.dumps(batch),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {tokens[2]}",
        )
        assert response.status_code == 200, response.content[:300]
    bulk_wall, bulk_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert Play.objects.filter(user=people[2]).count() == args.listens

    n = args.listens
    print(f"{n} listens in batches of {args.batch} ({len(batches)} requests each)")
    print(
        f"submit-listens, new tracks:   {new_wall:6.2f} s  {n / new_wall:7.0f} listens/s "
        f"(CPU {new_cpu:.2f} s)"
    )
    print(
        f"submit-listens, known tracks: {known_wall:6.2f} s  {n / known_wall:7.0f} listens/s "
        f"(CPU {known_cpu:.2f} s)"
    )
    print(
        f"/api/events/bulk/, same plays: {bulk_wall:5.2f} s  {n / bulk_wall:7.0f} plays/s "
        f"(CPU {bulk_cpu:.2f} s)"
    )
    print(
        f"ratio to bulk (wall): new tracks {bulk_wall / new_wall:.2f}, "
        f"known tracks {bulk_wall / known_wall:.2f}"
    )
    # On a shared machine the wall clock also counts waiting for a core: CPU is steadier.
    print(
        f"ratio to bulk (CPU):  new tracks {bulk_cpu / new_cpu:.2f}, "
        f"known tracks {bulk_cpu / known_cpu:.2f}"
    )
    print(f"database: {os.environ['DATABASE_URL'].split('@')[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
