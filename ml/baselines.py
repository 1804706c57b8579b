"""Baselines for comparison and fallback: popularity, item-kNN on co-occurrence, first-order
Markov, and the order-free EASE and ALS (ml.factors).

Each is fitted on encoded training histories and scores every catalogue item for a batch of
histories (see ml.evaluation.Scorer). Popularity breaks ties in the others, so a user with
no usable signal still gets the popular items. item-kNN, EASE and ALS are tuned on held-out
items (`tune`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ml.data import Sequences

if TYPE_CHECKING:
    from ml.factors import ALS, EASE, Tuned

METHODS = ("popularity", "itemknn", "markov", "ease", "als")
# Those with hyperparameters, chosen on held-out items from these grids.
TUNED = ("itemknn", "ease", "als")


def popularity_counts(train: Sequences) -> np.ndarray:
    counts = np.zeros(train.n_items, dtype=np.float64)
    for history in train.histories:
        np.add.at(counts, np.asarray(history, dtype=np.int64), 1.0)
    return counts


def _tie_break(counts: np.ndarray) -> np.ndarray:
    """Popularity squeezed into [0, 1): orders items without outweighing one real count."""
    return (counts / (counts.max() + 1.0)).astype(np.float32) if counts.size else counts


class Popularity:
    def __init__(self, train: Sequences) -> None:
        self.n_items = train.n_items
        self.counts = popularity_counts(train)

    def scores(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        return np.tile(self.counts.astype(np.float32), (len(histories), 1))


class ItemKNN:
    """Cosine similarity of items' user sets, each item keeping its `neighbours` most similar."""

    def __init__(self, train: Sequences, neighbours: int = 50, batch: int = 1024) -> None:
        n = train.n_items
        self.n_items = n
        self.counts = popularity_counts(train)
        cooc = np.zeros((n, n), dtype=np.float32)
        for start in range(0, len(train.histories), batch):
            chunk = train.histories[start : start + batch]
            onehot = np.zeros((len(chunk), n), dtype=np.float32)
            for row, history in enumerate(chunk):
                onehot[row, history] = 1.0
            cooc += onehot.T @ onehot
        np.fill_diagonal(cooc, 0.0)
        norm = np.sqrt(np.maximum(self.counts, 1.0)).astype(np.float32)
        cooc /= norm[:, None]
        cooc /= norm[None, :]
        if 0 < neighbours < n:
            cut = np.partition(cooc, n - neighbours, axis=1)[:, n - neighbours][:, None]
            cooc[cooc < cut] = 0.0
        self.similarity = cooc
        self.tie = _tie_break(self.counts) * 1e-3

    def scores(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        onehot = np.zeros((len(histories), self.n_items), dtype=np.float32)
        for row, history in enumerate(histories):
            onehot[row, list(history)] = 1.0
        return onehot @ self.similarity + self.tie


class Markov:
    """First-order chain: how often each item followed the last one, then popularity.

    Only histories with a known order (timestamps) teach transitions.
    """

    def __init__(self, train: Sequences) -> None:
        self.n_items = train.n_items
        self.counts = popularity_counts(train)
        pairs = [
            (a, b)
            for history, ordered in zip(train.histories, train.ordered, strict=True)
            if ordered
            for a, b in itertools.pairwise(history)
        ]
        self.follows: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if pairs:
            arr = np.asarray(pairs, dtype=np.int64)
            keys, counts = np.unique(arr[:, 0] * self.n_items + arr[:, 1], return_counts=True)
            sources, targets = np.divmod(keys, self.n_items)
            bounds = np.flatnonzero(np.diff(sources)) + 1
            for src, tgt, cnt in zip(
                np.split(sources, bounds),
                np.split(targets, bounds),
                np.split(counts, bounds),
                strict=True,
            ):
                self.follows[int(src[0])] = (tgt, cnt.astype(np.float32))
        self.tie = _tie_break(self.counts)

    def scores(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        out = np.tile(self.tie, (len(histories), 1))
        for row, history in enumerate(histories):
            if len(history) and int(history[-1]) in self.follows:
                targets, counts = self.follows[int(history[-1])]
                out[row, targets] += counts
        return out


if TYPE_CHECKING:
    Baseline = Popularity | ItemKNN | Markov | EASE | ALS


def tune(
    method: str, train: Sequences, valid: np.ndarray | None = None, seed: int = 0
) -> Tuned[ItemKNN] | Tuned[EASE] | Tuned[ALS]:
    """item-kNN's neighbour count, EASE's l2 or ALS's factors, regularisation, alpha and
    iterations, chosen by validation NDCG@10 over the grids of ml.factors.

    `valid`: one held-out item per user of `train` (-1: none), as ml.evaluation.Split.valid;
    the best model fitted on `train` is kept. Without it, one item per user is held out of
    `train` (ml.factors.hold_out), and the best parameters are refitted on all of `train`.
    """
    # Here, not at the top: serving processes import this module (through ml.hybrid) and never
    # need SciPy or implicit.
    from ml import factors

    build: Any
    build, grid = {
        "itemknn": (ItemKNN, factors.ITEMKNN_GRID),
        "ease": (factors.EASE, factors.EASE_GRID),
        "als": (factors.ALS, factors.ALS_GRID),
    }[method]
    inner, held = (train, valid) if valid is not None else factors.hold_out(train, seed)
    users = np.flatnonzero(held >= 0)
    found = factors.grid_search(
        build, grid, inner, [inner.histories[u] for u in users], held[users]
    )
    if valid is None:
        found.model = build(train, **found.params)
    return found


def fit(method: str, train: Sequences, valid: np.ndarray | None = None, seed: int = 0) -> Baseline:
    """The named baseline fitted on `train`; the tuned ones tuned first (see `tune`)."""
    if method == "popularity":
        return Popularity(train)
    if method == "markov":
        return Markov(train)
    if method in TUNED:
        return tune(method, train, valid, seed).model
    raise ValueError(f"unknown baseline {method!r}; choose one of {', '.join(METHODS)}")
