"""Plex webhooks (support.plex.tv, "Webhooks"): a scrobble becomes a play, a rating a rating.

Plex posts multipart/form-data with the event as JSON in the `payload` part (and, for some
events, a poster in a second part, which is not read). The JSON's top level holds `event`,
the flags `user` and `owner`, and `Account`, `Server`, `Player` and `Metadata`; a rating
(`media.rate`) carries `rating`, 0-10. A webhook is configured by one Plex account but also
hears what shared users play on that account's server: only events flagged `user` (the
account's own) are recorded. Films and music tracks are recorded; other types (episodes,
photos) and other events are ignored.

Items are found by their Plex guids (`imdb://tt…`, `tmdb://…`, `mbid://…` in the `Guid` list,
or the older agents' `com.plexapp.agents.imdb://tt…?lang=en` in `guid`), then by title and
year (films) or artist and title (tracks); the ones the catalogue lacks are added, marked
with the source "plex".
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import orjson
from django.utils import timezone

from entertainment.accounts.models import User
from entertainment.activity.recording import record_play, record_rating
from entertainment.catalogue.models import ExternalId, Item, Kind
from entertainment.catalogue.names import name_digest

from .matching import Track, resolve, retrying

SOURCE = ExternalId.Source.PLEX
HANDLED_EVENTS = ("media.scrobble", "media.rate")
TITLE_MAX = Item._meta.get_field("title").max_length or 300
_GUID = re.compile(
    r"^(?:(?P<scheme>imdb|tmdb|mbid)://|com\.plexapp\.agents\.(?P<agent>imdb|themoviedb)://)"
    r"(?P<value>[^?/]+)"
)
_AGENTS = {"themoviedb": "tmdb", "imdb": "imdb"}


class PlexError(ValueError):
    """The payload is not a Plex webhook's; the message says why."""


@dataclass(frozen=True)
class Outcome:
    recorded: str  # "play", "rating", or "" when ignored
    detail: str


def parse(text: str) -> dict[str, Any]:
    try:
        payload = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise PlexError(f"The payload part is not JSON ({exc}).") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
        raise PlexError("The payload is not a Plex webhook: no event.")
    return payload


def guids(metadata: dict[str, Any]) -> dict[str, str]:
    """External ids by source (imdb, tmdb, mbid) from the `Guid` list and the older `guid`."""
    found: dict[str, str] = {}
    listed = metadata.get("Guid")
    values = [
        g.get("id") for g in (listed if isinstance(listed, list) else []) if isinstance(g, dict)
    ]
    values.append(metadata.get("guid"))
    for value in values:
        if isinstance(value, str) and (match := _GUID.match(value.strip())):
            source = match["scheme"] or _AGENTS[match["agent"]]
            found.setdefault(source, match["value"])
    return found


def _text(metadata: dict[str, Any], key: str) -> str:
    value = metadata.get(key)
    return value.strip() if isinstance(value, str) and "\x00" not in value else ""


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _film(metadata: dict[str, Any]) -> int:
    title = _text(metadata, "title")
    if not title:
        raise PlexError("The film has no title.")
    year = _whole(metadata.get("year"))
    ids = guids(metadata)
    for source in (ExternalId.Source.IMDB, ExternalId.Source.TMDB):
        if source in ids:
            found = (
                ExternalId.objects.filter(source=source, value=ids[source])
                .values_list("item_id", flat=True)
                .first()
            )
            if found is not None:
                return int(found)
    guid = _text(metadata, "guid")
    mark = guid[:255] if guid else f"movie:{name_digest(title, str(year or ''))}"
    marked = (
        ExternalId.objects.filter(source=SOURCE, value=mark)
        .values_list("item_id", flat=True)
        .first()
    )
    if marked is not None:
        return int(marked)
    same = Item.objects.filter(kind=Kind.FILM, title__iexact=title[:TITLE_MAX], year=year)
    existing = same.order_by("pk").values_list("pk", flat=True).first()
    if existing is not None:
        return int(existing)
    item = Item.objects.create(kind=Kind.FILM, title=title[:TITLE_MAX], year=year)
    ExternalId.objects.create(item=item, source=SOURCE, value=mark)
    for source in (ExternalId.Source.IMDB, ExternalId.Source.TMDB):
        if source in ids:
            ExternalId.objects.get_or_create(
                source=source, value=ids[source][:255], defaults={"item": item}
            )
    return item.pk


def _track(metadata: dict[str, Any]) -> int:
    title = _text(metadata, "title")
    # A track's own artist (a compilation's) is its originalTitle; the album's is grandparent.
    artist = _text(metadata, "originalTitle") or _text(metadata, "grandparentTitle")
    if not title or not artist:
        raise PlexError("The track has no title or no artist.")
    ids = guids(metadata)
    recording = ""
    if "mbid" in ids:
        try:
            recording = str(uuid.UUID(ids["mbid"]))
        except ValueError:
            recording = ""
    duration = _whole(metadata.get("duration"))
    track = Track(
        artist=artist,
        title=title,
        album=_text(metadata, "parentTitle"),
        recording_mbid=recording,
        duration_s=max(1, round(duration / 1000)) if duration else None,
        position=_whole(metadata.get("index")),
    )
    return resolve([track], SOURCE)[0]


def _item(metadata: dict[str, Any]) -> int | None:
    kind = metadata.get("type")
    if kind == "movie":
        return _film(metadata)
    if kind == "track":
        return _track(metadata)
    return None


def _stars(value: Any) -> Decimal | None:
    """Plex's 0-10 as half stars (7 -> 3.5); None for 0 or less (Plex's "not rated")."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PlexError("The rating is not a number.")
    try:
        points = Decimal(str(value))
    except InvalidOperation:
        raise PlexError("The rating is not a number.") from None
    if not points.is_finite() or points > 10:
        raise PlexError("The rating is not between 0 and 10.")
    if points <= 0:
        return None
    return max(points.quantize(Decimal(1), rounding=ROUND_HALF_UP), Decimal(1)) / 2


def handle(user: User, payload: dict[str, Any]) -> Outcome:
    event = payload["event"]
    if event not in HANDLED_EVENTS:
        return Outcome("", f"{event} is not recorded.")
    if payload.get("user") is False:
        return Outcome("", "An event of a shared user of the server, not the account's own.")
    metadata = payload.get("Metadata")
    if not isinstance(metadata, dict):
        raise PlexError("The payload has no Metadata.")
    if metadata.get("type") not in ("movie", "track"):
        return Outcome("", f"Items of type {metadata.get('type')!r} are not in the catalogue.")
    stars: Decimal | None = None
    if event == "media.rate":
        raw = payload.get("rating", metadata.get("userRating"))
        stars = _stars(raw) if raw is not None else None
        if stars is None:
            return Outcome("", "The rating was removed; Encore keeps the one it has.")
    if user.privacy.history_paused:
        # Nothing stored, not even a new catalogue item: it would tell what they played.
        return Outcome("", "History is paused: nothing was stored.")

    def work() -> Outcome:
        item_id = _item(metadata)
        assert item_id is not None
        item = Item.objects.get(pk=item_id)
        if stars is not None:
            record_rating(user, item, stars)
            return Outcome("rating", f"Rated {item.title}: {stars} stars.")
        viewed = _whole(metadata.get("lastViewedAt"))
        started = datetime.fromtimestamp(viewed, UTC) if viewed else timezone.now()
        rating_key = _text(metadata, "ratingKey") or str(metadata.get("ratingKey") or item_id)
        event_id = f"plex:{rating_key[:32]}:{int(started.timestamp())}"
        duration = _whole(metadata.get("duration"))
        record_play(
            user,
            item,
            started_at=started,
            seconds_played=round(duration / 1000) if duration else 0,
            completed=True,
            client_event_id=event_id,
        )
        return Outcome("play", f"Played {item.title}.")

    return retrying(work)
