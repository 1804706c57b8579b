"""The hybrid: blends the GRU with feedback, handles cold-start artwork, explains each pick."""

from __future__ import annotations

import numpy as np
import pytest

from ml import hybrid
from ml.artefacts import save_arrays, write_meta, writing
from ml.data import Interaction, Review, encode, user_histories
from ml.hybrid import Blender, Components, feedback_weights
from tests.ml.conftest import assert_served_is_the_blend
from tests.ml.test_sequence import N_ITEMS, successor


def test_feedback_weights_follow_the_review():
    rows = [Interaction("u", i, 1.0) for i in ("a", "b", "c", "d")]
    reviews = [
        Review("u", "a", "", 5.0),
        Review("u", "b", "", 1.0),
        Review("u", "c", "", 3.0),
        Review("nobody", "a", "", 5.0),
    ]
    weights = feedback_weights(user_histories(rows), reviews, None)
    assert weights[("u", "a")] > 1.0  # a glowing review counts more than a plain play (1)
    assert weights[("u", "b")] < 0  # a negative one pushes similar items down
    assert weights[("u", "c")] == 0
    assert ("nobody", "a") not in weights
    # A text model's probability wins over the star rating.
    text = [Review("u", "a", "dreadful", 5.0)]
    assert feedback_weights(user_histories(rows), text, np.array([0.0]))[("u", "a")] < 0


def test_negative_feedback_pushes_similar_items_down():
    # Two taste groups: x-people watch x1..x3, y-people y1..y3.
    rows = [Interaction(f"x{u}", f"x{i}", float(i)) for u in range(10) for i in (1, 2, 3)]
    rows += [Interaction(f"y{u}", f"y{i}", float(i)) for u in range(10) for i in (1, 2, 3)]
    seqs = encode(rows)
    parts = Components.fit(seqs)
    index = seqs.item_index()

    class Flat:  # a sequence model with no opinion, so feedback alone decides
        n_items = seqs.n_items

        def scores(self, histories):
            return np.zeros((len(histories), self.n_items), dtype=np.float32)

    weights = {**hybrid.DEFAULT_WEIGHTS, "markov": 0.0, "feedback": 1.0, "popularity": 0.0}
    blender = Blender(Flat(), parts, weights)
    history = [[index["x1"], index["y1"]]] * 2
    computed = blender.parts_for(history, [[2.0, 1.0], [-2.0, 1.0]])
    liked, disliked = blender.combine(computed, weights)
    assert liked[index["x2"]] > liked[index["y2"]]
    assert disliked[index["x2"]] < 0 < disliked[index["y2"]]


def write_artwork(directory, vectors: dict[str, list[float]]):
    """An artwork model directory as ml.artwork writes it (embeddings + file ids)."""
    with writing(directory) as tmp:
        emb = np.array(list(vectors.values()), dtype=np.float32)
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        save_arrays(tmp, embeddings=emb)
        write_meta(tmp, "encore.artwork", 1, file_ids=[f"{k}.png" for k in vectors])


@pytest.mark.slow
def test_hybrid_recommends_the_successor_with_reasons(trained):
    out, rows, result = trained
    assert result["hybrid"]["ndcg@10"] >= result["sequence"]["ndcg@10"] - 1e-9
    recs = hybrid.recommend(out, rows, k=3)
    owned = {(r.user, r.item) for r in rows}
    users = {r.user for r in rows}
    assert {r.user for r in recs} == users
    assert not [r for r in recs if (r.user, r.item) in owned]
    assert all(r.reason.startswith(("because you played ", "popular in ")) for r in recs)
    last = {u: h[-1].item for u, h in user_histories(rows).items()}
    firsts = [r for r in recs if r.rank == 1]
    right = sum(r.item == f"item-{successor(int(last[r.user][5:]))}" for r in firsts)
    assert right >= 0.8 * len(firsts)
    # A brand-new user with nothing known gets popular items.
    fresh = hybrid.recommend(out, [Interaction("new", "unheard-of", None)], k=2)
    assert [r.reason for r in fresh] == ["popular in the whole catalogue"] * 2


@pytest.mark.slow
def test_cold_start_items_come_from_artwork(trained, tmp_path):
    out = trained[0]
    model = tmp_path / "model"
    model.mkdir()
    for path in out.rglob("*"):
        target = model / path.relative_to(out)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.write_bytes(path.read_bytes())
    vectors = {f"item-{i}": [float(i == 0), float(i != 0), 0.0] for i in range(N_ITEMS)}
    vectors["brand-new"] = [1.0, 0.05, 0.0]  # looks like item-0
    vectors["other-new"] = [0.0, 0.0, 1.0]  # looks like nothing anyone has
    write_artwork(model / "artwork", vectors)
    person = [Interaction("p", "item-0", 1.0), Interaction("p", f"item-{successor(0)}", 2.0)]
    recs = hybrid.recommend(model, person, k=N_ITEMS)
    by_item = {r.item: r for r in recs}
    assert by_item["brand-new"].reason == "looks like item-0"
    assert "other-new" not in by_item
    assert by_item["brand-new"].rank <= N_ITEMS // 2


@pytest.mark.slow
def test_ranker_matches_the_keras_model_and_survives_a_reload(trained, tmp_path):
    from ml.ranking import Ranker
    from ml.sequence import load_sequence

    out = trained[0]
    ranker = Ranker.load(out)
    keras_model = load_sequence(out / "sequence")
    history = ["item-3", "item-7", "item-4"]
    positions = ranker.items.positions(history)
    query = ranker._query(positions)
    parts = ranker._parts(query, positions, np.ones(3, np.float32), None)
    logits = keras_model.scores([list(positions)])[0]
    expected = np.exp(logits - logits.max())
    np.testing.assert_allclose(parts["sequence"], expected / expected.sum(), atol=1e-5)
    # A copy of the directory loads to the same lists.
    copy = tmp_path / "copy"
    for path in out.rglob("*"):
        target = copy / path.relative_to(out)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    again = Ranker.load(copy).recommend(history, 5)
    first = ranker.recommend(history, 5)
    assert [r.item for r in again] == [r.item for r in first]
    np.testing.assert_allclose([r.score for r in again], [r.score for r in first], rtol=1e-6)


@pytest.mark.slow
def test_two_stage_ranking_agrees_with_the_exact_one_on_a_small_catalogue(trained):
    from ml.ranking import Ranker

    out, rows, _ = trained
    exact, two_stage = Ranker.load(out), Ranker.load(out, exact_below=0)
    assert exact.exact and not two_stage.exact
    for user, history in list(user_histories(rows).items())[:20]:
        items = [r.item for r in history]
        a, b = exact.recommend(items, 10), two_stage.recommend(items, 10)
        assert [r.item for r in a] == [r.item for r in b], user
        np.testing.assert_allclose([r.score for r in a], [r.score for r in b], rtol=1e-4)


@pytest.mark.slow
def test_ranker_never_offers_the_history_and_cites_it_in_reasons(trained):
    from ml.ranking import Ranker

    out, rows, _ = trained
    ranker = Ranker.load(out)
    for history in list(user_histories(rows).values())[:20]:
        items = [r.item for r in history]
        found = ranker.recommend(items, N_ITEMS, exclude=["item-0"])
        assert not {r.item for r in found} & {*items, "item-0"}
        played = [r.reason for r in found if r.reason.kind == "played"]
        assert played and all(reason.item in items for reason in played)


@pytest.mark.slow
def test_served_scores_are_the_blend_tuned_at_training(trained):
    """The serving model ranks with the same arithmetic as the blend that was tuned and
    evaluated offline: the offline figures are the served model's."""
    from ml.ranking import Ranker
    from ml.serving import SequenceServer

    out, rows, _ = trained
    ranker = Ranker.load(out)
    blender = Blender(SequenceServer.load(out / "sequence"), Components.load(out), ranker.weights)
    for history in list(user_histories(rows).values())[:10]:
        items = [r.item for r in history]
        positions = list(ranker.items.positions(items))
        blended = blender.combine(blender.parts_for([positions], None), ranker.weights)[0]
        blended[positions] = -np.inf
        served = ranker.recommend(items, 5)
        expected = np.argsort(-blended, kind="stable")[:5]
        assert [r.item for r in served] == [ranker.items[int(i)] for i in expected]
        np.testing.assert_allclose([r.score for r in served], blended[expected], rtol=1e-4)


def with_ease_lists(out, rows, target, l2=10.0):
    """A copy of the trained model directory with EASE lists (fitted on all of `rows`) saved
    beside the other arrays, whatever weight the tuning gave them."""
    from ml.factors import EASE
    from ml.hybrid import EaseLists

    for path in out.rglob("*"):
        copied = target / path.relative_to(out)
        if path.is_dir():
            copied.mkdir(parents=True, exist_ok=True)
        else:
            copied.parent.mkdir(parents=True, exist_ok=True)
            copied.write_bytes(path.read_bytes())
    parts = Components.load(out)
    parts.ease = EaseLists.from_model(EASE(encode(rows), l2=l2), k=10)
    save_arrays(target, **parts.arrays())
    return target


@pytest.mark.slow
@pytest.mark.parametrize("ease_decay", [1.0, 0.7])
@pytest.mark.parametrize("two_stage", [False, True])
def test_served_scores_are_the_blend_with_the_ease_part(trained, tmp_path, two_stage, ease_decay):
    """With EASE lists and a weight for them, the served score is the offline blend's with the
    EASE part (each history's EASE scores over its best one; with ease_decay < 1 each history
    item's row weighted by ease_decay^age), exact and two-stage."""
    from ml.ann import ItemIndex
    from ml.hybrid import ANN_DIR
    from ml.ranking import EXACT_BELOW, Ranker
    from ml.serving import SequenceServer

    out, rows, _ = trained
    model = with_ease_lists(out, rows, tmp_path / "model")
    weights = {**Ranker.load(out).weights, "ease": 0.5, "ease_decay": ease_decay}
    ranker = Ranker(
        SequenceServer.load(model / "sequence", mmap=True),
        Components.load(model, serving=True),
        weights,
        index=ItemIndex.load(model / ANN_DIR) if two_stage else None,
        exact_below=0 if two_stage else EXACT_BELOW,
    )
    assert ranker.exact is not two_stage
    offline = Components.load(model)
    assert offline.ease is not None
    blender = Blender(SequenceServer.load(model / "sequence"), offline, weights)

    def scaled_to_one(computed):
        assert computed["ease"].max() == pytest.approx(1.0)

    assert_served_is_the_blend(ranker, blender, rows, weights, "ease", scaled_to_one)


@pytest.mark.slow
def test_reasons_cite_the_history_item_adding_most_to_the_ease_score(trained, tmp_path):
    from ml.ranking import Ranker
    from ml.serving import SequenceServer

    out, rows, _ = trained
    model = with_ease_lists(out, rows, tmp_path / "model")
    # EASE decides wherever it has a say: every other personal part but the GRU weighs nothing.
    weights = {**Ranker.load(out).weights, "ease": 100.0, "markov": 0.0, "feedback": 0.0}
    parts = Components.load(model, serving=True)
    ranker = Ranker(SequenceServer.load(model / "sequence", mmap=True), parts, weights)
    lists = Components.load(model).ease
    assert lists is not None
    cited = 0
    for history in list(user_histories(rows).values())[:10]:
        items = [r.item for r in history]
        positions = ranker.items.positions(items)
        query = ranker._query(positions)
        computed = ranker._parts(query, positions, np.ones(len(items), np.float32), None,
                                 ranker._ease_rows(positions))  # fmt: skip
        for found in ranker.recommend(items, 3):
            assert found.reason.kind == "played"
            j = int(ranker.items.positions([found.item])[0])
            if weights["ease"] * computed["ease"][j] <= computed["sequence"][j]:
                continue  # the GRU decides: the reason cites the last item
            gains = [
                float(lists.weights[i][lists.items[i] == j].astype(np.float64).sum())
                for i in positions
            ]
            assert found.reason.item == items[int(np.argmax(gains))]
            cited += 1
    assert cited >= 10
