"""The one evaluation protocol, used by the CLI, the benchmarks and the hybrid's tuning.

1. 5-core filtering: repeatedly drop users and items with fewer than 5 distinct interactions.
2. Leave-one-out: each user's last item (by time) is the test item and the one before it the
   validation item. A user whose history has no timestamps gets both chosen at random with a
   fixed seed. Models train on the rest.
3. Full ranking: every catalogue item is scored, the items in the user's history are excluded,
   and the top k are compared with the held-out item. Validation ranks from the training history;
   test ranks from the training history plus the validation item.
4. HR@k, NDCG@k (one relevant item: 1/log2(rank+1)), MRR@k, and catalogue coverage@k (share of
   catalogue items that appear in at least one user's top k).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ml.data import Interaction, Sequences, encode


class Scorer(Protocol):
    """Anything that scores every catalogue item for a batch of histories (item indices)."""

    def scores(self, histories: Sequence[Sequence[int]]) -> np.ndarray: ...


def five_core(interactions: Iterable[Interaction], core: int = 5) -> list[Interaction]:
    rows = list(interactions)
    while True:
        pairs = {(r.user, r.item) for r in rows}
        users = Counter(u for u, _ in pairs)
        items = Counter(i for _, i in pairs)
        kept = [r for r in rows if users[r.user] >= core and items[r.item] >= core]
        if len(kept) == len(rows):
            return kept
        rows = kept


@dataclass
class Split:
    """Training histories for every user, and one validation and one test item for most of them."""

    train: Sequences
    valid: np.ndarray  # item index per user, -1 where the history was too short to hold one out
    test: np.ndarray

    def validation(self) -> tuple[list[list[int]], np.ndarray]:
        users = np.flatnonzero(self.valid >= 0)
        return [self.train.histories[u] for u in users], self.valid[users]

    def testing(self) -> tuple[list[list[int]], np.ndarray]:
        users = np.flatnonzero(self.test >= 0)
        return [[*self.train.histories[u], int(self.valid[u])] for u in users], self.test[users]


def leave_one_out(interactions: Iterable[Interaction], seed: int = 0) -> Split:
    """Hold out each user's last two items; users with fewer than 3 items only train."""
    rng = np.random.default_rng(seed)
    seqs = encode(interactions)
    valid = np.full(len(seqs.users), -1, dtype=np.int64)
    test = np.full(len(seqs.users), -1, dtype=np.int64)
    for u, (history, weights) in enumerate(zip(seqs.histories, seqs.weights, strict=True)):
        if len(history) < 3:
            continue
        if not seqs.ordered[u]:
            # No known order: hold out two items chosen with the seed, keep the rest as they were.
            held = rng.choice(len(history), size=2, replace=False)
            order = [i for i in range(len(history)) if i not in held] + [held[0], held[1]]
            history[:] = [history[i] for i in order]
            weights[:] = [weights[i] for i in order]
        test[u] = history.pop()
        valid[u] = history.pop()
        weights.pop()
        weights.pop()
    return Split(train=seqs, valid=valid, test=test)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best scores per row, best first (rows of -inf never win)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def exclude_seen(scores: np.ndarray, histories: Sequence[Sequence[int]]) -> np.ndarray:
    for row, history in enumerate(histories):
        scores[row, list(history)] = -np.inf
    return scores


def recommend(
    scorer: Scorer, histories: Sequence[Sequence[int]], k: int, batch: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k item indices and their scores for each history, never an item already in it."""
    items, values = [], []
    for start in range(0, len(histories), batch):
        chunk = histories[start : start + batch]
        scores = exclude_seen(np.array(scorer.scores(chunk), dtype=np.float32), chunk)
        best = top_k(scores, k)
        items.append(best)
        values.append(np.take_along_axis(scores, best, axis=1))
    if not items:
        return np.zeros((0, k), dtype=np.int64), np.zeros((0, k), dtype=np.float32)
    return np.concatenate(items), np.concatenate(values)


def metrics(ranked: np.ndarray, targets: np.ndarray, n_items: int, k: int = 10) -> dict[str, float]:
    hits = ranked[:, :k] == np.asarray(targets)[:, None]
    hit_rows, positions = np.nonzero(hits)
    n = max(len(targets), 1)
    ndcg = sum(1.0 / math.log2(p + 2) for p in positions) / n
    mrr = sum(1.0 / (p + 1) for p in positions) / n
    return {
        f"hr@{k}": len(hit_rows) / n,
        f"ndcg@{k}": float(ndcg),
        f"mrr@{k}": float(mrr),
        f"coverage@{k}": len(np.unique(ranked[:, :k])) / max(n_items, 1),
        "users": float(len(targets)),
    }


def evaluate(
    scorer: Scorer,
    histories: Sequence[Sequence[int]],
    targets: np.ndarray,
    n_items: int,
    k: int = 10,
) -> dict[str, float]:
    ranked, _ = recommend(scorer, histories, k)
    return metrics(ranked, targets, n_items, k)
