"""What every reader shares: the rows it makes, its errors, and how values, CSV and JSON are
read (CSV as ml.csvfiles reads it: records numbered by the line they start on, a quoted field
keeping its line breaks)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypeVar

from django.utils.dateparse import parse_datetime

from entertainment.catalogue.names import title_key

# What is read of a ZIP member or a file: exports are a few megabytes at most.
MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_ROWS = 200_000
MIN_YEAR, MAX_YEAR = 1870, 2100
MAX_PLAY_SECONDS = 2**31 - 1
_TITLE_MAX = 300
_REVIEW_MAX = 10_000
_UNSAFE_TEXT = re.compile("[\x00\ud800-\udfff]")
T = TypeVar("T")


class ImportFileError(ValueError):
    """The file cannot be imported; the message names the file and the line or field."""


@dataclass
class SourceRow:
    """One title of the file, and the activity to record for it once it is placed."""

    where: str  # "diary.csv:12", "response.games[3]"
    kind: str
    title: str
    year: int | None
    ids: dict[str, str] = field(default_factory=dict)  # ExternalId source -> value
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> str:
        """What identifies the title in its source, whatever file it came from."""
        ids = ",".join(f"{source}:{value}" for source, value in sorted(self.ids.items()))
        text = f"{self.kind}\x1f{title_key(self.title)}\x1f{self.year or ''}\x1f{ids}"
        return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()

    @property
    def external_id(self) -> str:
        return next((f"{s}:{v}" for s, v in sorted(self.ids.items())), "")


@dataclass
class Parsed:
    format: str
    rows: list[SourceRow]
    # Rows read that record nothing (a game owned but never played).
    skipped: int = 0


def event_id(source: str, *parts: object) -> str:
    """A client event id for a source row: the same row always gives the same id."""
    text = "\x1f".join(str(part) for part in parts)
    digest = hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()
    return f"import:{source}:{digest}"


# --- Values ---------------------------------------------------------------------------------


def _text(value: str, what: str, max_length: int = _TITLE_MAX, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise ValueError(f"{what} is empty")
    if _UNSAFE_TEXT.search(value):
        raise ValueError(f"{what} holds a NUL or an invalid character")
    return value[:max_length]


def _year(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a year: {value!r}")
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if not value.isdigit():
            raise ValueError(f"not a year: {value!r}")
    year = int(value)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"not a year: {value!r}")
    return year


def _stars(value: str) -> Decimal | None:
    """Letterboxd's 0.5-5 stars; empty for none."""
    value = value.strip()
    if not value:
        return None
    try:
        stars = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"not a rating: {value!r}") from None
    if not stars.is_finite() or not Decimal("0.5") <= stars <= 5 or (stars * 2) % 1:
        raise ValueError(f"not a rating of 0.5 to 5 in half stars: {value!r}")
    return stars.quantize(Decimal("0.1"))


def halves(value: Decimal) -> Decimal:
    """The nearest half star from 0.5 to 5."""
    rounded = (value * 2).quantize(Decimal("1"), rounding=ROUND_HALF_UP) / 2
    return min(max(rounded, Decimal("0.5")), Decimal("5")).quantize(Decimal("0.1"))


def _day(value: str) -> datetime | None:
    """A calendar date (YYYY-MM-DD) as the moment it began, in UTC; empty for none."""
    value = value.strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _moment(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a date and time: {value!r}")
    try:
        moment = parse_datetime(value.strip())
    except ValueError:
        moment = None
    if moment is None:
        try:
            moment = _day(value[:10]) if len(value.strip()) == 10 else None
        except ValueError:
            moment = None
    if moment is None:
        raise ValueError(f"not a date and time: {value!r}")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime | None) -> str | None:
    if moment is None or moment.year < 1970:  # "never" in some exports: 0001-01-01
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _whole(value: Any, what: str, high: int = MAX_PLAY_SECONDS) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{what} is not a whole number: {value!r}")
    try:
        number = float(value) if not isinstance(value, int) else value
    except ValueError:
        raise ValueError(f"{what} is not a whole number: {value!r}") from None
    if number != number or number < 0 or number % 1:
        raise ValueError(f"{what} is not a whole number of 0 or more: {value!r}")
    return min(int(number), high)


# --- CSV ------------------------------------------------------------------------------------


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Older IMDb exports are Windows-1252.
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{name}: not UTF-8 text ({exc.reason})") from None


def _records(text: str, name: str) -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, its fields), blank lines skipped (as ml.csvfiles reads)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                yield start, row
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportFileError(f"{name}:{start}: malformed CSV ({exc})") from None


@dataclass
class _Record:
    name: str
    line: int
    values: dict[str, str]

    @property
    def where(self) -> str:
        return f"{self.name}:{self.line}"

    def get(self, column: str) -> str:
        return self.values.get(column, "")

    def fail(self, column: str, message: str) -> ImportFileError:
        return ImportFileError(f"{self.where}: {column}: {message}")


def _table(data: bytes, name: str, required: tuple[str, ...]) -> list[_Record]:
    records = _records(_decode(data, name), name)
    try:
        _, header = next(records)
    except StopIteration:
        raise ImportFileError(f"{name}: the file is empty") from None
    header = [column.strip() for column in header]
    missing = [column for column in required if column not in header]
    if missing:
        raise ImportFileError(
            f"{name}:1: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (found {', '.join(header) or 'none'})"
        )
    rows: list[_Record] = []
    for line, fields in records:
        if len(fields) > len(header):
            raise ImportFileError(
                f"{name}:{line}: {len(fields)} fields where the header names {len(header)}"
            )
        rows.append(_Record(name, line, dict(zip(header, fields, strict=False))))
        if len(rows) > MAX_ROWS:
            raise ImportFileError(f"{name}: more than {MAX_ROWS} rows")
    return rows


def _checked(record: _Record, column: str, check: Callable[[str], Any]) -> Any:
    try:
        return check(record.get(column))
    except ValueError as exc:
        raise record.fail(column, str(exc)) from None


# --- JSON -------------------------------------------------------------------------------------


def _json(data: bytes, name: str) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{name}: not UTF-8 text ({exc.reason})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFileError(
            f"{name}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise ImportFileError(f"{name}: JSON nested too deeply") from None


class _At:
    """A JSON element's place, for messages: `GetOwnedGames.json: response.games[3].appid`."""

    def __init__(self, name: str, path: str) -> None:
        self.name, self.path = name, path

    @property
    def where(self) -> str:
        return f"{self.name}: {self.path}"

    def fail(self, key: str, message: str) -> ImportFileError:
        return ImportFileError(f"{self.where}.{key}: {message}")

    def check(self, key: str, check: Callable[..., T], *args: Any) -> T:
        try:
            return check(*args)
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None
