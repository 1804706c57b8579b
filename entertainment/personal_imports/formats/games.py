"""Game libraries: Steam's GetOwnedGames JSON and a Playnite library exported as JSON."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from entertainment.catalogue.models import ExternalId, Kind
from entertainment.catalogue.names import title_key

from ..models import Format
from .base import (
    _TITLE_MAX,
    MAX_PLAY_SECONDS,
    ImportFileError,
    Parsed,
    SourceRow,
    _At,
    _iso,
    _json,
    _moment,
    _text,
    _whole,
    _year,
    event_id,
    halves,
)


def read_steam(data: bytes, filename: str) -> Parsed:
    name = filename or "GetOwnedGames.json"
    document = _json(data, name)
    response = document.get("response") if isinstance(document, dict) else None
    if not isinstance(response, dict):
        raise ImportFileError(f"{name}: expected an object with `response` (GetOwnedGames)")
    games = response.get("games", [])
    if not isinstance(games, list):
        raise ImportFileError(f"{name}: response.games: expected a list")
    parsed = Parsed(Format.STEAM, [])
    for index, game in enumerate(games):
        at = _At(name, f"response.games[{index}]")
        if not isinstance(game, dict):
            raise ImportFileError(f"{at.where}: expected an object")
        appid = game.get("appid")
        if isinstance(appid, bool) or not isinstance(appid, int) or appid <= 0:
            raise at.fail("appid", f"not an app id: {appid!r}")
        raw_name = game.get("name")
        if raw_name is not None and not isinstance(raw_name, str):
            raise at.fail("name", f"not text: {raw_name!r}")
        title = at.check("name", _text, raw_name or "", "name", _TITLE_MAX, False)
        minutes = at.check("playtime_forever", _whole, game.get("playtime_forever"), "playtime")
        last = game.get("rtime_last_played")
        if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 0):
            raise at.fail("rtime_last_played", f"not a Unix time: {last!r}")
        if minutes == 0:
            parsed.skipped += 1
            continue
        play = {
            "type": "play",
            "client_event_id": event_id("steam", "play", appid),
            "started_at": _iso(datetime.fromtimestamp(last, UTC)) if last else None,
            "seconds_played": min(minutes * 60, MAX_PLAY_SECONDS),
        }
        parsed.rows.append(
            SourceRow(
                at.where,
                Kind.GAME,
                title or f"Steam app {appid}",
                None,
                ids={ExternalId.Source.STEAM: str(appid)},
                events=[play],
            )
        )
    return parsed


_PLAYNITE_DONE = {"completed", "beaten"}


def _named(value: Any) -> str:
    """A Playnite reference as exported: a name, or an object with its Name."""
    if isinstance(value, dict):
        value = value.get("Name")
    return value.strip() if isinstance(value, str) else ""


def _playnite_year(game: dict[str, Any]) -> int | None:
    if game.get("ReleaseYear") not in (None, ""):
        return _year(game["ReleaseYear"])
    released = game.get("ReleaseDate")
    if isinstance(released, dict):  # Playnite's ReleaseDate struct
        released = released.get("Year") or released.get("ReleaseDate")
    if isinstance(released, int) and not isinstance(released, bool):
        return _year(released)
    if isinstance(released, str) and released.strip():
        match = re.match(r"^\s*(\d{4})", released) or re.search(r"(\d{4})\s*$", released)
        if match is None:
            raise ValueError(f"no year in {released!r}")
        return _year(match[1])
    return None


def _playnite_games(document: Any, name: str) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in ("Games", "games", "Items", "items", "Library", "library"):
            if isinstance(document.get(key), list):
                return list(document[key])
    raise ImportFileError(f"{name}: expected a list of games (a Playnite library export)")


def read_playnite(data: bytes, filename: str) -> Parsed:
    name = filename or "library.json"
    parsed = Parsed(Format.PLAYNITE, [])
    for index, game in enumerate(_playnite_games(_json(data, name), name)):
        at = _At(name, f"[{index}]")
        if not isinstance(game, dict):
            raise ImportFileError(f"{at.where}: expected an object")
        raw = game.get("Name")
        if not isinstance(raw, str):
            raise at.fail("Name", f"not text: {raw!r}")
        title = at.check("Name", _text, raw, "the name")
        year = at.check("ReleaseYear", _playnite_year, game)
        seconds = at.check("Playtime", _whole, game.get("Playtime"), "Playtime")
        count = at.check("PlayCount", _whole, game.get("PlayCount"), "PlayCount")
        last = at.check("LastActivity", _moment, game.get("LastActivity"))
        score = game.get("UserScore")
        if score is not None and (
            isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 100
        ):
            raise at.fail("UserScore", f"not a score from 0 to 100: {score!r}")
        ids: dict[str, str] = {}
        game_id = game.get("GameId")
        if _named(game.get("Source")).lower() == "steam" and str(game_id or "").isdigit():
            ids[ExternalId.Source.STEAM] = str(game_id)
        own = str(game.get("Id") or "") or f"{title_key(title)}|{year or ''}|{index}"
        events: list[dict[str, Any]] = []
        if seconds or count:
            events.append(
                {
                    "type": "play",
                    "client_event_id": event_id("playnite", "play", own),
                    "started_at": _iso(last),
                    "seconds_played": seconds,
                    "play_count": max(count, 1),
                    "completed": _named(game.get("CompletionStatus")).lower() in _PLAYNITE_DONE,
                }
            )
        if score is not None:
            stars = str(halves(Decimal(str(score)) / 20))
            events.append(
                {
                    "type": "rating",
                    "client_event_id": event_id("playnite", "rating", own, stars),
                    "value": stars,
                }
            )
        if not events:
            parsed.skipped += 1
            continue
        parsed.rows.append(SourceRow(at.where, Kind.GAME, title, year, ids=ids, events=events))
    return parsed
