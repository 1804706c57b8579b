"""Letterboxd's export (Settings → Data → Export your data): a ZIP of CSV files, or one alone."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from entertainment.catalogue.models import Kind
from entertainment.catalogue.names import title_key

from ..models import Format
from .base import (
    _REVIEW_MAX,
    MAX_MEMBER_BYTES,
    ImportFileError,
    Parsed,
    SourceRow,
    _checked,
    _day,
    _iso,
    _Record,
    _stars,
    _table,
    _text,
    _year,
    event_id,
)

LETTERBOXD_FILES = ("diary.csv", "ratings.csv", "reviews.csv", "watched.csv")
_FILM = ("Name", "Year", "Letterboxd URI")


@dataclass
class _Film:
    where: str
    title: str
    year: int | None
    plays: list[dict[str, Any]] = field(default_factory=list)
    rating: tuple[str, Decimal] | None = None  # (when, stars): ratings.csv wins
    diary_rating: tuple[str, Decimal] | None = None
    review: tuple[str, dict[str, Any]] | None = None
    watched: bool = False


def _film(films: dict[tuple[str, int | None], _Film], record: _Record) -> _Film:
    title = _checked(record, "Name", lambda v: _text(v, "the title"))
    year = _checked(record, "Year", _year)
    key = (title_key(title), year)
    if key not in films:
        films[key] = _Film(record.where, title, year)
    return films[key]


def _letterboxd_members(data: bytes, filename: str) -> dict[str, tuple[str, bytes]]:
    """The export's CSV files by base name: {"diary.csv": ("diary.csv", bytes)}."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        base = filename.rsplit("/", 1)[-1].lower()
        name = base if base in LETTERBOXD_FILES else _guess_letterboxd_file(data)
        return {name: (filename or name, data)}
    found: dict[str, tuple[str, bytes]] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = sorted(archive.infolist(), key=lambda m: (m.filename.count("/"), m.filename))
            for member in members:
                parts = member.filename.lower().split("/")
                # deleted/, likes/, lists/ and orphaned/ hold other things under the same names.
                if parts[-1] not in LETTERBOXD_FILES or parts[-1] in found or len(parts) > 2:
                    continue
                if len(parts) == 2 and parts[0] in ("deleted", "likes", "lists", "orphaned"):
                    continue
                if member.file_size > MAX_MEMBER_BYTES:
                    raise ImportFileError(f"{member.filename}: larger than the largest export")
                found[parts[-1]] = (member.filename, archive.read(member))
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ImportFileError(f"{filename}: not a readable ZIP archive ({exc})") from None
    if not found:
        expected = ", ".join(LETTERBOXD_FILES)
        raise ImportFileError(
            f"{filename}: no Letterboxd files in the archive (expected {expected})"
        )
    return found


def _guess_letterboxd_file(data: bytes) -> str:
    header = data[:2000].decode("utf-8", "replace").split("\n", 1)[0]
    if "Review" in header:
        return "reviews.csv"
    if "Watched Date" in header:
        return "diary.csv"
    if "Rating" in header:
        return "ratings.csv"
    return "watched.csv"


def read_letterboxd(data: bytes, filename: str) -> Parsed:
    members = _letterboxd_members(data, filename)
    films: dict[tuple[str, int | None], _Film] = {}
    if "diary.csv" in members:
        name, content = members["diary.csv"]
        for number, record in enumerate(_table(content, name, (*_FILM, "Watched Date"))):
            film = _film(films, record)
            logged = _checked(record, "Date", _day)
            watched = _checked(record, "Watched Date", _day) or logged
            stars = _checked(record, "Rating", _stars)
            uri = record.get("Letterboxd URI").strip() or f"{film.title}|{film.year}|{number}"
            film.plays.append(
                {
                    "type": "play",
                    "client_event_id": event_id("letterboxd", "diary", uri),
                    "started_at": _iso(watched),
                    "completed": True,
                }
            )
            when = _iso(watched) or ""
            if stars is not None and (film.diary_rating is None or when >= film.diary_rating[0]):
                film.diary_rating = (when, stars)
    if "ratings.csv" in members:
        name, content = members["ratings.csv"]
        for record in _table(content, name, (*_FILM, "Rating")):
            film = _film(films, record)
            stars = _checked(record, "Rating", _stars)
            if stars is None:
                raise record.fail("Rating", "empty")
            film.rating = (record.get("Date"), stars)
    if "reviews.csv" in members:
        name, content = members["reviews.csv"]
        for record in _table(content, name, (*_FILM, "Review")):
            film = _film(films, record)
            text = _checked(record, "Review", lambda v: _text(v, "the review", _REVIEW_MAX))
            stars = _checked(record, "Rating", _stars)
            seen = _checked(record, "Watched Date", _day) or _checked(record, "Date", _day)
            reviewed = _iso(seen) or ""
            event = {
                "type": "review",
                "client_event_id": event_id(
                    "letterboxd", "review", title_key(film.title), film.year, text, stars
                ),
                "text": text,
                "rating": None if stars is None else str(stars),
            }
            if film.review is None or reviewed >= film.review[0]:
                film.review = (reviewed, event)
    if "watched.csv" in members:
        name, content = members["watched.csv"]
        for record in _table(content, name, _FILM):
            _film(films, record).watched = True

    rows: list[SourceRow] = []
    for film in films.values():
        events: list[dict[str, Any]] = list(film.plays)
        if not film.plays and film.watched:
            key = (title_key(film.title), film.year)
            events.append(
                {
                    "type": "play",
                    "client_event_id": event_id("letterboxd", "watched", *key),
                    "completed": True,
                }
            )
        rating = film.rating or film.diary_rating
        if rating is not None:
            stars = str(rating[1])
            events.append(
                {
                    "type": "rating",
                    "client_event_id": event_id(
                        "letterboxd", "rating", title_key(film.title), film.year, stars
                    ),
                    "value": stars,
                }
            )
        if film.review is not None:
            events.append(film.review[1])
        rows.append(SourceRow(film.where, Kind.FILM, film.title, film.year, events=events))
    return Parsed(Format.LETTERBOXD, rows)
