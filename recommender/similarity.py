"""Items related to an item: "Fans also played" (the serving model's item-kNN neighbours,
counted in people) and "Looks similar" (the artwork CNN's embeddings), both from the loaded
serving model (recommender.serving). The same for everyone: callers leave out the person's own.
"""

from __future__ import annotations

from collections.abc import Callable

from ml.ranking import Ranker, Recommended

from . import reasons, serving
from .entries import Entry


def co_played(item_id: int, n: int = 10) -> list[Entry]:
    """Items people who had this one also had, at least two of them behind each (so no list
    reveals one person's history), the most shared first."""
    return _related(lambda ranker: ranker.co_played(str(item_id), n), item_id)


def looks_like(item_id: int, n: int = 10) -> list[Entry]:
    return _related(lambda ranker: ranker.similar(str(item_id), n), item_id)


def _related(find: Callable[[Ranker], list[Recommended]], item_id: int) -> list[Entry]:
    ranker = serving.ranker()
    if ranker is None:
        return []
    found = [r for r in find(ranker) if r.item.isdigit()]
    titles = reasons.titles([item_id])
    return [Entry(int(r.item), round(r.score, 6), reasons.words(r.reason, titles)) for r in found]
