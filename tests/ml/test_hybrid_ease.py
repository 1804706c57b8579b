"""EASE as a part of the hybrid's blend: its weight is tuned on validation like the others."""

from __future__ import annotations

import numpy as np
import pytest

from ml import hybrid
from ml.evaluation import five_core, leave_one_out
from ml.factors import EASE
from ml.hybrid import Blender, Components, EaseLists, tune
from tests.ml.conftest import serve_in_a_web_process
from tests.ml.test_factors import planted


class Flat:
    """A sequence model with no opinion (all items alike), as a GRU is on unordered data."""

    def __init__(self, n_items):
        self.n_items = n_items

    def scores(self, histories):
        return np.zeros((len(histories), self.n_items), dtype=np.float32)


def split():
    return leave_one_out(five_core(planted()), seed=0)


def test_ease_lists_give_ease_scores_scaled_to_the_best():
    data = split()
    model = EASE(data.train, l2=10.0)
    full = EaseLists.from_model(model, k=data.train.n_items)
    # A small catalogue keeps every weight by default.
    assert EaseLists.from_model(model).items.shape == (data.train.n_items, data.train.n_items)
    histories = data.train.histories[:5]
    part = full.part(histories, data.train.n_items)
    dense = model.scores(histories) - model.tie
    expected = dense / dense.max(axis=1, keepdims=True)
    np.testing.assert_allclose(part, expected, atol=1e-5)
    assert np.allclose(part.max(axis=1), 1.0)
    # Pruned lists keep each item's strongest weights, and the same best items.
    pruned = EaseLists.from_model(model, k=12).part(histories, data.train.n_items)
    assert pruned.shape == part.shape
    assert all(np.argmax(p) == np.argmax(d) for p, d in zip(pruned, dense, strict=True))


def test_tuning_leans_on_ease_when_order_says_nothing(monkeypatch):
    # Only the EASE part can find the groups: no item-kNN feedback, no Markov chain.
    monkeypatch.setitem(hybrid.GRID, "feedback", (0.0,))
    monkeypatch.setitem(hybrid.GRID, "markov", (0.0,))
    data = split()
    parts = Components.fit(data.train)
    lists = EaseLists.from_model(EASE(data.train, l2=10.0), k=16)
    histories, targets = data.validation()
    server = Flat(data.train.n_items)
    without, plain = tune(server, parts, histories, targets)
    weights, blended = tune(server, parts, histories, targets, ease=lists)
    assert "ease" not in without
    assert weights["ease"] in hybrid.GRID["ease"] and weights["ease"] > 0
    assert blended > plain + 0.2
    # The blend with the tuned weight ranks as the tuning said.
    blender = Blender(server, parts, weights, lists)
    scores = blender.combine(blender.parts_for(histories[:3], None), weights)
    assert scores.shape == (3, data.train.n_items)


def test_ease_lists_are_saved_with_the_components_and_optional():
    data = split()
    parts = Components.fit(data.train)
    arrays = parts.arrays()
    assert not {"ease_items", "ease_weights"} & set(arrays)
    parts.ease = EaseLists.from_model(EASE(data.train, l2=10.0), k=12)
    arrays = parts.arrays()
    assert arrays["ease_items"].dtype == np.int32 and arrays["ease_weights"].dtype == np.float16
    assert arrays["ease_items"].shape == (data.train.n_items, 12)


def test_a_directory_without_ease_lists_loads_with_no_part(tmp_path):
    from ml.artefacts import Rows, save_arrays

    data = split()
    parts = Components.fit(data.train)
    save_arrays(tmp_path, **parts.arrays())
    assert Components.load(tmp_path).ease is None
    assert Components.load(tmp_path, serving=True).ease is None
    parts.ease = EaseLists.from_model(EASE(data.train, l2=10.0), k=12)
    save_arrays(tmp_path, **parts.arrays())
    served = Components.load(tmp_path, serving=True).ease
    assert served is not None and isinstance(served.items, Rows)
    items, weights = served.rows([3, 1])
    np.testing.assert_array_equal(items, parts.ease.items[[3, 1]])
    np.testing.assert_allclose(weights, parts.ease.weights[[3, 1]], rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(
        Components.load(tmp_path).ease.part(data.train.histories[:4], data.train.n_items),
        parts.ease.part(data.train.histories[:4], data.train.n_items),
        atol=2e-3,
    )


SERVE = """
import sys
from ml.ranking import Ranker
ranker = Ranker.load(sys.argv[1])
assert ranker.parts.ease is not None and ranker.weights["ease"] > 0
found = ranker.recommend(sys.argv[2:], 5)
assert len(found) == 5 and not {r.item for r in found} & set(sys.argv[2:]), found
"""


@pytest.mark.slow
def test_train_adds_the_ease_part_and_serving_reads_it_without_scipy(tmp_path):
    """Unordered feedback (no timestamps): `train` tunes EASE's l2 and its weight in the blend,
    saves its lists, and a web process (a fresh interpreter) serves them with NumPy alone."""
    import json

    from tests.ml.test_sequence import TINY

    rows = planted()
    out = tmp_path / "model"
    result = hybrid.train(rows, out, seed=0, sequence_hyper={**TINY, "epochs": 3})
    assert result["ease"]["l2"] in (10.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 3000.0)
    weights = json.loads((out / "meta.json").read_text())["weights"]
    assert weights["ease"] in hybrid.GRID["ease"]
    # On these groups only co-occurrence tells what a person lacks: the tuning takes EASE.
    assert weights["ease"] > 0
    assert (out / "ease_items.npy").is_file() and (out / "ease_weights.npy").is_file()
    history = [r.item for r in rows if r.user == "u0"]
    serve_in_a_web_process(SERVE, out, history)
