"""ListenBrainz listens: checked as ListenBrainz checks them, stored as Encore plays.

The limits and the error messages are ListenBrainz's own (its api_tools.py and JSON
documentation), so a client written against ListenBrainz reads Encore's answers unchanged.
A submission is checked whole before anything is stored: one bad listen and nothing is.

A listen is stored as a play through bulk ingestion (activity.ingest), so every rule of
Encore's activity holds: nothing is stored while the person's history is paused, and a listen
sent again is stored once. Its client event id is derived from what identifies a listen (the
person, `listened_at` and the track's normalised artist and title), so the API and an export
import of the same listen agree on it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from django.conf import settings

from entertainment.accounts.models import User
from entertainment.activity.ingest import IngestResult, ingest

from .matching import Track, chunks, resolve, retrying

MAX_LISTENS_PER_REQUEST = 1000
MAX_LISTEN_SIZE = 10240
MAX_LISTEN_PAYLOAD_SIZE = MAX_LISTEN_SIZE * MAX_LISTENS_PER_REQUEST
MAX_TAGS_PER_LISTEN = 50
MAX_TAG_SIZE = 64
LISTEN_MINIMUM_TS = 1033430400
# ListenBrainz allows a listen up to an hour ahead of its clock.
LISTENED_AT_ALLOWED_SKEW_S = 3600
MAX_DURATION_S = 24 * 24 * 3600
LISTEN_TYPES = ("single", "playing_now", "import")
SOURCE = "listenbrainz"
_SINGLE_MBIDS = ("release_mbid", "recording_mbid", "release_group_mbid", "track_mbid")
_MULTI_MBIDS = ("artist_mbids", "work_mbids")


class ListenError(ValueError):
    """The submission is refused; the message is ListenBrainz's words for why."""

    def __init__(self, message: str, index: int | None = None) -> None:
        self.message = message if index is None else f"{message} (listen {index} of the payload)"
        super().__init__(self.message)


@dataclass(frozen=True)
class Listen:
    listened_at: int | None
    track: Track

    @property
    def client_event_id(self) -> str:
        return f"lb:{self.listened_at}:{self.track.digest[:24]}"


@dataclass
class Stored:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped_paused: int = 0
    tracks: list[int] = field(default_factory=list)

    def add(self, result: IngestResult) -> None:
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.skipped_paused += result.skipped_paused


# --- Checking ---------------------------------------------------------------------------------


def _safe(text: str) -> bool:
    return "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)


def _required_name(metadata: dict[str, Any], key: str) -> str:
    value = metadata.get(key)
    if not value:
        raise ListenError(f"JSON document does not contain required track_metadata.{key}.")
    if not isinstance(value, str):
        raise ListenError(f"{key} must be a single string.")
    if not value.strip():
        raise ListenError(f"JSON document does not contain required track_metadata.{key}.")
    if not _safe(value):
        raise ListenError(f"track_metadata.{key} contains a null character.")
    return value.strip()


def _mbid(value: Any, key: str) -> str:
    try:
        if not isinstance(value, str):
            raise ValueError
        return str(uuid.UUID(value))
    except ValueError:
        raise ListenError(f"{key} MBID format invalid.") from None


def _listened_at(value: Any) -> int:
    if isinstance(value, bool):
        raise ListenError("JSON document must contain an int value for listened_at.")
    try:
        moment = int(value) if not isinstance(value, str) else int(value.strip())
    except (TypeError, ValueError, OverflowError):
        raise ListenError("JSON document must contain an int value for listened_at.") from None
    if moment < LISTEN_MINIMUM_TS:
        raise ListenError(
            "Value for key listened_at is too low. listened_at timestamp should be greater "
            f"than {LISTEN_MINIMUM_TS}."
        )
    if moment > int(time.time()) + LISTENED_AT_ALLOWED_SKEW_S:
        raise ListenError("Value for key listened_at is too high.")
    return moment


def _duration(info: dict[str, Any]) -> int | None:
    if "duration" in info and "duration_ms" in info:
        raise ListenError("JSON document should not contain both duration and duration_ms.")
    for key, per_second in (("duration", 1), ("duration_ms", 1000)):
        if key not in info:
            continue
        value = info[key]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ListenError(f"Value for {key} is invalid, should be a positive integer.")
        if value > MAX_DURATION_S * per_second:
            raise ListenError(
                f"Value for {key} is too large, max permitted value is "
                f"{MAX_DURATION_S * per_second}."
            )
        return max(1, round(value / per_second))
    return None


def _additional_info(info: Any) -> dict[str, Any]:
    if info is None:
        return {}
    if not isinstance(info, dict):
        raise ListenError("track_metadata.additional_info must be a JSON object.")
    tags = info.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or len(tags) > MAX_TAGS_PER_LISTEN:
            raise ListenError(
                f"JSON document may not contain more than {MAX_TAGS_PER_LISTEN} items in "
                "track_metadata.additional_info.tags."
            )
        for tag in tags:
            if not isinstance(tag, str) or len(tag) > MAX_TAG_SIZE:
                raise ListenError(
                    "JSON document may not contain track_metadata.additional_info.tags "
                    f"longer than {MAX_TAG_SIZE} characters."
                )
    checked: dict[str, Any] = {}
    for key in _SINGLE_MBIDS:
        if info.get(key):
            checked[key] = _mbid(info[key], key)
    for key in _MULTI_MBIDS:
        values = info.get(key)
        if not values:
            continue
        if not isinstance(values, list):
            raise ListenError(f"{key} MBID format invalid.")
        checked[key] = [_mbid(value, key) for value in values]
    checked["duration_s"] = _duration(info)
    number = info.get("tracknumber")
    if isinstance(number, str) and number.strip().isdigit():
        number = int(number.strip())
    checked["position"] = (
        number if isinstance(number, int) and not isinstance(number, bool) and number > 0 else None
    )
    return checked


def check_listen(listen: Any, listen_type: str) -> Listen:
    """One listen of a payload, as ListenBrainz's validate_listen checks it."""
    if not isinstance(listen, dict):
        raise ListenError("Each listen in the payload must be a JSON object.")
    listened_at: int | None = None
    if listen_type == "playing_now":
        if "listened_at" in listen:
            raise ListenError(
                "JSON document must not contain listened_at while submitting playing_now."
            )
        if set(listen) - {"track_metadata"}:
            raise ListenError(
                "JSON document may only contain track_metadata as top level key when "
                "submitting playing_now."
            )
    else:
        if "listened_at" not in listen:
            raise ListenError("JSON document must contain the key listened_at at the top level.")
        if set(listen) - {"listened_at", "track_metadata"}:
            raise ListenError(
                "JSON document may only contain listened_at and track_metadata top level keys"
            )
        listened_at = _listened_at(listen["listened_at"])
    metadata = listen.get("track_metadata")
    if not isinstance(metadata, dict):
        raise ListenError(
            "JSON document does not contain a valid metadata.track_name and/or "
            "track_metadata.artist_name."
        )
    title = _required_name(metadata, "track_name")
    artist = _required_name(metadata, "artist_name")
    album = metadata.get("release_name") or ""
    if not isinstance(album, str) or not _safe(album):
        raise ListenError("release_name must be a single string.")
    info = _additional_info(metadata.get("additional_info"))
    if len(orjson.dumps(listen)) > MAX_LISTEN_SIZE:
        raise ListenError(
            "JSON document is too large. In aggregate, listens may not be larger than "
            f"{MAX_LISTEN_SIZE} characters."
        )
    return Listen(
        listened_at,
        Track(
            artist=artist,
            title=title,
            album=album.strip(),
            recording_mbid=info.get("recording_mbid", ""),
            release_mbid=info.get("release_mbid", ""),
            artist_mbid=(info.get("artist_mbids") or [""])[0],
            duration_s=info.get("duration_s"),
            position=info.get("position"),
        ),
    )


def check_submission(body: bytes) -> tuple[str, list[Listen]]:
    """(listen_type, listens) of a submit-listens body, or ListenError."""
    if len(body) > MAX_LISTEN_PAYLOAD_SIZE:
        raise ListenError(
            f"Payload too large. Payload may not be larger than {MAX_LISTEN_PAYLOAD_SIZE} bytes."
        )
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ListenError(f"Cannot parse JSON document: {exc}") from None
    if not isinstance(data, dict):
        raise ListenError(
            "Invalid JSON document submitted. Top level of JSON document should be a json object."
        )
    if "payload" not in data or "listen_type" not in data:
        raise ListenError("Invalid JSON document submitted.")
    payload = data["payload"]
    if not isinstance(payload, list):
        raise ListenError("The payload in the JSON document should be a list of listens.")
    if not payload:
        raise ListenError("JSON document does not contain any listens")
    if len(payload) > MAX_LISTENS_PER_REQUEST:
        raise ListenError(
            "Too many listens. You may not submit more than "
            f"{MAX_LISTENS_PER_REQUEST} listens at once."
        )
    if len(body) > len(payload) * MAX_LISTEN_SIZE:
        raise ListenError(
            "JSON document is too large. In aggregate, listens may not be larger than "
            f"{MAX_LISTEN_SIZE} characters."
        )
    listen_type = data["listen_type"]
    if listen_type not in LISTEN_TYPES:
        raise ListenError("JSON document requires a valid listen_type key.")
    if listen_type in ("single", "playing_now") and len(payload) > 1:
        raise ListenError(
            "JSON document contains more than listen for a single/playing_now. "
            "It should contain only one."
        )
    listens = []
    for index, listen in enumerate(payload):
        try:
            listens.append(check_listen(listen, listen_type))
        except ListenError as error:
            raise ListenError(error.message, index) from None
    return listen_type, listens


# --- Storing ----------------------------------------------------------------------------------


def store(user: User, listens: Sequence[Listen], source: str = SOURCE) -> Stored:
    """Stores checked listens (not playing_now) as plays, adding unknown tracks; all or nothing.

    A person whose history is paused gets nothing stored, and no catalogue item is added from
    their listens either: a new item would tell what they played.
    """
    if user.privacy.history_paused:
        return Stored(received=len(listens), skipped_paused=len(listens))
    per_call = min(5000, settings.BULK_INGEST_MAX_EVENTS)

    def work() -> Stored:
        outcome = Stored(received=len(listens))
        outcome.tracks = resolve([listen.track for listen in listens], source)
        events = [
            {
                "type": "play",
                "item": item,
                "client_event_id": listen.client_event_id,
                "started_at": datetime.fromtimestamp(listen.listened_at or 0, UTC).isoformat(),
                "seconds_played": listen.track.duration_s or 0,
                # A client submits a listen once half the track or 4 minutes are played.
                "completed": True,
            }
            for listen, item in zip(listens, outcome.tracks, strict=True)
        ]
        for part in chunks(events, per_call):
            outcome.add(ingest(user, part))
        return outcome

    return retrying(work)
