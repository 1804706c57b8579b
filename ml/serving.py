"""Serving in NumPy alone: web processes use this, never TensorFlow.

`SequenceServer` runs the GRU exported by ml.sequence (the same arithmetic as Keras's GRU with
`reset_after=True`, gates in the order update, reset, candidate) and ranks the catalogue by the
tied item table. `similar_items` ranks items by the cosine of any L2-normalised embeddings
(the artwork CNN's, for "looks like").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ml.artefacts import load_array, read_meta

SEQUENCE_FORMAT = "encore.sequence"
# 2: item ids in items.npy (a million ids as JSON cost a web process 100 MB to parse), not meta.
SEQUENCE_FORMAT_VERSION = 2


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def top_k_row(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best finite scores of one row, best first; equal scores by index, so
    the order is the same whatever the rounding of the arithmetic before."""
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]


class SequenceServer:
    """The GRU next-item model as NumPy arrays."""

    def __init__(
        self, arrays: dict[str, np.ndarray], items: Sequence[str] | np.ndarray, max_len: int
    ) -> None:
        # Arrays may be memory-mapped (load): converted only when not float32 already, so the
        # pages of a large item table are shared by every process that maps the same file.
        f32 = {name: np.asarray(a, dtype=np.float32) for name, a in arrays.items()}
        self.kernel, recurrent, bias = (
            f32["gru_kernel"],
            f32["gru_recurrent_kernel"],
            f32["gru_bias"],
        )
        self.hidden = recurrent.shape[0]
        self.input_bias = bias[0]
        self.recurrent_kernel = recurrent
        self.recurrent_bias = bias[1]
        self.projection_kernel = f32["projection_kernel"]
        self.projection_bias = f32["projection_bias"]
        # Row 0 of the tied table is padding: it is never recommended (item i is row i + 1).
        self.item_embedding = f32["item_embedding"]
        self.item_bias = f32["item_bias"]
        self.items = items
        self.max_len = max_len
        self._index: dict[str, int] | None = None

    @classmethod
    def load(cls, model_dir: Path | str, mmap: bool = False) -> SequenceServer:
        meta = read_meta(model_dir, SEQUENCE_FORMAT, [SEQUENCE_FORMAT_VERSION])
        names = (
            "item_embedding",
            "gru_kernel",
            "gru_recurrent_kernel",
            "gru_bias",
            "projection_kernel",
            "projection_bias",
            "item_bias",
        )
        arrays = {name: load_array(model_dir, name, mmap=mmap) for name in names}
        items = load_array(model_dir, "items", mmap=mmap)
        return cls(arrays, items, int(meta["hyperparameters"]["max_len"]))

    @property
    def index(self) -> dict[str, int]:
        """Item id → catalogue index (built on first use: batch callers only)."""
        if self._index is None:
            self._index = {str(item): i for i, item in enumerate(self.items)}
        return self._index

    @property
    def n_items(self) -> int:
        return len(self.items)

    def initial_state(self, n: int | None = None) -> np.ndarray:
        shape = (self.hidden,) if n is None else (n, self.hidden)
        return np.zeros(shape, dtype=np.float32)

    def input_gates(self, item_index: int | np.ndarray) -> np.ndarray:
        """The input half of every gate, which depends on the item alone: computed for these
        items only (a table of it for a million items would hold 768 MB in every web process)."""
        return self.item_embedding[np.asarray(item_index) + 1] @ self.kernel + self.input_bias

    def step(
        self, state: np.ndarray, item_index: int | np.ndarray, gates_x: np.ndarray | None = None
    ) -> np.ndarray:
        """The state after one more item (catalogue index); batched when both are arrays.
        `gates_x`: the item's input_gates, when computed already."""
        if gates_x is None:
            gates_x = self.input_gates(item_index)
        gates_h = state @ self.recurrent_kernel
        gates_h += self.recurrent_bias
        h = self.hidden
        update_reset = _sigmoid(gates_x[..., : 2 * h] + gates_h[..., : 2 * h])
        z, r = update_reset[..., :h], update_reset[..., h:]
        candidate = np.tanh(gates_x[..., 2 * h :] + r * gates_h[..., 2 * h :])
        # h' = z * h + (1 - z) * candidate, written with one fewer temporary array.
        return candidate + z * (state - candidate)

    def state_after(self, history: np.ndarray) -> np.ndarray:
        """One history's state after its last `max_len` items, the input gates of all of them in
        one product (what serving one person costs most)."""
        tail = np.asarray(history, dtype=np.int64)[-self.max_len :]
        state = self.initial_state()
        for gates in self.input_gates(tail):
            state = self.step(state, 0, gates)
        return state

    def encode(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        """States after each history's last `max_len` items (as the Keras model reads them)."""
        tails = [list(h)[-self.max_len :] for h in histories]
        longest = max((len(t) for t in tails), default=0)
        state = self.initial_state(len(tails))
        padded = np.full((len(tails), longest), -1, dtype=np.int64)
        for row, tail in enumerate(tails):
            if tail:
                padded[row, longest - len(tail) :] = tail
        for t in range(longest):
            column = padded[:, t]
            active = column >= 0
            if active.all():
                state = self.step(state, column)
            elif active.any():
                state[active] = self.step(state[active], column[active])
        return state

    def query(self, state: np.ndarray, last_item: int | np.ndarray) -> np.ndarray:
        """The vector whose inner product with each item's embedding (plus its bias) is that
        item's score, after a state and the item that led to it (it skips past the GRU)."""
        z = state @ self.projection_kernel[: self.hidden] + self.projection_bias
        return (
            z
            + self.item_embedding[np.asarray(last_item) + 1] @ self.projection_kernel[self.hidden :]
        )

    def scores_from_state(self, state: np.ndarray, last_item: int | np.ndarray) -> np.ndarray:
        """Every item's score after a state and the item that led to it."""
        return self.query(state, last_item) @ self.item_embedding[1:].T + self.item_bias[1:]

    def scores(self, histories: Sequence[Sequence[int]]) -> np.ndarray:
        """Every item's score after each history (ml.evaluation.Scorer)."""
        # Index -1 selects the padding row (an empty history has no last item).
        last = np.array([h[-1] if len(h) else -1 for h in histories], dtype=np.int64)
        return self.scores_from_state(self.encode(histories), last)

    def recommend(
        self, item_ids: Sequence[str], k: int, exclude: Iterable[str] = ()
    ) -> list[tuple[str, float]]:
        """Top k after a sequence of item ids, never one in it or in `exclude`."""
        return self.recommend_many([item_ids], k, [exclude])[0]

    def recommend_many(
        self,
        histories: Sequence[Sequence[str]],
        k: int,
        exclude: Sequence[Iterable[str]] | None = None,
        batch: int = 1024,
    ) -> list[list[tuple[str, float]]]:
        """Batched `recommend`; ids the model does not know are skipped."""
        out: list[list[tuple[str, float]]] = []
        for start in range(0, len(histories), batch):
            chunk = histories[start : start + batch]
            indices = [[self.index[i] for i in h if i in self.index] for h in chunk]
            scores = self.scores(indices)
            for row, history in enumerate(chunk):
                banned = [*history, *(exclude[start + row] if exclude is not None else ())]
                seen = [self.index[i] for i in banned if i in self.index]
                scores[row, seen] = -np.inf
                best = top_k_row(scores[row], k)
                out.append([(str(self.items[i]), float(scores[row, i])) for i in best])
        return out


def similar_items(
    embeddings: np.ndarray, ids: Sequence[str], item_id: str, k: int
) -> list[tuple[str, float]]:
    """The k items whose (L2-normalised) embeddings are closest to `item_id`'s, by cosine."""
    position = {item: i for i, item in enumerate(ids)}
    if item_id not in position:
        return []
    target = position[item_id]
    scores = np.asarray(embeddings, dtype=np.float32) @ embeddings[target]
    scores[target] = -np.inf
    return [(ids[i], float(scores[i])) for i in top_k_row(scores, k)]
