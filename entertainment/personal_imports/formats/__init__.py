"""Personal exports of other services, read into rows of activity to record.

Each reader turns one uploaded file into `SourceRow`s: a title as the source names it (with
its year and ids where it gives them) and the bulk events (entertainment.activity.events) to
record for it, each with a client event id that depends only on the source row, so importing
the same file again stores nothing new. A file that cannot be read raises `ImportFileError`
naming the file and the line (CSV) or the field (JSON); nothing is stored then.

- Letterboxd (Settings → Data → Export): a ZIP holding `diary.csv` (Date, Name, Year,
  Letterboxd URI, Rating, Rewatch, Tags, Watched Date), `ratings.csv` (Date, Name, Year,
  Letterboxd URI, Rating), `reviews.csv` (the diary's columns and Review) and `watched.csv`
  (Date, Name, Year, Letterboxd URI), or one of those files alone. Ratings are 0.5-5 stars.
  Each diary entry is a play on its watched date; a film in watched.csv without a diary entry
  is one play without a date; ratings.csv holds the current rating (a diary's latest rating
  otherwise); a review keeps its rating.
- IMDb (Your ratings → Export): a CSV with Const (tt…), Your Rating (1-10, halved to stars),
  Date Rated, Title, Year, Title Type, ...
- Steam Web API `IPlayerService/GetOwnedGames` (with include_appinfo): `response.games[]`
  with appid, name and playtime_forever (minutes); a game never played records nothing.
- Playnite: a library exported as JSON (a list of games as Playnite's SDK names their
  fields): Name, Playtime (seconds), PlayCount, LastActivity, UserScore (0-100),
  ReleaseYear or ReleaseDate, CompletionStatus, Source and GameId (a Steam app id for Steam
  games); every field but Name may be missing or null.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

from ..models import Format
from .base import MAX_ROWS, ImportFileError, Parsed, SourceRow, _json, event_id, halves
from .games import read_playnite, read_steam
from .imdb import read_imdb
from .letterboxd import read_letterboxd

__all__ = [
    "READERS",
    "ImportFileError",
    "Parsed",
    "SourceRow",
    "detect",
    "event_id",
    "halves",
    "read",
]

READERS: dict[str, Callable[[bytes, str], Parsed]] = {
    Format.LETTERBOXD: read_letterboxd,
    Format.IMDB: read_imdb,
    Format.STEAM: read_steam,
    Format.PLAYNITE: read_playnite,
}


def detect(data: bytes, filename: str) -> str:
    """The format of an uploaded file, from its content; ImportFileError when none fits."""
    name = filename or "the file"
    if not data.strip():
        raise ImportFileError(f"{name}: the file is empty")
    if zipfile.is_zipfile(io.BytesIO(data)):
        return Format.LETTERBOXD
    head = data[:4096].decode("utf-8-sig", "replace").lstrip()
    if head.startswith(("{", "[")):
        document = _json(data, name)  # a broken one is named by its line
        if isinstance(document, dict) and "response" in document:
            return Format.STEAM
        if isinstance(document, list | dict):
            return Format.PLAYNITE
    first_line = head.split("\n", 1)[0]
    if "Const" in first_line and "Your Rating" in first_line:
        return Format.IMDB
    if "Letterboxd URI" in first_line:
        return Format.LETTERBOXD
    raise ImportFileError(
        f"{name}: not an export Encore knows (a Letterboxd ZIP or CSV, an IMDb ratings CSV, "
        "Steam's GetOwnedGames JSON or a Playnite library JSON); choose its format"
    )


def read(format: str, data: bytes, filename: str) -> Parsed:
    if format == Format.AUTO:
        format = detect(data, filename)
    if not data.strip():
        raise ImportFileError(f"{filename or 'the file'}: the file is empty")
    parsed = READERS[format](data, filename)
    if len(parsed.rows) > MAX_ROWS:
        raise ImportFileError(f"{filename}: more than {MAX_ROWS} titles")
    return parsed
