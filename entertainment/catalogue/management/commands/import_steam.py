"""`manage.py import_steam FILE`: games, players and hours played from steam-200k.csv.

Each line: user id, game title, behaviour ("purchase" or "play"), value (1 for a purchase,
hours for a play), 0; comma-separated, titles quoted when they hold commas, no header.

Games become game items, found again by their title (the file has no Steam app ids) as
ExternalId steam "title:<title>". A "play" line becomes one Play row: seconds_played = hours
x 3600, no start time (the source has none), found again on a rerun by its client event id.
A "purchase" on its own stores no activity: owning a game is not playing it, and Play rows
are what the sequence model learns from. The purchased game still enters the catalogue and
the buyer still gets an account. Where a person has several "play" lines for one game, the
largest number of hours counts (the file repeats some lines).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from entertainment.catalogue.importing import (
    EXTERNAL_ID_MAX,
    Counts,
    ImportCommand,
    ItemRecord,
    LineError,
    PlayRecord,
    Progress,
    csv_records,
    decimal_number,
    ensure_items,
    imported_people,
    upsert_plays,
    whole_number,
)
from entertainment.catalogue.models import Kind

SOURCE = "steam"


def game_key(title: str) -> str:
    key = f"title:{title}"
    if len(key) <= EXTERNAL_ID_MAX:
        return key
    return "title-sha1:" + hashlib.sha1(title.encode(), usedforsecurity=False).hexdigest()


def event_id(title: str) -> str:
    return "steam:" + hashlib.sha1(title.encode(), usedforsecurity=False).hexdigest()


@dataclass
class Library:
    games: dict[str, ItemRecord] = field(default_factory=dict)
    people: list[str] = field(default_factory=list)
    # (user, title) -> hours
    hours: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    purchases_only: int = 0


class Command(ImportCommand):
    help = "Import games, players and hours played from a Steam behaviour CSV (steam-200k)."
    source = SOURCE
    path_help = "the steam-200k.csv file"

    def read(self, path: Path, encoding: str | None, progress: Progress, options: Any) -> Library:
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        library = Library()
        purchased: set[tuple[str, str]] = set()
        for n, fields in csv_records(path, encoding or "utf-8", (4, 5), progress):
            user = str(whole_number(path, n, fields[0], "the user id", 0))
            title = fields[1].strip()
            if not title:
                raise LineError(path, n, "the game title is empty")
            behaviour = fields[2].strip().lower()
            value = decimal_number(path, n, fields[3], "the value")
            if behaviour == "purchase":
                purchased.add((user, title))
            elif behaviour == "play":
                key = (user, title)
                library.hours[key] = max(value, library.hours.get(key, Decimal(0)))
            else:
                raise LineError(
                    path, n, f"the behaviour must be 'purchase' or 'play', got {fields[2]!r}"
                )
            if title not in library.games:
                library.games[title] = ItemRecord(key=game_key(title), title=title)
            library.people.append(user)
        library.purchases_only = len(purchased - library.hours.keys())
        return library

    def write(self, loaded: Library, counts: Counts, progress: Progress) -> None:
        if loaded.purchases_only:
            counts.add(
                "skipped", "purchases without play (no activity stored)", loaded.purchases_only
            )
        items = ensure_items(Kind.GAME, SOURCE, list(loaded.games.values()), counts, progress)
        people = imported_people(SOURCE, loaded.people, counts, progress)
        upsert_plays(
            SOURCE,
            [
                PlayRecord(
                    user=people[user],
                    item=items[loaded.games[title].key],
                    event_id=event_id(title),
                    seconds_played=round(hours * 3600),
                )
                for (user, title), hours in sorted(loaded.hours.items())
            ],
            counts,
            progress,
        )
