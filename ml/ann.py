"""Approximate top-k of q·E_j + b_j over a large item table, with faiss (never TensorFlow).

The GRU scores item j for a person as q·E_j + b_j. At a million items a full matrix-vector
product per request is too slow, so `ItemIndex` scores the most popular items exactly and finds
the best of the rest with an inverted-file index (faiss IndexIVFFlat) over the items reduced
to L2 nearest neighbours (`_augment`). Files: `head.faiss`, `body.faiss`, `meta.json`.

Why IVF-Flat and not HNSW (1,000,000 items, d=64, a clustered synthetic table shaped like a
trained one, this 2-core machine): IVF-Flat with 2048 lists (10 k-means iterations) built in
18 s, held 260 MB and reached recall@10 0.97 at 0.4 ms a query; HNSW-Flat over the same
augmented vectors built in 70 s (M=16) to 320 s (M=32), held 390-510 MB and stayed at
recall@10 0.65-0.86 at efSearch 256-512: the augmentation puts every item on one sphere far
from every query, which a proximity graph navigates badly.

Threads: searches of fewer than `PARALLEL_FROM` queries run on the calling thread (see
`_one_thread`). `build` uses the threads faiss is allowed; faiss's OpenMP threads spin while
they wait, so on cores shared with other work give it one thread or OMP_WAIT_POLICY=PASSIVE
(measured: a 20,000-item build took 0.85 s on 1 thread, 5.4 s on 2 beside busy cores, 1.3 s on
2 passive).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from ml.artefacts import ArtefactError, read_meta, write_meta, writing

INDEX_FORMAT = "encore.ann"
INDEX_FORMAT_VERSION = 1
HEAD_FILE = "head.faiss"
BODY_FILE = "body.faiss"

# Below this many items an exact (flat) index costs well under a millisecond per query.
EXACT_BELOW = 10_000
# The share of items, by largest bias, scored exactly for every query (see ItemIndex), capped
# so that it costs a query at most ~0.25 ms (10,000 items: 0.13 ms).
HEAD_SHARE = 0.01
HEAD_MAX = 20_000
TARGET_RECALL = 0.97
TUNING_QUERIES = 200
# nprobe stops at a sixteenth of the lists (about 6% of the items, ~2-3 ms a query at a
# million): a table that needs more (uniform noise, not a trained table) gets less recall.
MAX_PROBE_SHARE = 1 / 16
# k-means: training points per list (faiss wants at least 39) and iterations.
TRAIN_PER_LIST = 64
KMEANS_ITERATIONS = 20
# Smaller batches are searched on the calling thread alone (see ItemIndex.search).
PARALLEL_FROM = 64
NPROBES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024)


def _augment(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Rows p_j = [E_j, b_j] as x_j = [p_j, sqrt(M² - ‖p_j‖²)], M the largest ‖p_j‖.

    Every x_j then has norm M, and for a query y = [q, 1, 0]:
        ‖x_j - y‖² = M² + ‖y‖² - 2 (q·E_j + b_j),
    so the nearest x_j in L2 are exactly the items of largest q·E_j + b_j. Inner product search
    with a bias becomes the L2 search that faiss's k-means lists handle well.
    """
    squared = np.einsum("ij,ij->i", points, points, dtype=np.float64)
    top = float(squared.max()) if len(squared) else 0.0
    extra = np.sqrt(np.maximum(top - squared, 0.0)).astype(np.float32)
    return np.ascontiguousarray(np.hstack([points, extra[:, None]])), float(np.sqrt(top))


def _query_rows(queries: np.ndarray, width: int) -> np.ndarray:
    """[q, 1] (inner product against [E_j, b_j]) or [q, 1, 0] (L2 against x_j)."""
    out = np.zeros((len(queries), width), dtype=np.float32)
    out[:, : queries.shape[1]] = queries
    out[:, queries.shape[1]] = 1.0
    return out


def _n_lists(n_items: int) -> int:
    """About 2·sqrt(V) lists (a power of two; 2048 at a million items), each with enough
    points to train k-means."""
    target = max(1.0, 2.0 * np.sqrt(n_items))
    return int(max(1, min(2 ** round(np.log2(target)), n_items // 39)))


def exact_top_k(vectors: np.ndarray, bias: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """The exact top k of q·E + b per query, best first (by blocks of queries, to bound memory)."""
    k = min(k, len(vectors))
    out = np.zeros((len(queries), max(k, 0)), dtype=np.int64)
    if k <= 0:
        return out
    block = max(1, (1 << 24) // len(vectors))
    for start in range(0, len(queries), block):
        scores = queries[start : start + block] @ vectors.T + bias
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
        out[start : start + block] = np.take_along_axis(part, order, axis=1)
    return out


def recall(
    found: np.ndarray, truth: np.ndarray, vectors: np.ndarray, bias: np.ndarray, queries: np.ndarray
) -> float:
    """Share of the true top k (`truth`, from exact_top_k) in `found`, counting an item whose
    score ties the k-th best as true."""
    k = truth.shape[1]
    if k == 0:
        return 1.0
    hits = 0
    for row, q in enumerate(queries):
        kth = float(vectors[truth[row, -1]] @ q + bias[truth[row, -1]])
        got = found[row, :k][found[row, :k] >= 0]
        scores = vectors[got] @ q + bias[got]
        hits += int((scores >= kth - 1e-5 * max(1.0, abs(kth))).sum())
    return hits / truth.size


def _tuning_queries(vectors: np.ndarray, bias: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stand-ins for people's query vectors: perturbed item vectors.

    A query's scale decides how much the bias counts against q·E (large q: taste dominates;
    small q: popularity does), so the scale is drawn to make the spread of q·E over items one
    to sixteen times the spread of the biases. Below that the top 10 is mostly head items,
    which are scored exactly: such queries would only make the body look better than it is.
    """
    n, d = vectors.shape
    picked = vectors[rng.choice(n, size=min(TUNING_QUERIES, n), replace=False)].astype(np.float32)
    norms = np.linalg.norm(picked, axis=1, keepdims=True)
    noise = rng.standard_normal(picked.shape).astype(np.float32) * (0.5 * norms / np.sqrt(d))
    queries = picked + noise
    sample = vectors[rng.choice(n, size=min(10_000, n), replace=False)]
    spread = (queries @ sample.T).std(axis=1, keepdims=True)
    ratio = np.exp(rng.uniform(0.0, np.log(16.0), size=(len(queries), 1)))
    bias_spread = float(bias.std())
    if bias_spread > 0:
        queries *= np.where(spread > 0, ratio * bias_spread / np.maximum(spread, 1e-30), 1.0)
    return queries.astype(np.float32)


class ItemIndex:
    """Approximate top-k of q·E_j + b_j over items j.

    Two parts, merged by score: the head, the `HEAD_SHARE` of items with the largest bias,
    scored exactly (a flat inner-product index over [E_j, b_j]); and the body, every other
    item, in IVF-Flat lists over the augmented x_j. Why: popular items lie in every list, and
    their large ‖[E_j, b_j]‖ sets M for everyone. Measured against one IVF over all items,
    same nprobe: at a million items recall@10 rose from 0.87 to 1.00 for queries whose top 10
    the bias decides and from 0.92 to 0.95 for those it hardly touches; at 20,000 items
    (d=16, popularity unrelated to taste) from 0.85 at nprobe 64 of 256 lists to 0.96 at 6.

    Small catalogues (or `exact=True`) put every item in the head: the results are exact.
    """

    def __init__(self, head: faiss.Index, body: faiss.Index | None, meta: dict[str, Any]) -> None:
        self.head = head
        self.body = body
        self.meta = meta
        self.dim = int(meta["dim"])
        self.body_norm = float(meta.get("body_max_norm", 0.0))

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        bias: np.ndarray,
        *,
        seed: int = 0,
        exact: bool | None = None,
        n_lists: int | None = None,
        head_items: int | None = None,
        queries: np.ndarray | None = None,
        head_by: np.ndarray | None = None,
    ) -> ItemIndex:
        """Index the item table E (V, d) and biases b (V,).

        `exact`: one flat index, exact results; by default below `EXACT_BELOW` items.
        Otherwise `head_items` in the head (default `HEAD_SHARE` of V, at most `HEAD_MAX`): those
        of the largest `head_by` (default the biases; a table without biases passes its rows'
        norms, which then decide what wins inner products and stretch the L2 reduction), the
        rest in IVF-Flat with `n_lists` lists (default about 2·sqrt(V)), trained by k-means
        seeded with `seed`; nprobe is the smallest reaching recall@10 ≥ `TARGET_RECALL` on
        `TUNING_QUERIES` perturbed item vectors, at most `MAX_PROBE_SHARE` of the lists.
        """
        vectors = np.asarray(vectors, dtype=np.float32)
        bias = np.asarray(bias, dtype=np.float32).reshape(-1)
        if vectors.ndim != 2 or len(bias) != len(vectors):
            raise ValueError(
                f"need vectors (V, d) and bias (V,), got {vectors.shape}, {bias.shape}"
            )
        if not (np.isfinite(vectors).all() and np.isfinite(bias).all()):
            raise ValueError("item vectors and biases must be finite")
        started = time.perf_counter()
        n, d = vectors.shape
        points = np.hstack([vectors, bias[:, None]])
        exact = n < EXACT_BELOW if exact is None else exact
        by_bias = np.argsort(-(bias if head_by is None else np.asarray(head_by)), kind="stable")
        if head_items is None:
            head_items = min(int(HEAD_SHARE * n), HEAD_MAX)
        n_head = n if exact else min(n, head_items)
        head_rows = np.sort(by_bias[:n_head]).astype(np.int64)
        head = faiss.IndexIDMap(faiss.IndexFlatIP(d + 1))
        head.add_with_ids(points[head_rows], head_rows)
        meta: dict[str, Any] = {"n_items": n, "dim": d, "seed": seed, "head_items": n_head}
        if n_head == n:
            meta.update(index_type="flat", exact=True, recall_at_10=1.0)
            index = cls(head, None, meta)
        else:
            rng = np.random.default_rng(seed)
            body_rows = np.sort(by_bias[n_head:]).astype(np.int64)
            body_points, body_norm = _augment(points[body_rows])
            del points
            lists = max(1, min(n_lists or _n_lists(len(body_rows)), len(body_rows)))
            body = faiss.IndexIVFFlat(faiss.IndexFlatL2(d + 2), d + 2, lists)
            body.cp.seed = seed
            body.cp.niter = KMEANS_ITERATIONS
            train = min(len(body_rows), TRAIN_PER_LIST * lists)
            body.train(body_points[np.sort(rng.choice(len(body_rows), train, replace=False))])
            body.add_with_ids(body_points, body_rows)
            del body_points
            meta.update(
                index_type="ivf_flat",
                exact=False,
                body_max_norm=body_norm,
                nlist=lists,
                kmeans_iterations=KMEANS_ITERATIONS,
                training_points=train,
            )
            index = cls(head, body, meta)
            # People's own query vectors when the caller has them: perturbed items stand in
            # for them badly (a GRU's queries sit between clusters, where more lists matter).
            if queries is None or not len(queries):
                queries = _tuning_queries(vectors, bias, rng)
            queries = np.asarray(queries, dtype=np.float32)
            truth = exact_top_k(vectors, bias, queries, 10)
            nprobe, measured = 1, 0.0
            for nprobe in [p for p in NPROBES if p <= max(1, int(lists * MAX_PROBE_SHARE))]:
                body.nprobe = nprobe
                measured = recall(index.search(queries, 10), truth, vectors, bias, queries)
                if measured >= TARGET_RECALL:
                    break
            meta.update(
                nprobe=nprobe,
                recall_at_10=round(measured, 4),
                target_recall=TARGET_RECALL,
                tuning_queries=len(queries),
            )
        meta["build_seconds"] = round(time.perf_counter() - started, 2)
        meta["faiss_version"] = faiss.__version__
        return index

    def save(self, directory: Path | str) -> None:
        """Write the index file(s) and meta.json into `directory`, replacing it whole."""
        with writing(directory) as tmp:
            faiss.write_index(self.head, str(tmp / HEAD_FILE))
            if self.body is not None:
                faiss.write_index(self.body, str(tmp / BODY_FILE))
            written = ("format", "format_version", "created_at", "libraries")
            fields = {k: v for k, v in self.meta.items() if k not in written}
            write_meta(tmp, INDEX_FORMAT, INDEX_FORMAT_VERSION, **fields)

    @classmethod
    def load(cls, directory: Path | str, *, mmap: bool = True) -> ItemIndex:
        """Read an index written by `save`.

        `mmap`: the body's lists stay in the file, mapped read-only, so the processes serving
        one model share its pages through the page cache and only the lists their queries
        touch become resident. Searches are as fast once the pages are cached.
        """
        directory = Path(directory)
        meta = read_meta(directory, INDEX_FORMAT, [INDEX_FORMAT_VERSION])
        head = _read(directory / HEAD_FILE)
        body = None
        if not meta.get("exact", True):
            body = _read(directory / BODY_FILE, faiss.IO_FLAG_MMAP if mmap else 0)
            ivf = faiss.extract_index_ivf(body)
            ivf.nprobe = int(meta["nprobe"])
            lists = ivf.invlists and faiss.downcast_InvertedLists(ivf.invlists)
            if isinstance(lists, faiss.OnDiskInvertedLists):
                # By default every search starts 32 threads to prefetch the lists it will
                # read: 3.5 ms a query instead of 0.35 ms.
                lists.prefetch_nthread = 0
        total = head.ntotal + (body.ntotal if body is not None else 0)
        if total != meta.get("n_items") or head.d != int(meta.get("dim", -2)) + 1:
            raise ArtefactError(f"the index files in {directory} do not match its meta.json")
        return cls(head, body, meta)

    @property
    def n_items(self) -> int:
        return int(self.head.ntotal + (self.body.ntotal if self.body is not None else 0))

    def search(self, queries: np.ndarray, k: int) -> np.ndarray:
        """Item rows (B, k) of the best q·E_j + b_j per query (B, d), best first; -1 pads a
        row when there are fewer than k items (or, rarely, the probed lists hold fewer)."""
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"need queries (B, {self.dim}), got {queries.shape}")
        if k < 0:
            raise ValueError(f"k must be ≥ 0, got {k}")
        out = np.full((len(queries), k), -1, dtype=np.int64)
        if k == 0 or len(queries) == 0 or self.n_items == 0:
            return out
        with _one_thread(len(queries) < PARALLEL_FROM):
            return self._search(queries, k, out)

    def _search(self, queries: np.ndarray, k: int, out: np.ndarray) -> np.ndarray:
        scores, rows = [], []
        if self.head.ntotal:
            head_scores, head_rows = self.head.search(
                _query_rows(queries, self.dim + 1), min(k, self.head.ntotal)
            )
            scores.append(head_scores)
            rows.append(head_rows)
        if self.body is not None and self.body.ntotal:
            y = _query_rows(queries, self.dim + 2)
            distances, body_rows = self.body.search(y, min(k, self.body.ntotal))
            # Back from ‖x_j - y‖² to q·E_j + b_j (see _augment).
            offset = self.body_norm**2 + np.einsum("ij,ij->i", y, y, dtype=np.float64)
            body_scores = (offset[:, None] - distances) / 2
            body_scores[body_rows < 0] = -np.inf
            scores.append(body_scores)
            rows.append(body_rows)
        if len(rows) == 1:
            out[:, : rows[0].shape[1]] = rows[0]
        else:
            merged = np.hstack(rows)
            best = np.argsort(-np.hstack(scores), axis=1, kind="stable")[:, :k]
            out[:, : best.shape[1]] = np.take_along_axis(merged, best, axis=1)
        return out


@contextlib.contextmanager
def _one_thread(wanted: bool) -> Iterator[None]:
    """Run faiss on the calling thread only, for this block.

    A single query is under a millisecond of work, yet at 2 threads faiss opens OpenMP regions
    for it; on cores busy with other work a head search then a body search took 24 ms (p50, 2
    cores at load 7) against 0.8 ms on one thread. OpenMP's thread count belongs to the calling
    thread, so this leaves other threads' alone.
    """
    if not wanted:
        yield
        return
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def _read(path: Path, flags: int = 0) -> faiss.Index:
    if not path.is_file():
        raise ArtefactError(f"{path} is missing")
    try:
        return faiss.read_index(str(path), flags)
    except RuntimeError as exc:  # faiss's own errors: a truncated or foreign file
        raise ArtefactError(f"{path} is not a faiss index: {exc}") from None
