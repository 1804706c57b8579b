"""EASE and ALS learn co-occurrence without order; the grids tune them on held-out items."""

from __future__ import annotations

import numpy as np
import pytest

from ml import baselines
from ml.data import Interaction, encode
from ml.evaluation import evaluate, five_core, leave_one_out
from ml.factors import (
    ALS,
    EASE,
    EASE_MAX_ITEMS,
    ITEMKNN_GRID,
    Tuned,
    grid_search,
    hold_out,
    interaction_matrix,
)


def planted(n_users=240, n_groups=6, per_group=8, taken=5, noise=2, seed=0):
    """People each like one group of items (taking `taken` of its `per_group`), plus `noise`
    items from anywhere; a few items are popular with everyone. No timestamps: order unknown."""
    rng = np.random.default_rng(seed)
    n_items = n_groups * per_group
    rows = []
    for u in range(n_users):
        group = int(rng.integers(n_groups))
        liked = rng.choice(per_group, size=taken, replace=False) + group * per_group
        others = rng.choice(n_items, size=noise, replace=False)
        for item in {*liked.tolist(), *others.tolist(), 0, 1}:
            rows.append(Interaction(f"u{u}", f"i{item:02d}", None, float(rng.integers(1, 6))))
    return rows


@pytest.fixture(scope="module")
def split():
    return leave_one_out(five_core(planted()), seed=0)


def test_interaction_matrix_is_binary_and_counts_repeats_once():
    x = interaction_matrix([[0, 2, 2], [], [1]], 3)
    assert x.shape == (3, 3)
    assert x.toarray().tolist() == [[1, 0, 1], [0, 0, 0], [0, 1, 0]]


def test_ease_weights_have_a_zero_diagonal_and_recover_groups(split):
    model = EASE(split.train, l2=10.0)
    assert np.all(np.diag(model.weights) == 0.0)
    # Each item gives its own group's items far more weight than the rest of the catalogue.
    index = split.train.item_index()
    for g in range(1, 6):  # group 0 holds i00 and i01, which everyone has
        group = [index[f"i{n:02d}"] for n in range(8 * g, 8 * g + 8)]
        others = [i for i in range(split.train.n_items) if i not in group]
        for item in group:
            inside = np.mean([model.weights[item, j] for j in group if j != item])
            assert inside > 0.04 > 0.015 > np.mean(model.weights[item, others])


@pytest.mark.parametrize("build", [lambda s: EASE(s, l2=10.0), lambda s: ALS(s, factors=8)])
def test_order_free_models_beat_popularity_on_planted_groups(split, build):
    histories, targets = split.testing()
    n = split.train.n_items
    popular = evaluate(baselines.Popularity(split.train), histories, targets, n)["ndcg@10"]
    found = evaluate(build(split.train), histories, targets, n)["ndcg@10"]
    assert found > popular + 0.15
    assert found > 0.4


def test_als_scores_a_history_it_never_saw(split):
    model = ALS(split.train, factors=8, iterations=10)
    index = split.train.item_index()
    group = [index[f"i{n:02d}"] for n in range(16, 20)]
    scores = model.scores([group])[0]
    scores[group] = -np.inf
    best = {split.train.items[i] for i in np.argsort(-scores)[:4]}
    assert best <= {f"i{n:02d}" for n in range(16, 24)} | {"i00", "i01"}


def test_grid_search_picks_the_best_point_of_the_grid(split):
    users = np.flatnonzero(split.valid >= 0)
    histories = [split.train.histories[u] for u in users]
    grid = {"l2": (1.0, 30.0, 1e7)}
    found = grid_search(EASE, grid, split.train, histories, split.valid[users])
    assert isinstance(found, Tuned)
    assert [p["l2"] for p, _ in found.table] == [1.0, 30.0, 1e7]
    assert found.params["l2"] in grid["l2"]
    assert found.ndcg == max(ndcg for _, ndcg in found.table)
    assert found.model.l2 == found.params["l2"]
    # An enormous l2 shrinks every weight to nothing: only the tie-break is left.
    assert found.params["l2"] != 1e7


def test_tune_without_validation_holds_out_then_refits_on_everything(split):
    tuned = baselines.tune("itemknn", split.train)
    assert tuned.params["neighbours"] in ITEMKNN_GRID["neighbours"]
    # The refitted model saw every training history: its counts are the full ones.
    assert tuned.model.counts.sum() == sum(len(h) for h in split.train.histories)


def test_hold_out_takes_one_item_per_longer_history_and_keeps_weights_aligned():
    seqs = encode(
        [Interaction("a", f"i{n}", None, float(n)) for n in range(5)]
        + [Interaction("b", f"i{n}", float(n)) for n in range(4)]
        + [Interaction("c", "i0", None), Interaction("c", "i1", None)]
    )
    inner, held = hold_out(seqs, seed=3)
    a, b, c = (seqs.users.index(u) for u in "abc")
    assert held[c] == -1 and inner.histories[c] == seqs.histories[c]
    assert held[b] == seqs.histories[b][-1]  # ordered: the last one
    assert held[a] not in inner.histories[a] and len(inner.histories[a]) == 4
    assert all(len(h) == len(w) for h, w in zip(inner.histories, inner.weights, strict=True))


def test_ease_refuses_a_catalogue_too_large_for_its_matrix(monkeypatch, split):
    monkeypatch.setattr("ml.factors.EASE_MAX_ITEMS", split.train.n_items - 1)
    with pytest.raises(ValueError, match="items x items"):
        EASE(split.train)
    assert EASE_MAX_ITEMS >= 20_000


def test_serving_imports_no_scipy():
    # Web processes load ml.ranking (and through it ml.hybrid and ml.baselines): SciPy and
    # implicit are for training only.
    import subprocess
    import sys

    code = "import sys, ml.ranking; print(sorted({m.split('.')[0] for m in sys.modules}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = done.stdout
    assert (
        "'scipy'" not in loaded and "'implicit'" not in loaded and "'threadpoolctl'" not in loaded
    )
