"""The EASE part weighted by recency (`ease_decay`), the blend's coordinate-ascent tuning, and the
model directory's version for it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml import hybrid
from ml.artefacts import ArtefactError
from ml.data import Interaction, encode
from ml.factors import EASE
from ml.hybrid import Components, EaseLists, format_version, tune
from tests.ml.test_hybrid_ease import Flat


def drifting(n_users=300, n_groups=6, per_group=6, seed=0):
    """People who move from one taste group to the next (timestamps known): their last items,
    and the one held out after them, come from the group they are in now. What they had long
    ago says little about what comes next."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        first, now = rng.choice(n_groups, size=2, replace=False)
        t = 0
        for group, taken in ((first, 4), (now, 3)):
            for item in rng.choice(per_group, size=taken, replace=False) + group * per_group:
                rows.append(Interaction(f"u{u}", f"i{item:02d}", float(t), 1.0))
                t += 1
    return rows


def dense_part(model: EASE, history: list[int], decay: float) -> np.ndarray:
    ages = np.arange(len(history) - 1, -1, -1)
    scores = (decay**ages) @ model.weights[history]
    return scores / scores.max()


def test_recency_weights_each_history_row_by_decay_to_its_age():
    seqs = encode(drifting())
    model = EASE(seqs, l2=10.0)
    lists = EaseLists.from_model(model, k=seqs.n_items)
    histories = seqs.histories[:5]
    for decay in (1.0, 0.5):
        part = lists.part(histories, seqs.n_items, decay)
        for row, history in enumerate(histories):
            np.testing.assert_allclose(part[row], dense_part(model, history, decay), atol=1e-5)
    # Lists hold the strongest weights first (two-stage serving takes candidates from the head).
    pruned = EaseLists.from_model(model, k=8)
    strength = np.abs(pruned.weights)
    assert np.all(strength[:, :-1] >= strength[:, 1:])


def test_tuning_weights_ease_by_recency_when_people_drift(monkeypatch):
    """Only the EASE part can tell the groups apart here; the recent group is what comes next,
    so the tuning takes a decay below 1, and it ranks the held-out items better than the set."""
    monkeypatch.setitem(hybrid.GRID, "feedback", (0.0,))
    monkeypatch.setitem(hybrid.GRID, "markov", (0.0,))
    seqs = encode(drifting())
    held = np.array([h[-1] for h in seqs.histories])
    histories = [h[:-1] for h in seqs.histories]
    train = type(seqs)(seqs.items, seqs.users, histories, seqs.ordered, seqs.weights)
    parts = Components.fit(train)
    lists = EaseLists.from_model(EASE(train, l2=10.0), k=16)
    weights, tuned = tune(Flat(seqs.n_items), parts, histories, held, ease=lists)
    assert weights["ease"] > 0 and weights["ease_decay"] < 1.0
    assert weights["ease_decay"] in hybrid.GRID["ease_decay"]
    monkeypatch.setitem(hybrid.GRID, "ease_decay", (1.0,))
    _, as_a_set = tune(Flat(seqs.n_items), parts, histories, held, ease=lists)
    assert tuned > as_a_set + 0.05


def test_a_recency_weighted_model_is_version_3_and_older_ones_still_load(tmp_path):
    from ml.ranking import Ranker
    from tests.recommender.serving_model import write_model

    assert format_version({"ease": 0.1, "ease_decay": 0.9}) == hybrid.RECENCY_EASE_VERSION
    assert format_version({"ease": 0.1, "ease_decay": 1.0}) == hybrid.FORMAT_VERSION
    assert format_version({"ease": 0.0, "ease_decay": 0.9}) == hybrid.FORMAT_VERSION
    model = write_model(tmp_path / "model", [1, 2, 3], {1: 2})
    ranker = Ranker.load(model)
    assert ranker.weights["ease_decay"] == 1.0  # a version-2 directory: no decay
    meta = json.loads((model / "meta.json").read_text())
    for version, loads in ((hybrid.RECENCY_EASE_VERSION, True), (hybrid.ALS_VERSION + 1, False)):
        (model / "meta.json").write_text(json.dumps({**meta, "format_version": version}))
        if loads:
            assert Ranker.load(model).n_items == 3
        else:
            with pytest.raises(ArtefactError):
                Ranker.load(model)
