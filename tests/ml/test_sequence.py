"""The GRU finds a planted successor structure; NumPy serving equals Keras; artefacts are safe."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml.artefacts import ArtefactError
from ml.data import Interaction
from ml.sequence import left_pad, load_sequence, train_sequence, windows
from ml.serving import SequenceServer, similar_items

N_ITEMS = 24
TINY = {"dim": 16, "hidden": 32, "dropout": 0.1, "max_len": 8, "batch_size": 32}


CYCLE = np.random.default_rng(42).permutation(N_ITEMS).tolist()


def successor(item: int) -> int:
    # One fixed scrambled cycle through all items: each item has exactly one successor.
    return CYCLE[(CYCLE.index(item) + 1) % N_ITEMS]


def planted_rows(n_users=150, length=7, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        item = int(rng.integers(N_ITEMS))
        for step in range(length):
            rows.append(Interaction(f"user-{u}", f"item-{item}", float(step)))
            item = successor(item)
    return rows


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "sequence"
    result = train_sequence(planted_rows(), out, seed=3, epochs=25, learning_rate=0.02, **TINY)
    return out, result


def test_windows_cover_every_step_once():
    x, y = windows([[0, 1, 2, 3, 4]], max_len=3)
    # Shifted by one (0 is padding), latest window at the end.
    assert x.tolist() == [[2, 3, 4], [0, 0, 1]]
    assert y.tolist() == [[3, 4, 5], [0, 0, 2]]
    assert left_pad([[5, 6], []], 3).tolist() == [[0, 6, 7], [0, 0, 0]]


@pytest.mark.slow
def test_gru_learns_the_planted_successor(trained):
    out, result = trained
    server = SequenceServer.load(out)
    rng = np.random.default_rng(9)
    hits = 0
    for _ in range(60):
        start = int(rng.integers(N_ITEMS))
        chain = [start, successor(start), successor(successor(start))]
        top = server.recommend([f"item-{i}" for i in chain], k=1)
        hits += top[0][0] == f"item-{successor(chain[-1])}"
    # Chance is about 1 in 21; Markov-like structure must be found almost always.
    assert hits >= 50
    assert result["hr@10"] > 0.8
    meta = json.loads((out / "meta.json").read_text())
    assert meta["format"] == "encore.sequence" and meta["metrics"]["hr@10"] == result["hr@10"]


@pytest.mark.slow
def test_numpy_serving_equals_keras(trained):
    out, _ = trained
    keras_model = load_sequence(out)
    server = SequenceServer.load(out)
    histories = [[3], [5, 1, 9], list(range(12)), [4, 8, 15, 16, 23, 0, 2]]
    x = left_pad(histories, server.max_len)
    expected = np.asarray(keras_model.model(x, training=False))[:, -1, 1:]
    np.testing.assert_allclose(server.scores(histories), expected, atol=1e-5, rtol=1e-5)
    # Stepping one item at a time reaches the same state as encoding the whole history.
    state = server.initial_state()
    for item in histories[2][-server.max_len :]:
        state = server.step(state, item)
    np.testing.assert_allclose(state, server.encode([histories[2]])[0], atol=1e-6)


@pytest.mark.slow
def test_recommend_excludes_history_and_skips_unknown_ids(trained):
    out, _ = trained
    server = SequenceServer.load(out)
    recs = server.recommend(["item-1", "unknown", "item-10"], k=N_ITEMS, exclude=["item-2"])
    ids = [item for item, _ in recs]
    assert len(ids) == N_ITEMS - 3
    assert not {"item-1", "item-10", "item-2", "unknown"} & set(ids)
    scores = [score for _, score in recs]
    assert scores == sorted(scores, reverse=True)
    # A batched matrix product may round differently from a single one: the same items, in
    # the same order, with scores equal to float32 precision.
    batched = server.recommend_many([["item-1", "item-10"], ["item-4"]], k=3)[0]
    alone = server.recommend(["item-1", "item-10"], k=3)
    assert [item for item, _ in batched] == [item for item, _ in alone]
    np.testing.assert_allclose([s for _, s in batched], [s for _, s in alone], rtol=1e-5)


@pytest.mark.slow
def test_unknown_format_version_is_refused(trained, tmp_path):
    out, _ = trained
    meta = json.loads((out / "meta.json").read_text())
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in out.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    (copy / "meta.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(ArtefactError, match="format version 99"):
        SequenceServer.load(copy)
    with pytest.raises(ArtefactError, match="format version 99"):
        load_sequence(copy)


@pytest.mark.slow
def test_same_seed_same_model_and_sampled_loss_learns(tmp_path):
    rows = planted_rows(n_users=80)
    hyper = {**TINY, "epochs": 3, "patience": 3}
    train_sequence(rows, tmp_path / "a", seed=1, **hyper)
    train_sequence(rows, tmp_path / "b", seed=1, **hyper)
    a, b = (np.load(tmp_path / name / "item_embedding.npy") for name in ("a", "b"))
    np.testing.assert_array_equal(a, b)

    result = train_sequence(
        planted_rows(),
        tmp_path / "sampled",
        seed=0,
        epochs=25,
        learning_rate=0.02,
        loss="sampled",
        negatives=8,
        **TINY,
    )
    assert result["hr@10"] > 0.8


def test_similar_items_by_cosine():
    emb = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]], dtype=np.float32)
    assert [i for i, _ in similar_items(emb, ["a", "b", "c"], "a", 2)] == ["b", "c"]
    assert similar_items(emb, ["a", "b", "c"], "zzz", 2) == []
