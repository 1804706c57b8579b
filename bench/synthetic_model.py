"""A synthetic hybrid model directory (ml.hybrid, format 2) of the trained model's shapes, at any
catalogue size up to a million items, for the serving benchmarks.

Not uniform noise: it has the structure a trained model has, which is what ANN recall and the
two-stage ranking's candidates depend on:

- items (ids "1".."V", as the web app's database ids, stored sorted as strings like
  ml.data.encode) belong to max(20, V / 500) taste clusters;
- popularity is Zipf-like (share of users of the item ranked r: 0.3 / r^0.9, as many users as
  items, each item played by at least 5 people as in a 5-core data set), the GRU's item bias is
  its scaled log;
- the GRU's item embedding is the cluster's centre plus noise, with norms varying;
- the item-kNN neighbours (K = 50) are items of the same cluster, similarities decreasing, co-play
  counts consistent with popularity; the Markov successors are items of the same cluster too,
  as many as the item has players (at most K), probabilities summing to less than 1;
- up to `EASE_MAX_ITEMS` items, EASE lists (`EASE_NEIGHBOURS` per item) as a trained model
  of such a catalogue has them: items of the same cluster, weights decreasing in magnitude, one
  in five negative, and the blend weighs the part `EASE_WEIGHT`;
- beyond that, ALS's item factors (`ALS_FACTORS` wide) as training writes them there (ml.hybrid:
  the ALS part): the cluster's centre plus noise, longer for popular items, YᵀY + λI of them,
  the blend weighing the part `ALS_WEIGHT`, and their own ANN index (`als_ann/`, by write_ann);
- the GRU's weights are random N(0, 0.1), except that the projection's item half is the identity
  plus that noise: a trained model's query points near its last item's cluster (with a purely
  random projection it would point anywhere, which no trained model does).

`history(rng, n_items, length)` draws a history like a person's: popular-weighted items of one
or two clusters of the same catalogue (same `seed`).

    from bench.synthetic_model import write_model, history
    write_model(Path(tmp), 100_000)          # also builds ann/ (index=False: not)

Run: .venv/bin/python bench/synthetic_model.py DIR --items N [--seed S] [--no-index]
A million items take about half a minute on 2 cores (1.6 GB on disk), plus the ANN build.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.format import open_memmap

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ml.artefacts import save_arrays, write_meta
from ml.hybrid import (
    ALS_VERSION,
    DEFAULT_WEIGHTS,
    EASE_NEIGHBOURS,
    FORMAT,
    FORMAT_VERSION,
    NEIGHBOURS,
    PEOPLE_MAX,
)

MAX_ITEMS = 1_000_000
ITEMS_PER_CLUSTER = 500
MIN_CLUSTERS = 20
MAX_LEN = 20
# Popularity: share of users of the item of popularity rank r is TOP_SHARE / r^ZIPF, at least
# MIN_PEOPLE people (a 5-core data set), out of as many users as items (MIN_USERS at least).
TOP_SHARE = 0.3
ZIPF = 0.9
MIN_PEOPLE = 5
MIN_USERS = 1_000
# item_bias = BIAS_SCALE * (log popularity - its mean)
BIAS_SCALE = 0.4
# Cluster centres N(0, CENTRE_SD) per coordinate, items centre + N(0, NOISE_SD), norms scaled by
# a log-normal of sd NORM_SD.
CENTRE_SD = 0.25
NOISE_SD = 0.12
NORM_SD = 0.25
WEIGHT_SD = 0.1
CHUNK = 65_536
# ml.factors.EASE_MAX_ITEMS (not imported: that module needs SciPy): trained models of
# catalogues up to this size have EASE lists, weighed EASE_WEIGHT in the blend.
EASE_MAX_ITEMS = 20_000
EASE_WEIGHT = 0.3
# Beyond it, the ALS part: factors, regularisation and confidence as ALS_GRID's middle, the
# weight the tuning gave it on ml-latest-small when it was the only co-occurrence part.
ALS_FACTORS = 64
ALS_REGULARIZATION = 3.0
ALS_CONFIDENCE = 1.0
ALS_WEIGHT = 1.0
# An item's factors are longer the more people have it: ALS fitted on ml-latest-small (128
# factors, regularisation 10) gave norm ~ count^0.45 (correlation of the logs 0.98).
ALS_NORM_POWER = 0.45


@dataclass(frozen=True)
class Catalogue:
    """The synthetic catalogue's structure, by catalogue index (position of the sorted ids)."""

    ids: np.ndarray  # (V,) str, sorted as strings
    cluster: np.ndarray  # (V,) int32
    counts: np.ndarray  # (V,) int64: how many people played each item
    n_users: int
    members: np.ndarray  # (V,) int32: indices grouped by cluster, shuffled within one
    starts: np.ndarray  # (C,) where each cluster's members start
    sizes: np.ndarray  # (C,)
    position: np.ndarray  # (V,) int32: each item's place among its cluster's members

    @property
    def n_items(self) -> int:
        return len(self.ids)

    @property
    def popularity(self) -> np.ndarray:
        return (self.counts / self.n_users).astype(np.float32)

    def ring(self, items: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """(len(items), len(offsets)): for each item, the members of its cluster `offsets` places
        after it (offsets 1..size-1 are distinct items other than itself; -1 beyond that)."""
        c = self.cluster[items]
        size = self.sizes[c][:, None]
        at = (self.position[items][:, None] + offsets[None, :]) % size
        out = self.members[self.starts[c][:, None] + at]
        return np.where(offsets[None, :] < size, out, -1).astype(np.int32)


@functools.lru_cache(maxsize=2)
def catalogue(n_items: int, seed: int = 0) -> Catalogue:
    """The structure of the catalogue of `n_items` items (deterministic in both)."""
    if not 1 <= n_items <= MAX_ITEMS:
        raise ValueError(f"n_items must be 1..{MAX_ITEMS}")
    rng = np.random.default_rng([seed, 1])
    width = len(str(n_items))
    ids = np.sort(np.arange(1, n_items + 1).astype(f"U{width}"))
    n_clusters = max(MIN_CLUSTERS, n_items // ITEMS_PER_CLUSTER)
    cluster = rng.integers(0, n_clusters, n_items).astype(np.int32)
    n_users = max(MIN_USERS, n_items)
    rank = rng.permutation(n_items) + 1
    counts = np.rint(n_users * TOP_SHARE / rank.astype(np.float64) ** ZIPF)
    counts = np.maximum(counts, MIN_PEOPLE)
    shuffled = rng.permutation(n_items)
    members = shuffled[np.argsort(cluster[shuffled], kind="stable")].astype(np.int32)
    sizes = np.bincount(cluster, minlength=n_clusters)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    position = np.empty(n_items, dtype=np.int32)
    position[members] = np.arange(n_items, dtype=np.int32) - starts[cluster[members]]
    return Catalogue(
        ids, cluster, counts.astype(np.int64), n_users, members, starts, sizes, position
    )


def history(rng: np.random.Generator, n_items: int, length: int, seed: int = 0) -> list[str]:
    """A person's history (item ids, oldest first): items of one cluster, or of two (two times
    in five), the popular ones more likely, repeating only when the clusters are too small."""
    cat = catalogue(n_items, seed)
    clusters = np.flatnonzero(cat.sizes)
    wanted = min(1 + int(rng.random() < 0.4), len(clusters))
    chosen = rng.choice(clusters, size=wanted, replace=False)
    pool = np.concatenate(
        [cat.members[cat.starts[c] : cat.starts[c] + cat.sizes[c]] for c in chosen]
    )
    weights = np.sqrt(cat.counts[pool].astype(np.float64))
    picked = rng.choice(pool, size=length, replace=length > len(pool), p=weights / weights.sum())
    return [str(cat.ids[i]) for i in picked]


def write_model(
    directory: Path,
    n_items: int,
    seed: int = 0,
    dim: int = 64,
    hidden: int = 64,
    *,
    index: bool = True,
    ease: bool | None = None,
    als: bool | None = None,
) -> None:
    """A complete hybrid model directory in `directory` (created; files in it are replaced);
    `index=False` leaves out `ann/` and `als_ann/` (write_ann builds them); `ease`: with EASE
    lists (by default up to EASE_MAX_ITEMS items, as training writes them); `als`: with the ALS
    part (by default beyond EASE_MAX_ITEMS)."""
    directory = Path(directory)
    cat = catalogue(n_items, seed)
    rng = np.random.default_rng([seed, 2])
    sequence = directory / "sequence"
    sequence.mkdir(parents=True, exist_ok=True)
    _write_sequence(sequence, cat, rng, dim, hidden)
    _write_components(directory, cat, rng)
    weights = {**DEFAULT_WEIGHTS, "ease": 0.0}
    if n_items <= EASE_MAX_ITEMS if ease is None else ease:
        _write_ease(directory, cat, np.random.default_rng([seed, 4]))
        weights["ease"] = EASE_WEIGHT
    else:
        for name in ("ease_items", "ease_weights"):
            (directory / f"{name}.npy").unlink(missing_ok=True)
    version = FORMAT_VERSION
    if n_items > EASE_MAX_ITEMS if als is None else als:
        _write_als(directory, cat, np.random.default_rng([seed, 5]))
        weights["als"], version = ALS_WEIGHT, ALS_VERSION
    else:
        for name in ("als_items", "als_base", "als_confidence"):
            (directory / f"{name}.npy").unlink(missing_ok=True)
    write_meta(
        directory, FORMAT, version, weights=weights, metrics={}, genres={},
        n_items=n_items, data_hash="synthetic",
    )  # fmt: skip
    if index:
        write_ann(directory, n_items, seed)


def write_ann(directory: Path, n_items: int, seed: int = 0) -> None:
    """The model's ANN index (ml.hybrid.write_index), and the ALS part's when the model has it
    (ml.hybrid.write_als_index), their search depths tuned on people's queries as a training run
    tunes them on its people's histories."""
    from ml.hybrid import Components, write_als_index, write_index

    cat = catalogue(n_items, seed)
    people = np.random.default_rng([seed, 3])
    histories = [
        np.searchsorted(cat.ids, history(people, n_items, int(people.integers(5, 50)), seed))
        for _ in range(500)
    ]
    write_index(directory, seed, histories)
    als = Components.load(directory, serving=True).als
    if als is not None:
        write_als_index(directory, als, seed, histories)


def _write_sequence(
    directory: Path, cat: Catalogue, rng: np.random.Generator, dim: int, hidden: int
) -> None:
    v = cat.n_items
    centres = rng.normal(0, CENTRE_SD, (len(cat.sizes), dim)).astype(np.float32)
    table = open_memmap(directory / "item_embedding.npy", "w+", np.float32, (v + 1, dim))
    table[0] = 0.0  # padding
    for start in range(0, v, CHUNK):
        stop = min(start + CHUNK, v)
        rows = centres[cat.cluster[start:stop]]
        rows += rng.standard_normal((stop - start, dim), dtype=np.float32) * np.float32(NOISE_SD)
        rows *= np.exp(rng.normal(0, NORM_SD, (stop - start, 1))).astype(np.float32)
        table[start + 1 : stop + 1] = rows
    table.flush()
    del table
    log_pop = np.log(cat.counts.astype(np.float64))
    item_bias = np.zeros(v + 1, dtype=np.float32)
    item_bias[1:] = BIAS_SCALE * (log_pop - log_pop.mean())
    projection = rng.normal(0, WEIGHT_SD, (hidden + dim, dim))
    projection[hidden:] += np.eye(dim)
    save_arrays(
        directory,
        gru_kernel=rng.normal(0, WEIGHT_SD, (dim, 3 * hidden)).astype(np.float32),
        gru_recurrent_kernel=rng.normal(0, WEIGHT_SD, (hidden, 3 * hidden)).astype(np.float32),
        gru_bias=rng.normal(0, WEIGHT_SD, (2, 3 * hidden)).astype(np.float32),
        projection_kernel=projection.astype(np.float32),
        projection_bias=np.zeros(dim, dtype=np.float32),
        item_bias=item_bias,
        items=cat.ids,
    )
    hyper = {
        "dim": dim, "hidden": hidden, "dropout": 0.4, "max_len": MAX_LEN, "batch_size": 64,
        "learning_rate": 0.01, "epochs": 12, "patience": 4, "loss": "sampled", "negatives": 256,
    }  # fmt: skip
    write_meta(
        directory, "encore.sequence", 2, n_items=v, hyperparameters=hyper, metrics={},
        data_hash="synthetic",
    )  # fmt: skip


def _write_components(directory: Path, cat: Catalogue, rng: np.random.Generator) -> None:
    v, k = cat.n_items, NEIGHBOURS
    save_arrays(directory, popularity=cat.popularity)
    files = {
        name: open_memmap(directory / f"{name}.npy", "w+", dtype, (v, k))
        for name, dtype in (
            ("neighbours", np.int32),
            # The dtypes ml.hybrid.Components.arrays saves.
            ("neighbour_sims", np.float16),
            ("neighbour_people", np.uint16),
            ("successors", np.int32),
            ("successor_probs", np.float16),
        )
    }
    columns = np.arange(k)
    # Successors sit a little further along the cluster's ring than the neighbours: the two
    # lists overlap in part, as a trained model's do.
    successor_offsets = 1 + k // 2 + columns
    decay = (columns + 1.0) ** -1.1
    for start in range(0, v, CHUNK):
        items = np.arange(start, min(start + CHUNK, v))
        n = len(items)
        neighbours = cat.ring(items, 1 + columns)
        valid = neighbours >= 0
        sims = rng.uniform(0.2, 0.6, (n, 1)) * -np.sort(-rng.uniform(0.2, 1.0, (n, k)), axis=1)
        sims = np.where(valid, sims, 0.0)
        mine = cat.counts[items][:, None].astype(np.float64)
        theirs = cat.counts[np.maximum(neighbours, 0)].astype(np.float64)
        people = np.clip(np.rint(sims * np.sqrt(mine * theirs)), 1, np.minimum(mine, theirs))
        files["neighbours"][start : start + n] = neighbours
        files["neighbour_sims"][start : start + n] = sims
        files["neighbour_people"][start : start + n] = np.minimum(
            np.where(valid, people, 0), PEOPLE_MAX
        )

        successors = cat.ring(items, successor_offsets)
        # An item has at most as many distinct successors as people who played it.
        successors[columns[None, :] >= np.minimum(mine, k)] = -1
        weights = np.where(successors >= 0, decay[None, :], 0.0)
        mass = rng.uniform(0.3, 0.9, (n, 1))
        probs = weights * mass / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
        files["successors"][start : start + n] = successors
        files["successor_probs"][start : start + n] = probs
    for array in files.values():
        array.flush()


def _write_ease(directory: Path, cat: Catalogue, rng: np.random.Generator) -> None:
    """EASE lists: the next items of the cluster's ring, weights decreasing in magnitude (one in
    five negative); where the cluster is too small, the item itself with weight 0 (as EASE's
    zero diagonal gives)."""
    v, k = cat.n_items, min(EASE_NEIGHBOURS, cat.n_items)
    items = open_memmap(directory / "ease_items.npy", "w+", np.int32, (v, k))
    weights = open_memmap(directory / "ease_weights.npy", "w+", np.float16, (v, k))
    columns = np.arange(k)
    for start in range(0, v, CHUNK):
        rows = np.arange(start, min(start + CHUNK, v))
        n = len(rows)
        found = cat.ring(rows, 1 + columns)
        size = 0.05 * (columns + 1.0) ** -0.8 * rng.uniform(0.5, 1.5, (n, k))
        sign = np.where(rng.random((n, k)) < 0.2, -1.0, 1.0)
        weights[start : start + n] = np.where(found >= 0, size * sign, 0.0)
        items[start : start + n] = np.where(found >= 0, found, rows[:, None])
    items.flush()
    weights.flush()


def _write_als(directory: Path, cat: Catalogue, rng: np.random.Generator) -> None:
    """ALS's item factors: the cluster's centre plus noise (people of one taste share a
    direction), longer for popular items as ALS makes them (`ALS_NORM_POWER`);
    YᵀY + λI of them as saved, and the confidence."""
    v, k = cat.n_items, ALS_FACTORS
    centres = rng.normal(0.0, CENTRE_SD, (len(cat.sizes), k))
    items = open_memmap(directory / "als_items.npy", "w+", np.float16, (v, k))
    base = np.zeros((k, k))
    median = float(np.median(cat.counts))
    for start in range(0, v, CHUNK):
        rows = np.arange(start, min(start + CHUNK, v))
        found = centres[cat.cluster[rows]] + rng.normal(0.0, NOISE_SD, (len(rows), k))
        found *= (cat.counts[rows, None] / median) ** ALS_NORM_POWER
        items[start : start + len(rows)] = found.astype(np.float16)
        saved = np.asarray(items[start : start + len(rows)], dtype=np.float64)
        base += saved.T @ saved
    items.flush()
    base[np.diag_indices(k)] += ALS_REGULARIZATION
    save_arrays(directory, als_base=base, als_confidence=np.asarray([ALS_CONFIDENCE]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--items", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--no-index", action="store_true", help="leave out ann/")
    args = parser.parse_args()
    start = time.perf_counter()
    write_model(args.directory, args.items, args.seed, args.dim, args.hidden, index=False)
    print(f"model of {args.items:,} items written in {time.perf_counter() - start:.1f} s")
    if not args.no_index:
        start = time.perf_counter()
        write_ann(args.directory, args.items, args.seed)
        print(f"ANN index built in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
