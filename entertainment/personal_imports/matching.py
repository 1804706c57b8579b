"""Each row of an import placed in the catalogue: by its ids, then by title and year.

1. An id the source gives (IMDb's tt…, a Steam app id) that an item holds as an ExternalId.
2. A match the person made for the same title in an earlier import (UnmatchedRow.key).
3. The normalised title (names.title_key) among the items of its kind and year; an item
   without a year matches a title of any year, and a title without a year an item of any.

Lookups go in chunks of a few hundred values: a few queries per thousand rows, never one per
row. Several items may fit (a remake of the same year): the oldest wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import reduce
from operator import or_
from typing import TypeVar

from django.db.models import Q

from entertainment.catalogue.models import ExternalId, Item
from entertainment.catalogue.names import title_key, title_variants

from .formats import SourceRow
from .models import UnmatchedRow

T = TypeVar("T")
CHUNK = 400


def chunks(values: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _by_external_id(rows: Sequence[SourceRow]) -> dict[tuple[str, str], int]:
    wanted: dict[str, set[str]] = {}
    for row in rows:
        for source, value in row.ids.items():
            wanted.setdefault(source, set()).add(value)
    found: dict[tuple[str, str], int] = {}
    for source, values in wanted.items():
        for part in chunks(sorted(values)):
            for value, item_id in ExternalId.objects.filter(
                source=source, value__in=part
            ).values_list("value", "item_id"):
                found[(source, value)] = item_id
    return found


def _learned(user_id: int, rows: Sequence[SourceRow]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in chunks(sorted({row.key for row in rows})):
        for key, item_id in (
            UnmatchedRow.objects.filter(
                user_id=user_id, key__in=part, status=UnmatchedRow.Status.MATCHED
            )
            .exclude(item=None)
            .order_by("resolved_at")
            .values_list("key", "item_id")
        ):
            found[key] = item_id  # the latest match wins
    return found


def _candidates(rows: Sequence[SourceRow]) -> dict[tuple[str, str], list[tuple[int, int | None]]]:
    """(kind, normalised title) -> [(item id, year)], oldest item first, for these rows."""
    found: dict[tuple[str, str], list[tuple[int, int | None]]] = {}
    by_kind: dict[str, set[str]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, set()).update(title_variants(row.title))
    wanted = {(row.kind, title_key(row.title)) for row in rows}
    for kind, titles in by_kind.items():
        for part in chunks(sorted(titles), 200):
            condition = reduce(or_, (Q(title__iexact=title) for title in part))
            for pk, title, year in Item.objects.filter(condition, kind=kind).values_list(
                "pk", "title", "year"
            ):
                found.setdefault((kind, title_key(title)), []).append((pk, year))
    # Spellings a case-insensitive lookup misses (accents, punctuation): the items of the
    # rows' kinds and years, compared normalised.
    years: dict[str, set[int]] = {}
    for row in rows:
        if row.year is not None and (row.kind, title_key(row.title)) not in found:
            years.setdefault(row.kind, set()).add(row.year)
    for kind, kind_years in years.items():
        for part_years in chunks(sorted(kind_years)):
            for pk, title, year in (
                Item.objects.filter(kind=kind, year__in=part_years)
                .values_list("pk", "title", "year")
                .iterator(chunk_size=5000)
            ):
                key = (kind, title_key(title))
                if key in wanted and (pk, year) not in found.get(key, []):
                    found.setdefault(key, []).append((pk, year))
    for entries in found.values():
        entries.sort()
    return found


def _by_title(row: SourceRow, candidates: list[tuple[int, int | None]]) -> int | None:
    if row.year is None:
        return candidates[0][0] if candidates else None
    for wanted in (row.year, None):
        for pk, year in candidates:
            if year == wanted:
                return pk
    return None


def resolve(user_id: int, rows: Sequence[SourceRow]) -> list[int | None]:
    """The catalogue item of each row, in order; None where nothing fits."""
    by_id = _by_external_id(rows)
    learned = _learned(user_id, rows)
    items: list[int | None] = []
    for row in rows:
        found = next((by_id[(s, v)] for s, v in sorted(row.ids.items()) if (s, v) in by_id), None)
        items.append(found if found is not None else learned.get(row.key))
    rest = [row for row, item in zip(rows, items, strict=True) if item is None]
    if rest:
        candidates = _candidates(rest)
        for index, (row, item) in enumerate(zip(rows, items, strict=True)):
            if item is None:
                items[index] = _by_title(row, candidates.get((row.kind, title_key(row.title)), []))
    return items
