"""Models of unordered feedback: EASE (item-item, closed form) and ALS (implicit's factorisation).

Both read a history as a set: what people have together, never in which order. That is what
co-occurrence data without timestamps (play counts, hours, ratings) holds, where a sequence
model's order is a guess.

- `EASE` (Steck 2019, "Embarrassingly Shallow Autoencoders"): B = I - P diag(1/diag(P)) with
  P = (X^T X + l2 I)^-1, so diag(B) = 0 and a history x scores x B. One items x items matrix:
  for catalogues up to `EASE_MAX_ITEMS`. With side information (ml.item_features: genres,
  eras and title words as pseudo-people), the Gram matrix is
  X^T X + side_weight C^T C + title_weight T^T T.
- `ALS` (Hu, Koren & Volinsky 2008, implicit's AlternatingLeastSquares): item factors learnt on
  the training people; a history's person vector is solved against them (one least-squares step,
  implicit's `recalculate_user`), so any history is scored, a new person's too. Scales with the
  number of interactions, not items squared.

`grid_search` tunes either (and item-kNN's neighbour count) on held-out items: each candidate is
fitted on the training histories and scored by NDCG@10 of the held-out items.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import scipy.sparse as sp
import threadpoolctl
from scipy.linalg import lapack

from ml.data import Sequences
from ml.evaluation import evaluate
from ml.item_features import Side

# EASE's items x items inverse: 20,000 items is 3.2 GB in float64 and some minutes on 2 cores.
EASE_MAX_ITEMS = 20_000
# The hybrid's choices of its co-occurrence part (ml.hybrid.tuned_parts; `--factors` of the
# train and evaluate commands): EASE where the catalogue fits it and ALS beyond (auto), one of
# them, or none.
FACTORS = ("auto", "ease", "als", "none")
EASE_GRID: dict[str, tuple[Any, ...]] = {"l2": (10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 3000.0)}
# The side information's weight, searched with the l2 found without it (0: none). On
# ml-latest-small without timestamps 300-3,000 did alike (validation NDCG@10 0.141 -> 0.143).
EASE_SIDE_GRID: dict[str, tuple[Any, ...]] = {"side_weight": (0.0, 100.0, 300.0, 1000.0, 3000.0)}
# The title words' weight, searched with the l2 and side weight found before it. On
# ml-latest-small without timestamps 10-50 helped on three splits (validation NDCG@10 0.143 ->
# 0.147 on seed 0) and 100 began to drown the plays (0.133 at side weight 100).
EASE_TITLE_GRID: dict[str, tuple[Any, ...]] = {
    "title_weight": (0.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0)
}
ALS_GRID: dict[str, tuple[Any, ...]] = {
    "factors": (32, 64, 128),
    "regularization": (1.0, 3.0, 10.0),
    "alpha": (0.5, 1.0, 2.0),
    "iterations": (10, 20),
}
ITEMKNN_GRID: dict[str, tuple[Any, ...]] = {"neighbours": (10, 20, 50, 100, 200, 0)}


def interaction_matrix(histories: Sequence[Sequence[int]], n_items: int) -> sp.csr_matrix:
    """People x items, 1 where the history holds the item (a repeat counts once)."""
    lengths = [len(h) for h in histories]
    rows = np.repeat(np.arange(len(histories)), lengths)
    cols = np.fromiter(itertools.chain.from_iterable(histories), dtype=np.int64, count=sum(lengths))
    matrix = sp.csr_matrix(
        (np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(len(histories), n_items)
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def _tie_break(histories: Sequence[Sequence[int]], n_items: int) -> np.ndarray:
    """Popularity squeezed far below any real score: orders items a model cannot tell apart."""
    counts = np.asarray(interaction_matrix(histories, n_items).sum(axis=0)).ravel()
    return (1e-6 * counts / (counts.max() + 1.0)).astype(np.float32) if n_items else counts


class EASE:
    """x B for a history x, B the closed-form item-item weights with a zero diagonal."""

    def __init__(
        self,
        train: Sequences,
        l2: float = 500.0,
        side: Side | None = None,
        side_weight: float = 0.0,
        title_weight: float = 0.0,
    ) -> None:
        """`side`: the catalogue's features and the title words (ml.item_features.Side), each
        group weighted by its weight."""
        n = train.n_items
        if n > EASE_MAX_ITEMS:
            raise ValueError(f"EASE needs an items x items matrix: {n} items > {EASE_MAX_ITEMS}")
        self.n_items, self.l2 = n, l2
        self.side_weight, self.title_weight = side_weight, title_weight
        x = interaction_matrix(train.histories, n)
        gram = (x.T @ x).toarray().astype(np.float64)
        if side is not None:
            side.add_to(gram, side_weight, title_weight)
        gram[np.diag_indices(n)] += l2
        # Cholesky inverse of the symmetric positive-definite Gram matrix: half an LU inverse.
        factor, info = lapack.dpotrf(gram, lower=0, overwrite_a=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"EASE: Gram matrix not positive definite ({info})")
        inverse, info = lapack.dpotri(factor, lower=0, overwrite_c=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"EASE: inverse failed ({info})")
        inverse = np.triu(inverse) + np.triu(inverse, 1).T
        weights = -inverse / np.diag(inverse)[None, :]
        np.fill_diagonal(weights, 0.0)
        self.weights = weights.astype(np.float32)
        self.tie = _tie_break(train.histories, n)

    def scores(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        x = interaction_matrix(histories, self.n_items)
        return np.asarray(x @ self.weights) + self.tie


class ALS:
    """implicit's ALS on the training histories; any history is folded in to score it."""

    def __init__(
        self,
        train: Sequences,
        factors: int = 64,
        regularization: float = 0.1,
        alpha: float = 5.0,
        iterations: int = 15,
        seed: int = 0,
    ) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        self.n_items = train.n_items
        self.hyper = {
            "factors": factors,
            "regularization": regularization,
            "alpha": alpha,
            "iterations": iterations,
        }
        # implicit runs its own threads; a multi-threaded BLAS inside them is many times slower.
        with threadpoolctl.threadpool_limits(1, "blas"):
            self.model = AlternatingLeastSquares(
                factors=factors,
                regularization=regularization,
                alpha=alpha,
                iterations=iterations,
                random_state=seed,
            )
            self.model.fit(interaction_matrix(train.histories, self.n_items), show_progress=False)
        self.item_factors = np.asarray(self.model.item_factors, dtype=np.float32)
        self.tie = _tie_break(train.histories, self.n_items)

    def people(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        """Each history's person vector: the ALS user step against the learnt item factors."""
        x = interaction_matrix(histories, self.n_items)
        with threadpoolctl.threadpool_limits(1, "blas"):
            found = self.model.recalculate_user(np.arange(len(histories)), x)
        return np.asarray(found, dtype=np.float32).reshape(len(histories), -1)

    def scores(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        return self.people(histories) @ self.item_factors.T + self.tie


class Scored(Protocol):
    def scores(self, histories: Sequence[Sequence[int]]) -> np.ndarray: ...


S = TypeVar("S", bound=Scored)


@dataclass
class Tuned(Generic[S]):
    """The best model of a grid, its parameters, and every candidate's validation NDCG@10."""

    model: S
    params: dict[str, Any]
    ndcg: float
    table: list[tuple[dict[str, Any], float]] = field(default_factory=list)


def grid_search(
    build: Callable[..., S],
    grid: Mapping[str, Sequence[Any]],
    train: Sequences,
    histories: Sequence[Sequence[int]],
    targets: np.ndarray,
) -> Tuned[S]:
    """Fit `build(train, **params)` for every point of `grid`; keep the best by validation
    NDCG@10 of `targets` (held-out items ranked from `histories`). Ties keep the earlier point."""
    best: Tuned[S] | None = None
    table: list[tuple[dict[str, Any], float]] = []
    names = list(grid)
    for values in itertools.product(*(grid[name] for name in names)):
        params = dict(zip(names, values, strict=True))
        model = build(train, **params)
        ndcg = evaluate(model, histories, targets, train.n_items)["ndcg@10"]
        table.append((params, ndcg))
        if best is None or ndcg > best.ndcg:
            best = Tuned(model, params, ndcg)
        del model
    if best is None:
        raise ValueError("empty grid")
    best.table = table
    return best


def hold_out(train: Sequences, seed: int = 0) -> tuple[Sequences, np.ndarray]:
    """One item per person (of at least 3) for tuning: the last when the order is known, else one
    drawn with the seed, as the evaluation protocol does."""
    rng = np.random.default_rng(seed)
    valid = np.full(len(train.users), -1, dtype=np.int64)
    histories, weights = [], []
    for u, (history, weight) in enumerate(zip(train.histories, train.weights, strict=True)):
        history, weight = list(history), list(weight)
        if len(history) >= 3:
            at = len(history) - 1 if train.ordered[u] else int(rng.integers(len(history)))
            valid[u] = history.pop(at)
            weight.pop(at)
        histories.append(history)
        weights.append(weight)
    return Sequences(train.items, train.users, histories, train.ordered, weights), valid
