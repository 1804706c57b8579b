"""A serving model built by hand (NumPy only, no training): which item follows which is
planted, so tests know what a person's list must show and why, in milliseconds.

The GRU's weights are zero, so its scores are uniform; the Markov successors carry the
planted order, the item-kNN neighbours the planted co-plays, popularity the planted counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ml import hybrid
from ml.artefacts import save_arrays, write_meta, writing
from ml.serving import SEQUENCE_FORMAT, SEQUENCE_FORMAT_VERSION

DIM = 4
K = 5


def write_model(
    directory: Path,
    item_ids: Sequence[int],
    follows: dict[int, int] | None = None,
    popular: Sequence[int] = (),
    co_played: dict[int, list[tuple[int, int]]] | None = None,
) -> Path:
    """A hybrid model directory over these item ids: `follows[a] = b` (b comes after a),
    `popular` (most popular first), `co_played[a] = [(b, people), ...]`."""
    ids = sorted(str(i) for i in item_ids)  # as ml.data.encode orders them
    at = {int(item): n for n, item in enumerate(ids)}
    n = len(ids)
    rng = np.random.default_rng(0)
    embedding = rng.normal(0, 0.5, (n + 1, DIM)).astype(np.float32)
    embedding[0] = 0.0
    zeros = np.zeros
    popularity = np.linspace(0.01, 0.001, n).astype(np.float32)
    for rank, item in enumerate(popular):
        popularity[at[item]] = 0.5 - 0.01 * rank
    successors = np.full((n, K), -1, np.int32)
    probs = zeros((n, K), np.float16)
    for a, b in (follows or {}).items():
        successors[at[a], 0], probs[at[a], 0] = at[b], 1.0
    neighbours = np.full((n, K), -1, np.int32)
    # The dtypes ml.hybrid.Components.arrays saves.
    sims, people = zeros((n, K), np.float16), zeros((n, K), np.uint16)
    for a, others in (co_played or {}).items():
        for slot, (b, count) in enumerate(others):
            neighbours[at[a], slot], sims[at[a], slot], people[at[a], slot] = at[b], 0.5, count
    with writing(directory) as tmp:
        sequence = tmp / "sequence"
        sequence.mkdir()
        save_arrays(
            sequence,
            item_embedding=embedding,
            gru_kernel=zeros((DIM, 3 * DIM), np.float32),
            gru_recurrent_kernel=zeros((DIM, 3 * DIM), np.float32),
            gru_bias=zeros((2, 3 * DIM), np.float32),
            projection_kernel=zeros((2 * DIM, DIM), np.float32),
            projection_bias=zeros(DIM, np.float32),
            item_bias=zeros(n + 1, np.float32),
            items=np.asarray(ids, dtype=np.str_),
        )
        write_meta(
            sequence, SEQUENCE_FORMAT, SEQUENCE_FORMAT_VERSION, n_items=n,
            hyperparameters={"max_len": 20}, metrics={}, data_hash="planted",
        )  # fmt: skip
        save_arrays(
            tmp,
            popularity=popularity,
            neighbours=neighbours,
            neighbour_sims=sims,
            neighbour_people=people,
            successors=successors,
            successor_probs=probs,
        )
        weights = {**hybrid.DEFAULT_WEIGHTS, "markov": 1.0, "feedback": 0.0, "popularity": 1.0}
        write_meta(
            tmp, hybrid.FORMAT, hybrid.FORMAT_VERSION, weights=weights, metrics={}, genres={},
            n_items=n, data_hash="planted",
        )  # fmt: skip
    return directory
