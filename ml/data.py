"""Reading the CLI's input files: interactions (I.csv) and reviews (R.csv).

    I.csv: user,item,timestamp,weight   timestamp (a number, e.g. Unix seconds), weight may be empty
    R.csv: user,item,text,rating        rating may be empty

Ids and review text are strings kept exactly as given (ml.csvfiles reads every CSV: a review
may span lines or hold any character). Any malformed row stops reading with a `DataError` that
names the file and the line, so nothing is half-read.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ml.csvfiles import read_rows, write_rows

INTERACTION_COLUMNS = ("user", "item", "timestamp", "weight")
REVIEW_COLUMNS = ("user", "item", "text", "rating")


class DataError(ValueError):
    """An input file that cannot be used; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Interaction:
    user: str
    item: str
    timestamp: float | None
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Review:
    user: str
    item: str
    text: str
    rating: float | None


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    records = read_rows(path, DataError)
    first = next(records, None)
    if first is None:
        raise DataError(f"{path}: empty file, expected the header {','.join(columns)}")
    header = [name.strip() for name in first[1]]
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(
            f"{path}, line 1: header must be {','.join(columns)} (missing {', '.join(missing)})"
        )
    index = {c: header.index(c) for c in columns}
    for line, row in records:
        if len(row) == 1 and not row[0].strip():
            continue
        if len(row) != len(header):
            raise DataError(f"{path}, line {line}: expected {len(header)} fields, found {len(row)}")
        yield line, {c: row[i] for c, i in index.items()}


def _number(value: str, field: str, where: str, *, empty: float | None) -> float | None:
    value = value.strip()
    if not value:
        return empty
    try:
        number = float(value)
    except ValueError:
        raise DataError(f"{where}: {field} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise DataError(f"{where}: {field} {value!r} is not a finite number")
    return number


def _id(value: str, field: str, where: str) -> str:
    if not value.strip():
        raise DataError(f"{where}: {field} is empty")
    return value


def read_interactions(path: Path | str) -> list[Interaction]:
    path = Path(path)
    out = []
    for line, row in _rows(path, INTERACTION_COLUMNS):
        where = f"{path}, line {line}"
        weight = _number(row["weight"], "weight", where, empty=1.0)
        assert weight is not None
        if weight < 0:
            raise DataError(f"{where}: weight {row['weight']!r} is negative")
        out.append(
            Interaction(
                user=_id(row["user"], "user", where),
                item=_id(row["item"], "item", where),
                timestamp=_number(row["timestamp"], "timestamp", where, empty=None),
                weight=weight,
            )
        )
    return out


def read_reviews(path: Path | str) -> list[Review]:
    path = Path(path)
    out = []
    for line, row in _rows(path, REVIEW_COLUMNS):
        where = f"{path}, line {line}"
        out.append(
            Review(
                user=_id(row["user"], "user", where),
                item=_id(row["item"], "item", where),
                text=row["text"],
                rating=_number(row["rating"], "rating", where, empty=None),
            )
        )
    return out


def _exact(value: float) -> str:
    """A number as written back exactly: `{:g}` keeps six digits, which turned Unix seconds
    into thousands of seconds (964982703 -> 9.64983e+08) and a history's order with them."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def write_interactions(path: Path | str, interactions: Iterable[Interaction]) -> None:
    rows = (
        [it.user, it.item, "" if it.timestamp is None else _exact(it.timestamp), _exact(it.weight)]
        for it in interactions
    )
    write_rows(path, INTERACTION_COLUMNS, rows)


def read_movielens(path: Path | str) -> list[Interaction]:
    """MovieLens ratings.csv (userId,movieId,rating,timestamp): every rating is one interaction."""
    path = Path(path)
    columns = ("userId", "movieId", "timestamp")
    return [
        Interaction(row["userId"], row["movieId"], float(row["timestamp"]), 1.0)
        for _, row in _rows(path, columns)
    ]


def user_histories(interactions: Iterable[Interaction]) -> dict[str, list[Interaction]]:
    """Each user's interactions, one per item, in the order the sequence model reads them.

    Repeated (user, item) rows collapse into one at the first timestamp with the weights summed:
    a recommender never offers what the person already has, so a repeat adds no new item.
    Timestamped rows are ordered by time (ties keep file order). Rows without a timestamp have no
    known order: they go first, lightest weight first, so the heaviest (most played) items sit
    nearest the prediction, where a sequence model weighs them most.
    """
    merged: dict[str, dict[str, Interaction]] = {}
    for it in interactions:
        per_user = merged.setdefault(it.user, {})
        seen = per_user.get(it.item)
        if seen is None:
            per_user[it.item] = it
        else:
            times = [t for t in (seen.timestamp, it.timestamp) if t is not None]
            per_user[it.item] = Interaction(
                it.user, it.item, min(times) if times else None, seen.weight + it.weight
            )
    histories = {}
    for user, items in merged.items():
        rows = list(items.values())
        untimed = sorted((r for r in rows if r.timestamp is None), key=lambda r: r.weight)
        timed = sorted((r for r in rows if r.timestamp is not None), key=lambda r: r.timestamp)  # type: ignore[arg-type, return-value]
        histories[user] = untimed + timed
    return histories


def is_ordered(history: list[Interaction]) -> bool:
    """Whether a history's order is known (every row has a timestamp)."""
    return all(r.timestamp is not None for r in history)


@dataclass
class Sequences:
    """Histories encoded as item indices into one shared vocabulary (`items[i]` is item i's id)."""

    items: list[str]
    users: list[str]
    histories: list[list[int]]
    ordered: list[bool]
    weights: list[list[float]]

    @property
    def n_items(self) -> int:
        return len(self.items)

    def item_index(self) -> dict[str, int]:
        return {item: i for i, item in enumerate(self.items)}


def encode(interactions: Iterable[Interaction], items: list[str] | None = None) -> Sequences:
    """Encode histories; with `items` given, items outside that vocabulary are dropped."""
    histories = user_histories(interactions)
    if items is None:
        seen: dict[str, None] = {}
        for history in histories.values():
            for r in history:
                seen.setdefault(r.item, None)
        items = sorted(seen)
    index = {item: i for i, item in enumerate(items)}
    users = list(histories)
    return Sequences(
        items=list(items),
        users=users,
        histories=[[index[r.item] for r in histories[u] if r.item in index] for u in users],
        ordered=[is_ordered(histories[u]) for u in users],
        weights=[[r.weight for r in histories[u] if r.item in index] for u in users],
    )


RECOMMENDATION_COLUMNS = ("user", "item", "rank", "score", "reason")


@dataclass(frozen=True, slots=True)
class Recommendation:
    user: str
    item: str
    rank: int
    score: float
    reason: str


def write_recommendations(path: Path | str, rows: Iterable[Recommendation]) -> int:
    return write_rows(
        path,
        RECOMMENDATION_COLUMNS,
        ([row.user, row.item, row.rank, f"{row.score:.6g}", row.reason] for row in rows),
    )
