"""The ANN index finds the top of q·E + b: exactly on small catalogues, nearly on larger ones."""

from __future__ import annotations

import json
import subprocess
import sys

import faiss
import numpy as np
import pytest

from ml import artefacts
from ml.ann import INDEX_FORMAT, INDEX_FORMAT_VERSION, ItemIndex, exact_top_k, recall
from ml.artefacts import ArtefactError


def catalogue(n: int, d: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Items around tastes (cluster centres), norms varying, biases ~ log Zipf popularity."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(2, n // 200), d)).astype(np.float32)
    vectors = centres[rng.integers(0, len(centres), n)]
    vectors += 0.4 * rng.standard_normal((n, d)).astype(np.float32)
    vectors *= np.exp(0.2 * rng.standard_normal((n, 1))).astype(np.float32)
    bias = -0.3 * np.log(rng.permutation(n) + 1.0)
    bias += 0.2 * rng.standard_normal(n)
    return vectors, (bias - bias.mean()).astype(np.float32)


def people(vectors: np.ndarray, n: int, seed: int = 1) -> np.ndarray:
    """Query vectors like a person's state: a mixture of a few items, noised, at several
    scales (from popularity-dominated to taste-dominated rankings)."""
    rng = np.random.default_rng(seed)
    picks = vectors[rng.integers(0, len(vectors), (n, 3))]
    queries = (rng.dirichlet(np.ones(3), n)[:, :, None] * picks).sum(axis=1)
    queries += 0.3 * rng.standard_normal(queries.shape)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return (queries * rng.choice([0.1, 0.5, 1.0, 3.0], (n, 1))).astype(np.float32)


@pytest.fixture(autouse=True, scope="module")
def quick():
    """One faiss thread: its OpenMP threads spin while they wait, so on a machine whose cores
    are busy (a test run beside others) a 2-thread k-means took 5x longer than 1 thread. And no
    Keras import (about 10 s) for the library versions in meta.json, which the index never
    uses."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(artefacts, "library_versions", lambda: {"numpy": np.__version__})
        yield
    faiss.omp_set_num_threads(threads)


@pytest.fixture(scope="module")
def medium():
    vectors, bias = catalogue(20_000)
    return vectors, bias, ItemIndex.build(vectors, bias, seed=0)


def test_small_catalogue_is_exact():
    vectors, bias = catalogue(800, d=8)
    index = ItemIndex.build(vectors, bias)
    queries = people(vectors, 50)
    found = index.search(queries, 10)
    truth = exact_top_k(vectors, bias, queries, 10)
    assert index.meta["exact"] and index.n_items == 800
    for q, got, want in zip(queries, found, truth, strict=True):
        # Equal scores in the same order: the same items up to ties.
        np.testing.assert_allclose(
            vectors[got] @ q + bias[got], vectors[want] @ q + bias[want], rtol=1e-5, atol=1e-5
        )


def test_clustered_catalogue_recall(medium):
    vectors, bias, index = medium
    assert index.meta["index_type"] == "ivf_flat" and not index.meta["exact"]
    assert 0 < index.meta["head_items"] < index.n_items == len(vectors)
    assert index.meta["recall_at_10"] >= 0.9
    queries = people(vectors, 300)
    truth = exact_top_k(vectors, bias, queries, 10)
    assert recall(index.search(queries, 10), truth, vectors, bias, queries) >= 0.9


def test_save_load_round_trip(medium, tmp_path):
    vectors, _, index = medium
    queries = people(vectors, 40)
    index.save(tmp_path / "ann")
    meta = json.loads((tmp_path / "ann" / "meta.json").read_text())
    assert meta["format"] == INDEX_FORMAT and meta["n_items"] == len(vectors)
    assert {"nlist", "nprobe", "recall_at_10", "dim"} <= meta.keys()
    expected = index.search(queries, 25)
    for mmap in (True, False):
        loaded = ItemIndex.load(tmp_path / "ann", mmap=mmap)
        assert loaded.n_items == index.n_items
        np.testing.assert_array_equal(loaded.search(queries, 25), expected)
    # Saved again from a loaded index: still readable.
    loaded.save(tmp_path / "again")
    np.testing.assert_array_equal(ItemIndex.load(tmp_path / "again").search(queries, 25), expected)


def test_same_seed_same_index():
    vectors, bias = catalogue(4_000, seed=3)
    first = ItemIndex.build(vectors, bias, seed=7, exact=False)
    second = ItemIndex.build(vectors, bias, seed=7, exact=False)
    queries = people(vectors, 50)
    assert first.meta["nprobe"] == second.meta["nprobe"]
    np.testing.assert_array_equal(first.search(queries, 10), second.search(queries, 10))


def test_batch_equals_single_queries(medium):
    vectors, _, index = medium
    queries = people(vectors, 5)
    batch = index.search(queries, 10)
    for row, q in enumerate(queries):
        np.testing.assert_array_equal(index.search(q[None, :], 10)[0], batch[row])


@pytest.mark.parametrize("exact", [True, False])
def test_k_beyond_catalogue_pads(exact):
    vectors, bias = catalogue(300, d=8)
    index = ItemIndex.build(vectors, bias, exact=exact)
    found = index.search(people(vectors, 4), 350)
    assert found.shape == (4, 350) and found.dtype == np.int64
    for row in found:
        valid = row[row >= 0]
        assert (row[: len(valid)] >= 0).all() and (row[len(valid) :] == -1).all()
        assert len(set(valid.tolist())) == len(valid) and valid.max() < 300
    if exact:
        assert (found[:, :300] >= 0).all()
    assert index.search(people(vectors, 2), 0).shape == (2, 0)


def test_single_queries_leave_the_thread_count_alone(medium):
    vectors, _, index = medium
    faiss.omp_set_num_threads(2)
    try:
        index.search(people(vectors, 1), 10)
        assert faiss.omp_get_max_threads() == 2
    finally:
        faiss.omp_set_num_threads(1)


def test_wrong_shapes_are_refused(medium):
    _, _, index = medium
    with pytest.raises(ValueError):
        index.search(np.zeros((2, 5), np.float32), 10)
    with pytest.raises(ValueError):
        ItemIndex.build(np.zeros((4, 3), np.float32), np.zeros(5, np.float32))


def test_wrong_directory_is_refused(tmp_path):
    with pytest.raises(ArtefactError):
        ItemIndex.load(tmp_path / "missing")
    vectors, bias = catalogue(200, d=4)
    ItemIndex.build(vectors, bias).save(tmp_path / "ann")
    meta_path = tmp_path / "ann" / "meta.json"
    meta = json.loads(meta_path.read_text())
    for key, value in (("format_version", INDEX_FORMAT_VERSION + 1), ("format", "encore.sequence")):
        meta_path.write_text(json.dumps({**meta, key: value}))
        with pytest.raises(ArtefactError):
            ItemIndex.load(tmp_path / "ann")
    meta_path.write_text(json.dumps(meta))
    (tmp_path / "ann" / "head.faiss").write_bytes(b"not an index")
    with pytest.raises(ArtefactError, match="not a faiss index"):
        ItemIndex.load(tmp_path / "ann")
    (tmp_path / "ann" / "head.faiss").unlink()
    with pytest.raises(ArtefactError, match="missing"):
        ItemIndex.load(tmp_path / "ann")


def test_serving_never_imports_keras(medium, tmp_path):
    """Web processes load and search the index: that must not pull in TensorFlow or Keras."""
    vectors, _, index = medium
    index.save(tmp_path / "ann")
    code = (
        "import sys, numpy as np\n"
        "from ml.ann import ItemIndex\n"
        f"index = ItemIndex.load({str(tmp_path / 'ann')!r})\n"
        f"index.search(np.ones((1, {vectors.shape[1]}), np.float32), 10)\n"
        "assert not {'keras', 'tensorflow', 'django'} & set(sys.modules), sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
