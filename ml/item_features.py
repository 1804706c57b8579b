"""What the catalogue says about its items (title, genres, year), as side information for EASE.

Co-occurrence is all EASE learns from, and on a small community most pairs of items have few
people in common. The catalogue knows more: which items share a genre, which came out in the
same years. EASE with side information (Jeunen, Van Balen & Goethals 2020, "Closed-form models
for collaborative filtering with side-information": their collective EASE) adds each feature
as a pseudo-person who "has" every item with that feature, weighted, so the Gram matrix becomes
XᵀX + w SᵀS (w: `side_weight`) and items that share features lean together where plays are
too few to say.

items.csv (`python -m ml train --items`):

    item,title,genres,year
    m1,Toy Story 2,comedy|drama,1999

`genres` is `|`-separated (empty: none); `year` a whole number or empty; `title` may be empty.
The header without `title` (`item,genres,year`, before titles were used) is read too. Items
the interactions do not name are ignored; items the file does not name have no features.

Features come in two groups, each with its own weight in the Gram matrix, tuned in turn on
validation (0 where it does not help; ml.factors.EASE_SIDE_GRID, EASE_TITLE_GRID):

- the catalogue's fields (`side_weight`): each genre, and the year's 5-year era;
- the title's words (`title_weight`): a word of three letters or more, other than a few
  function words, shared by two titles or more. What it catches is the series: "Toy Story"
  and "Toy Story 2", "Harry Potter and ..." x 7, "Rambo", "Bourne", which a small community
  has often played too few times together for EASE to see.

Each feature's row is divided by the square root of how many items have it, so "Drama" (a
third of a film catalogue) ties its items far less than "Film-Noir" does, and "love" (in
dozens of titles) far less than "Potter".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ml.csvfiles import read_rows
from ml.data import DataError

COLUMNS = ("item", "title", "genres", "year")
UNTITLED_COLUMNS = ("item", "genres", "year")  # items.csv as written before titles were used
ERA_YEARS = 5
# Which features go in which group (the prefix of their names), each group its own weight.
CATALOGUE_KINDS = ("genre", "era")
TITLE_KINDS = ("title",)
# Words of three letters or more that tie titles together by grammar or numbering, not by
# series (English, the articles of titles in French, Spanish and German, "Part III"). Other
# common words ("love", "man") stay: the square root of their count already makes them weak.
_FUNCTION_WORDS = frozenset(
    {"the", "and", "for", "with", "from", "into", "its", "part", "iii"}
    | {"les", "des", "une", "der", "die", "das", "den", "del", "los", "las"}
)
_WORD = re.compile(r"[^\W\d_]{3,}")


def title_words(title: str) -> list[str]:
    """The title's words as features ("title:potter"), each once, sorted."""
    words = {w for w in _WORD.findall(title.lower()) if w not in _FUNCTION_WORDS}
    return [f"title:{w}" for w in sorted(words)]


def read_item_features(path: Path | str) -> dict[str, list[str]]:
    """item id → its feature names ("genre:comedy", "era:1995", "title:story"), from
    items.csv."""
    records = read_rows(path, DataError)
    try:
        _, header = next(records)
    except StopIteration:
        raise DataError(f"{path}: empty file (expected the header {','.join(COLUMNS)})") from None
    columns = tuple(name.strip().lower() for name in header)
    if columns not in (COLUMNS, UNTITLED_COLUMNS):
        raise DataError(f"{path}, line 1: the header must be {','.join(COLUMNS)}")
    out: dict[str, list[str]] = {}
    for line, row in records:
        if len(row) != len(columns):
            raise DataError(f"{path}, line {line}: expected {len(columns)} fields, got {len(row)}")
        fields = dict(zip(columns, (value.strip() for value in row), strict=True))
        item, genres, year = fields["item"], fields["genres"], fields["year"]
        if not item:
            raise DataError(f"{path}, line {line}: empty item id")
        if item in out:
            raise DataError(f"{path}, line {line}: item {item!r} is listed twice")
        names = sorted({f"genre:{g.strip().lower()}" for g in genres.split("|") if g.strip()})
        if year:
            if not year.isdigit():
                raise DataError(f"{path}, line {line}: year {year!r} is not a whole number")
            names.append(f"era:{int(year) // ERA_YEARS * ERA_YEARS}")
        out[item] = names + title_words(fields.get("title", ""))
    return out


@dataclass(frozen=True)
class Side:
    """The two groups of side information over one list of items (features x items each)."""

    catalogue: sp.csr_matrix
    title: sp.csr_matrix

    @classmethod
    def of(cls, features: Mapping[str, Sequence[str]], items: Sequence[str]) -> Side:
        return cls(
            side_matrix(features, items, CATALOGUE_KINDS), side_matrix(features, items, TITLE_KINDS)
        )

    def add_to(self, gram: np.ndarray, side_weight: float, title_weight: float) -> None:
        """gram += side_weight · CᵀC + title_weight · TᵀT, in place: a dense items x items
        matrix is gigabytes at EASE's largest catalogues, so no second one is kept."""
        for matrix, weight in ((self.catalogue, side_weight), (self.title, title_weight)):
            if weight and matrix.shape[0]:
                gram += weight * (matrix.T @ matrix).toarray()


def side_matrix(
    features: Mapping[str, Sequence[str]],
    items: Sequence[str],
    kinds: Sequence[str] = CATALOGUE_KINDS + TITLE_KINDS,
) -> sp.csr_matrix:
    """features x items: 1 / sqrt(items with the feature) where the item has it.

    Only features of these `kinds` (the prefix of their names) that at least two of `items`
    share: one item alone ties nothing together.
    """
    prefixes = tuple(f"{kind}:" for kind in kinds)
    columns: dict[str, list[int]] = {}
    for column, item in enumerate(items):
        for name in features.get(item, ()):
            if name.startswith(prefixes):
                columns.setdefault(name, []).append(column)
    shared = [cols for _, cols in sorted(columns.items()) if len(cols) >= 2]
    rows = np.repeat(np.arange(len(shared)), [len(cols) for cols in shared])
    cols = np.fromiter((c for group in shared for c in group), dtype=np.int64, count=len(rows))
    values = np.repeat([1.0 / np.sqrt(len(group)) for group in shared], [len(g) for g in shared])
    return sp.csr_matrix((values.astype(np.float64), (rows, cols)), shape=(len(shared), len(items)))
