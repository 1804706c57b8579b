"""EASE as a part of the hybrid's blend: its weight is tuned on validation like the others."""

from __future__ import annotations

import numpy as np

from ml import hybrid
from ml.evaluation import five_core, leave_one_out
from ml.factors import EASE
from ml.hybrid import Blender, Components, EaseLists, tune
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
