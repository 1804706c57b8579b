"""NumPy serving speed: top 10 for one sequence over 10,000 items; all users of a 10k x 10k world.

Weights are random (speed does not depend on what was learnt); sizes are ml.sequence's defaults.
Run: .venv/bin/python bench/ml_serving.py
"""

from __future__ import annotations

import os

# Serving runs in web worker processes, one request at a time each: single-threaded BLAS is
# the production setting (multi-threaded BLAS on a busy machine is ~50x slower here).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ml.serving import SequenceServer

N_ITEMS = 10_000
N_USERS = 10_000
# ml.sequence's defaults, then a bigger model reading longer histories.
SIZES = ((64, 64, 20), (64, 128, 50))


def random_server(rng: np.random.Generator, dim: int, hidden: int, max_len: int) -> SequenceServer:
    arrays = {
        "item_embedding": rng.normal(0, 0.1, (N_ITEMS + 1, dim)),
        "gru_kernel": rng.normal(0, 0.1, (dim, 3 * hidden)),
        "gru_recurrent_kernel": rng.normal(0, 0.1, (hidden, 3 * hidden)),
        "gru_bias": rng.normal(0, 0.1, (2, 3 * hidden)),
        "projection_kernel": rng.normal(0, 0.1, (hidden + dim, dim)),
        "projection_bias": np.zeros(dim),
        "item_bias": rng.normal(0, 0.1, N_ITEMS + 1),
    }
    return SequenceServer(arrays, [f"i{n}" for n in range(N_ITEMS)], max_len)


def main() -> None:
    print("(2 shared cores: figures are noisy)")
    for dim, hidden, max_len in SIZES:
        print(f"catalogue {N_ITEMS} items, dim {dim}, GRU {hidden}, history read {max_len} items")
        run(random_server(np.random.default_rng(0), dim, hidden, max_len), max_len)


def run(server: SequenceServer, max_len: int) -> None:
    rng = np.random.default_rng(1)

    for length in (10, max_len):
        histories = [[f"i{n}" for n in rng.integers(0, N_ITEMS, length)] for _ in range(200)]
        times = []
        for history in histories:
            start = time.perf_counter()
            server.recommend(history, 10)
            times.append(time.perf_counter() - start)
        print(
            f"  one sequence of {length:>2} items, top 10: median "
            f"{statistics.median(times) * 1e3:.3f} ms, p95 {np.percentile(times, 95) * 1e3:.3f} ms"
        )

    state = server.encode([[1, 2, 3]])
    last = np.array([3])
    times = []
    for _ in range(200):
        start = time.perf_counter()
        state = server.step(state, last)
        scores = server.scores_from_state(state, last)[0]
        np.argpartition(-scores, 10)[:10]
        times.append(time.perf_counter() - start)
    print(f"  one step + top 10 from a kept state: median {statistics.median(times) * 1e3:.3f} ms")

    lengths = rng.integers(5, 200, N_USERS)
    everyone = [[f"i{n}" for n in rng.integers(0, N_ITEMS, n)] for n in lengths]
    start = time.perf_counter()
    recs = server.recommend_many(everyone, 10)
    elapsed = time.perf_counter() - start
    assert len(recs) == N_USERS and all(len(r) == 10 for r in recs)
    print(f"  all {N_USERS} users (histories of 5-200 items), top 10 each: {elapsed:.1f} s")


if __name__ == "__main__":
    main()
