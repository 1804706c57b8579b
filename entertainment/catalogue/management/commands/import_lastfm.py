"""`manage.py import_lastfm DIR`: artists, listeners and play counts from Last.fm HetRec 2011.

Files (tab-separated, with a header line): artists.dat (id, name, url, pictureURL) and
user_artists.dat (userID, artistID, weight) are required; user_taggedartists.dat (userID,
artistID, tagID, day, month, year) with tags.dat (tagID, tagValue) are read when present.

Each artist becomes a music item of type "artist". Each listener's count for an artist
becomes one Play row with play_count = weight and no start time (the source has none), found
again on a rerun by its client event id "lastfm:<artistID>". Tags become music genres: for
each artist, the tags the most listeners gave it (--tags-per-artist, at least
--min-tag-listeners listeners each).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from entertainment.catalogue.importing import (
    Counts,
    ImportCommand,
    ItemRecord,
    LineError,
    PlayRecord,
    Progress,
    ensure_items,
    imported_people,
    required_files,
    split_records,
    upsert_plays,
    whole_number,
)
from entertainment.catalogue.models import Kind, MusicType

SOURCE = "lastfm"


@dataclass
class Listening:
    artists: dict[str, ItemRecord]
    # (user, artist) -> weight
    plays: dict[tuple[str, str], int]
    skipped: Counter[str] = field(default_factory=Counter)


class Command(ImportCommand):
    help = "Import artists, listeners and play counts from a Last.fm HetRec 2011 directory."
    source = SOURCE
    path_help = "the hetrec2011-lastfm-2k directory"

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--tags-per-artist", type=int, default=5)
        parser.add_argument("--min-tag-listeners", type=int, default=1)

    def read(self, path: Path, encoding: str | None, progress: Progress, options: Any) -> Listening:
        if not path.is_dir():
            raise CommandError(f"{path} is not a directory")
        encoding = encoding or "utf-8"
        artists_dat, user_artists_dat = required_files(path, "artists.dat", "user_artists.dat")
        artists: dict[str, ItemRecord] = {}
        for n, fields in split_records(artists_dat, encoding, "\t", (2, 4), progress, header=None):
            if n == 1 and fields[0].strip().lower() == "id":
                continue
            key = str(whole_number(artists_dat, n, fields[0], "the artist id", 1))
            name = fields[1].strip()
            if not name:
                raise LineError(artists_dat, n, "the artist name is empty")
            artists[key] = ItemRecord(key=key, title=name, music_type=MusicType.ARTIST)

        listening = Listening(artists, {})
        for n, (user, artist, weight) in split_records(
            user_artists_dat,
            encoding,
            "\t",
            3,
            progress,
            header=("userID", "artistID", "weight"),
        ):
            user_id = str(whole_number(user_artists_dat, n, user, "userID", 1))
            artist_id = str(whole_number(user_artists_dat, n, artist, "artistID", 1))
            count = whole_number(user_artists_dat, n, weight, "the play count (weight)", 1)
            if artist_id not in artists:
                raise LineError(user_artists_dat, n, f"artist {artist_id} is not in artists.dat")
            listening.plays[(user_id, artist_id)] = count

        tags_dat, tagged_dat = path / "tags.dat", path / "user_taggedartists.dat"
        if tags_dat.is_file() != tagged_dat.is_file():
            raise CommandError(f"{path}: tags.dat and user_taggedartists.dat go together")
        if tags_dat.is_file():
            self.read_tags(tags_dat, tagged_dat, encoding, progress, options, listening)
        return listening

    def read_tags(
        self,
        tags_dat: Path,
        tagged_dat: Path,
        encoding: str,
        progress: Progress,
        options: Any,
        listening: Listening,
    ) -> None:
        tags: dict[str, str] = {}
        for n, (tag_id, value) in split_records(
            tags_dat, encoding, "\t", 2, progress, header=("tagID", "tagValue")
        ):
            tags[str(whole_number(tags_dat, n, tag_id, "tagID", 1))] = value.strip()
        listeners: dict[str, Counter[str]] = defaultdict(Counter)
        seen: set[tuple[str, str, str]] = set()
        for n, fields in split_records(
            tagged_dat,
            encoding,
            "\t",
            6,
            progress,
            header=("userID", "artistID", "tagID", "day", "month", "year"),
        ):
            user = str(whole_number(tagged_dat, n, fields[0], "userID", 1))
            artist = str(whole_number(tagged_dat, n, fields[1], "artistID", 1))
            tag = str(whole_number(tagged_dat, n, fields[2], "tagID", 1))
            for value, what in zip(fields[3:], ("day", "month", "year"), strict=True):
                whole_number(tagged_dat, n, value, f"the {what}")
            if tag not in tags:
                raise LineError(tagged_dat, n, f"tag {tag} is not in tags.dat")
            if artist not in listening.artists:
                # HetRec tags some artists it does not list; without a name there is no item.
                listening.skipped["tags of unlisted artists"] += 1
                continue
            if (user, artist, tag) not in seen and tags[tag]:
                seen.add((user, artist, tag))
                listeners[artist][tags[tag]] += 1
        for artist, counter in listeners.items():
            best = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
            listening.artists[artist].genres = [
                tag
                for tag, n in best[: options["tags_per_artist"]]
                if n >= options["min_tag_listeners"]
            ]

    def write(self, loaded: Listening, counts: Counts, progress: Progress) -> None:
        for what, n in loaded.skipped.items():
            counts.add("skipped", what, n)
        items = ensure_items(Kind.MUSIC, SOURCE, list(loaded.artists.values()), counts, progress)
        people = imported_people(SOURCE, (u for u, _ in loaded.plays), counts, progress)
        upsert_plays(
            SOURCE,
            [
                PlayRecord(
                    user=people[user],
                    item=items[artist],
                    event_id=f"lastfm:{artist}",
                    play_count=weight,
                )
                for (user, artist), weight in sorted(loaded.plays.items())
            ],
            counts,
            progress,
        )
