"""What the catalogue says about its items (genres, year), as side information for EASE.

Co-occurrence is all EASE learns from, and on a small community most pairs of items have few
people in common. The catalogue knows more: which items share a genre, which came out in the
same years. EASE with side information (Jeunen, Van Balen & Goethals 2020, "Closed-form models
for collaborative filtering with side-information": their collective EASE) adds each feature
as a pseudo-person who "has" every item with that feature, weighted, so the Gram matrix becomes
XᵀX + w SᵀS (w: `side_weight`) and items that share features lean together where plays are
too few to say.

items.csv (`python -m ml train --items`):

    item,genres,year
    m1,comedy|drama,1995

`genres` is `|`-separated (empty: none); `year` a whole number or empty. Items the
interactions do not name are ignored; items the file does not name simply have no features.

Features: each genre, and the year's 5-year era. Each feature's row is divided by the square
root of how many items have it, so "Drama" (a third of a film catalogue) ties its items far
less than "Film-Noir" does; w is tuned on validation (ml.factors.EASE_SIDE_GRID).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ml.csvfiles import read_rows
from ml.data import DataError

COLUMNS = ("item", "genres", "year")
ERA_YEARS = 5


def read_item_features(path: Path | str) -> dict[str, list[str]]:
    """item id → its feature names ("genre:comedy", "era:1995"), from items.csv."""
    records = read_rows(path, DataError)
    try:
        _, header = next(records)
    except StopIteration:
        raise DataError(f"{path}: empty file (expected the header {','.join(COLUMNS)})") from None
    if tuple(name.strip().lower() for name in header) != COLUMNS:
        raise DataError(f"{path}, line 1: the header must be {','.join(COLUMNS)}")
    out: dict[str, list[str]] = {}
    for line, row in records:
        if len(row) != len(COLUMNS):
            raise DataError(f"{path}, line {line}: expected {len(COLUMNS)} fields, got {len(row)}")
        item, genres, year = (value.strip() for value in row)
        if not item:
            raise DataError(f"{path}, line {line}: empty item id")
        if item in out:
            raise DataError(f"{path}, line {line}: item {item!r} is listed twice")
        names = sorted({f"genre:{g.strip().lower()}" for g in genres.split("|") if g.strip()})
        if year:
            if not year.isdigit():
                raise DataError(f"{path}, line {line}: year {year!r} is not a whole number")
            names.append(f"era:{int(year) // ERA_YEARS * ERA_YEARS}")
        out[item] = names
    return out


def side_matrix(features: Mapping[str, Sequence[str]], items: Sequence[str]) -> sp.csr_matrix:
    """features x items: 1 / sqrt(items with the feature) where the item has it.

    Only features that at least two of `items` share: one item alone ties nothing together.
    """
    columns: dict[str, list[int]] = {}
    for column, item in enumerate(items):
        for name in features.get(item, ()):
            columns.setdefault(name, []).append(column)
    shared = [cols for _, cols in sorted(columns.items()) if len(cols) >= 2]
    rows = np.repeat(np.arange(len(shared)), [len(cols) for cols in shared])
    cols = np.fromiter((c for group in shared for c in group), dtype=np.int64, count=len(rows))
    values = np.repeat([1.0 / np.sqrt(len(group)) for group in shared], [len(g) for g in shared])
    return sp.csr_matrix((values.astype(np.float64), (rows, cols)), shape=(len(shared), len(items)))
