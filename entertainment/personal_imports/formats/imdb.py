"""IMDb's "Your ratings" export: a CSV of tt-ids with ratings from 1 to 10."""

from __future__ import annotations

import re
from decimal import Decimal

from entertainment.catalogue.models import ExternalId, Kind

from ..models import Format
from .base import Parsed, SourceRow, _checked, _table, _text, _year, event_id, halves

_IMDB_ID = re.compile(r"^tt\d{1,10}$")
_IMDB_GAMES = {"videogame", "video game"}


def _imdb_id(value: str) -> str:
    value = value.strip()
    if not _IMDB_ID.match(value):
        raise ValueError(f"not an IMDb title id (tt followed by digits): {value!r}")
    return value


def _ten_point(value: str) -> Decimal:
    value = value.strip()
    if not value.isdigit() or not 1 <= int(value) <= 10:
        raise ValueError(f"not a rating from 1 to 10: {value!r}")
    return halves(Decimal(value) / 2)


def read_imdb(data: bytes, filename: str) -> Parsed:
    name = filename or "ratings.csv"
    rows: list[SourceRow] = []
    for record in _table(data, name, ("Const", "Your Rating")):
        const = _checked(record, "Const", _imdb_id)
        stars = _checked(record, "Your Rating", _ten_point)
        title = _checked(record, "Title", lambda v: _text(v, "the title", required=False))
        year = _checked(record, "Year", _year)
        kind = Kind.GAME if record.get("Title Type").strip().lower() in _IMDB_GAMES else Kind.FILM
        rating = {
            "type": "rating",
            "client_event_id": event_id("imdb", "rating", const, stars),
            "value": str(stars),
        }
        rows.append(
            SourceRow(
                record.where,
                kind,
                title or const,
                year,
                ids={ExternalId.Source.IMDB: const},
                events=[rating],
            )
        )
    return Parsed(Format.IMDB, rows)
