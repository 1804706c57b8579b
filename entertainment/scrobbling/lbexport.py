"""A ListenBrainz export ZIP (Settings → Export) read into Encore plays.

The archive holds `user.json`, `listens/<year>/<month>.jsonl` (one listen per line, months
numbered without a leading zero, months without listens left out), `feedback.jsonl` and
`pinned_recording.jsonl`. Only the listens are read. Each line is a listen as the API
returns it: `listened_at` and `inserted_at` (Unix seconds, possibly with a fraction),
`recording_msid`, and `track_metadata` with ListenBrainz's own match in `mbid_mapping` (null
when it found none), whose MusicBrainz ids serve as hints where the player sent none.

Every line is checked first, as submit-listens checks an `import`; a bad one stops the import
with "listens/2024/3.jsonl:17: message" and nothing stored. Then all listens are stored in one
transaction (listens.store), idempotently: a listen already stored, by an earlier import or by
a scrobbler, is counted as a duplicate.
"""

from __future__ import annotations

import re
import uuid
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import orjson

from entertainment.accounts.models import User

from .listens import Listen, ListenError, Stored, check_listen, store

LISTEN_FILE = re.compile(r"(?:^|/)listens/(\d{4})/(\d{1,2})\.jsonl$")
# An exported line holds one listen with ListenBrainz's mapping: a few kilobytes.
MAX_LINE_BYTES = 1024 * 1024
MAX_LISTENS = 2_000_000
_EXPORT_ONLY = ("inserted_at", "recording_msid", "user_name", "user_id")
_MSIDS = ("recording_msid", "release_msid", "artist_msid")


class ExportError(ValueError):
    """The archive cannot be imported; nothing was stored. The message names file and line."""


def _hints(mapping: Any) -> dict[str, str]:
    """MusicBrainz ids from ListenBrainz's own match of the listen, when valid."""
    if not isinstance(mapping, dict):
        return {}
    found: dict[str, str] = {}
    artists = mapping.get("artist_mbids")
    wanted = {
        "recording_mbid": mapping.get("recording_mbid"),
        "release_mbid": mapping.get("release_mbid"),
        "artist_mbid": artists[0] if isinstance(artists, list) and artists else None,
    }
    for key, value in wanted.items():
        if isinstance(value, str):
            try:
                found[key] = str(uuid.UUID(value))
            except ValueError:
                continue
    return found


def _as_submitted(raw: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """An exported listen as a client would have submitted it, and its mapping's hints."""
    if not isinstance(raw, dict):
        raise ListenError("a listen is a JSON object")
    listen = {key: value for key, value in raw.items() if key not in _EXPORT_ONLY}
    metadata = listen.get("track_metadata")
    hints: dict[str, str] = {}
    if isinstance(metadata, dict):
        metadata = dict(metadata)
        hints = _hints(metadata.pop("mbid_mapping", None))
        metadata.pop("recording_msid", None)
        info = metadata.get("additional_info")
        if isinstance(info, dict):
            metadata["additional_info"] = {k: v for k, v in info.items() if k not in _MSIDS}
        listen["track_metadata"] = metadata
    return listen, hints


def _listen_files(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    found = []
    for info in archive.infolist():
        if not info.is_dir() and (match := LISTEN_FILE.search(info.filename)):
            found.append(((int(match[1]), int(match[2]), info.filename), info))
    return [info for _, info in sorted(found, key=lambda pair: pair[0])]


def read_export(source: str | Path | IO[bytes]) -> list[Listen]:
    """Every listen of the archive, checked; ExportError names the first bad line."""
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExportError(f"not a ZIP archive ({exc})") from None
    listens: list[Listen] = []
    with archive:
        files = _listen_files(archive)
        if not files:
            raise ExportError(
                "no listens/<year>/<month>.jsonl files in it: is it a ListenBrainz export?"
            )
        for info in files:
            with archive.open(info) as stream:
                number = 0
                while line := stream.readline(MAX_LINE_BYTES + 1):
                    number += 1
                    where = f"{info.filename}:{number}"
                    if len(line) > MAX_LINE_BYTES:
                        raise ExportError(f"{where}: longer than {MAX_LINE_BYTES} bytes")
                    if not line.strip():
                        continue
                    try:
                        raw = orjson.loads(line)
                    except orjson.JSONDecodeError as exc:
                        raise ExportError(f"{where}: not JSON ({exc})") from None
                    try:
                        submitted, hints = _as_submitted(raw)
                        listen = check_listen(submitted, "import")
                    except ListenError as error:
                        raise ExportError(f"{where}: {error.message}") from None
                    track = listen.track
                    listen = replace(
                        listen,
                        track=replace(
                            track,
                            recording_mbid=track.recording_mbid or hints.get("recording_mbid", ""),
                            release_mbid=track.release_mbid or hints.get("release_mbid", ""),
                            artist_mbid=track.artist_mbid or hints.get("artist_mbid", ""),
                        ),
                    )
                    listens.append(listen)
                    if len(listens) > MAX_LISTENS:
                        raise ExportError(f"more than {MAX_LISTENS} listens: split the archive")
    return listens


def import_export(user: User, source: str | Path | IO[bytes]) -> Stored:
    """Reads and stores a ListenBrainz export for `user` (the function the pages call)."""
    return store(user, read_export(source))
