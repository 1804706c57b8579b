"""ALS as a part of the hybrid's blend: the co-occurrence part of catalogues beyond EASE."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ml import factors, hybrid
from ml.evaluation import five_core, leave_one_out
from ml.factors import ALS, interaction_matrix
from ml.hybrid import AlsFactors, Blender, Components, format_version, tune
from tests.ml.conftest import assert_served_is_the_blend, serve_in_a_web_process
from tests.ml.test_factors import planted
from tests.ml.test_hybrid_ease import Flat

ALS_PARAMS = {"factors": 8, "regularization": 1.0, "alpha": 2.0, "iterations": 10}


def split():
    return leave_one_out(five_core(planted()), seed=0)


def test_the_fold_in_is_implicits_user_step():
    """A history folded in by NumPy (as a web process does) gives the person vector implicit's
    own `recalculate_user` gives, so the served part is the model that was tuned."""
    data = split()
    model = ALS(data.train, **ALS_PARAMS)
    part = AlsFactors.from_model(model)
    histories = data.train.histories[:6]
    # implicit's step on the factors as saved (half precision), which the fold-in reads.
    model.model.item_factors = part.items.copy()
    expected = model.people(histories)
    for history, person in zip(histories, expected, strict=True):
        at, shares = part.solve(history)
        np.testing.assert_array_equal(at, np.unique(history))
        np.testing.assert_allclose(shares.sum(axis=1), person, rtol=1e-3, atol=1e-4)
    # A repeated play is one interaction, as in training.
    first = histories[0]
    np.testing.assert_allclose(
        part.solve([*first, first[0]])[1].sum(axis=1), part.solve(first)[1].sum(axis=1)
    )


def test_the_part_is_scaled_to_the_best_item_outside_the_history():
    data = split()
    part = AlsFactors.from_model(ALS(data.train, **ALS_PARAMS))
    histories = data.train.histories[:5]
    scores = part.part(histories, data.train.n_items)
    dense = np.asarray(interaction_matrix(histories, data.train.n_items).todense()) > 0
    for row, owned in zip(scores, dense, strict=True):
        assert row[~owned].max() == pytest.approx(1.0)
        # Its own items are what ALS reconstructs: far above the rest on average.
        assert row[owned].mean() > row[~owned].mean() + 0.3
    assert not part.part([[]], data.train.n_items).any()


def test_tuning_leans_on_als_when_order_says_nothing(monkeypatch):
    # Only the ALS part can find the groups: no item-kNN feedback, no Markov chain.
    monkeypatch.setitem(hybrid.GRID, "feedback", (0.0,))
    monkeypatch.setitem(hybrid.GRID, "markov", (0.0,))
    data = split()
    parts = Components.fit(data.train)
    als = AlsFactors.from_model(ALS(data.train, **ALS_PARAMS))
    histories, targets = data.validation()
    server = Flat(data.train.n_items)
    without, plain = tune(server, parts, histories, targets)
    weights, blended = tune(server, parts, histories, targets, als=als)
    assert "als" not in without
    assert weights["als"] in hybrid.GRID["als"] and weights["als"] > 0
    # Popularity alone 0.30 NDCG@10 here; with the ALS part 0.47.
    assert blended > plain + 0.15
    blender = Blender(server, parts, weights, als=als)
    scores = blender.combine(blender.parts_for(histories[:3], None), weights)
    assert scores.shape == (3, data.train.n_items)


def test_als_factors_are_saved_with_the_components(tmp_path):
    from ml.artefacts import save_arrays

    data = split()
    parts = Components.fit(data.train)
    save_arrays(tmp_path, **parts.arrays())
    assert Components.load(tmp_path).als is None
    parts.als = AlsFactors.from_model(ALS(data.train, **ALS_PARAMS))
    arrays = parts.arrays()
    assert arrays["als_items"].dtype == np.float16
    save_arrays(tmp_path, **arrays)
    for serving in (False, True):
        loaded = Components.load(tmp_path, serving=serving).als
        assert loaded is not None and loaded.confidence == ALS_PARAMS["alpha"]
        np.testing.assert_allclose(
            loaded.part(data.train.histories[:4], data.train.n_items),
            parts.als.part(data.train.histories[:4], data.train.n_items),
            rtol=1e-5, atol=1e-5,
        )  # fmt: skip
    assert format_version({"als": 0.5, "ease": 0.0}) == hybrid.ALS_VERSION
    assert format_version({"als": 0.0, "ease": 0.0}) == hybrid.FORMAT_VERSION


def test_train_refuses_an_unknown_part_and_ease_beyond_its_limit(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="factors must be one of"):
        hybrid.train(planted(), tmp_path / "m", factors="svd")
    monkeypatch.setattr(factors, "EASE_MAX_ITEMS", 10)
    with pytest.raises(ValueError, match="use ALS"):
        hybrid.train(planted(), tmp_path / "m", factors="ease")
    assert not (tmp_path / "m").exists()


SERVE = """
import sys
from ml.ranking import Ranker
exact = Ranker.load(sys.argv[1])
staged = Ranker.load(sys.argv[1], exact_below=1)
for ranker in (exact, staged):
    assert ranker.parts.als is not None and ranker.weights["als"] > 0
assert staged.als_index is not None and exact.als_index is None
history = sys.argv[2:]
for ranker in (exact, staged):
    found = ranker.recommend(history, 5)
    assert len(found) == 5 and not {r.item for r in found} & set(history), found
    assert all(r.reason.kind != "played" or r.reason.item in history for r in found), found
# The two-stage ranking reaches the exact one's list: the ALS index brings its best items.
ranked = [[r.item for r in ranker.recommend(history, 5)] for ranker in (staged, exact)]
assert ranked[0] == ranked[1], ranked
"""


@pytest.mark.slow
def test_a_catalogue_beyond_ease_gets_the_als_part_and_serving_reads_it_without_scipy(
    tmp_path, monkeypatch
):
    """Unordered feedback on a catalogue too large for EASE (the limit lowered to this one's
    size): `train` tunes ALS and its weight in the blend, saves its factors and their index, and
    a web process (a fresh interpreter) serves them with NumPy and faiss alone, exact and
    two-stage alike."""
    from tests.ml.test_sequence import TINY

    monkeypatch.setattr(factors, "EASE_MAX_ITEMS", 10)
    rows = planted()
    out = tmp_path / "model"
    result = hybrid.train(rows, out, seed=0, sequence_hyper={**TINY, "epochs": 3})
    assert "ease" not in result
    assert result["als"]["factors"] in factors.ALS_GRID["factors"]
    meta = json.loads((out / "meta.json").read_text())
    # On these groups only co-occurrence tells what a person lacks: the tuning takes ALS.
    assert meta["weights"]["als"] > 0
    assert meta["format_version"] == hybrid.ALS_VERSION
    assert (out / "als_items.npy").is_file() and (out / hybrid.ALS_ANN_DIR / "meta.json").is_file()
    history = [r.item for r in rows if r.user == "u0"]
    serve_in_a_web_process(SERVE, out, history)


def with_als_factors(out, rows, target):
    """A copy of the trained model directory with ALS factors (fitted on all of `rows`) and
    their index saved beside the other arrays, whatever weight the tuning gave them."""
    from ml.artefacts import save_arrays
    from ml.data import encode
    from ml.hybrid import write_als_index

    shutil.copytree(out, target)
    seqs = encode(rows)
    parts = Components.load(out)
    parts.als = AlsFactors.from_model(ALS(seqs, **ALS_PARAMS))
    save_arrays(target, **parts.arrays())
    write_als_index(target, parts.als, 0, seqs.histories)
    return target


@pytest.mark.slow
@pytest.mark.parametrize("two_stage", [False, True])
def test_served_scores_are_the_blend_with_the_als_part(trained, tmp_path, two_stage):
    """With ALS factors and a weight for them, the served score is the offline blend's with the
    ALS part (each history folded in, its scores over the best one outside the history), exact
    and two-stage (candidates from the ALS index too)."""
    from ml.ann import ItemIndex
    from ml.hybrid import ALS_ANN_DIR, ANN_DIR
    from ml.ranking import EXACT_BELOW, Ranker
    from ml.serving import SequenceServer

    out, rows, _ = trained
    model = with_als_factors(out, rows, tmp_path / "model")
    weights = {**Ranker.load(out).weights, "als": 0.5}
    ranker = Ranker(
        SequenceServer.load(model / "sequence", mmap=True),
        Components.load(model, serving=True),
        weights,
        index=ItemIndex.load(model / ANN_DIR) if two_stage else None,
        als_index=ItemIndex.load(model / ALS_ANN_DIR) if two_stage else None,
        exact_below=0 if two_stage else EXACT_BELOW,
    )
    assert ranker.exact is not two_stage
    offline = Components.load(model)
    blender = Blender(SequenceServer.load(model / "sequence"), offline, weights)
    assert_served_is_the_blend(ranker, blender, rows, weights, "als")


@pytest.mark.slow
def test_reasons_cite_the_history_item_adding_most_to_the_als_score(trained, tmp_path):
    """Where the ALS part decides, "because you played X" names the history item whose term of
    the score, alpha (A⁻¹y_i)·y_j (Hu, Koren & Volinsky's explanation), is the largest: the
    one implicit's own `explain` puts first."""
    from ml.data import encode, user_histories
    from ml.ranking import Ranker
    from ml.serving import SequenceServer

    out, rows, _ = trained
    model = with_als_factors(out, rows, tmp_path / "model")
    weights = {**Ranker.load(out).weights, "als": 100.0, "markov": 0.0, "feedback": 0.0}
    ranker = Ranker(
        SequenceServer.load(model / "sequence", mmap=True), Components.load(model), weights
    )
    als = ALS(encode(rows), **ALS_PARAMS)
    als.model.item_factors = ranker.parts.als.items.copy()
    cited = 0
    for history in list(user_histories(rows).values())[:10]:
        items = [r.item for r in history]
        positions = ranker.items.positions(items)
        liked = interaction_matrix([positions.tolist()], ranker.n_items)
        for found in ranker.recommend(items, 3):
            assert found.reason.kind == "played"
            j = int(ranker.items.positions([found.item])[0])
            _, terms, _ = als.model.explain(0, liked, j, N=1)
            assert found.reason.item == ranker.items[int(terms[0][0])]
            cited += 1
    assert cited == 30
