"""The evaluation protocol: 5-core, leave-one-out by time, full ranking without seen items."""

from __future__ import annotations

import math

import numpy as np

from ml.data import Interaction
from ml.evaluation import evaluate, five_core, leave_one_out, metrics, recommend


def test_five_core_is_iterative():
    rows = [Interaction(f"u{u}", f"i{i}", float(i)) for u in range(5) for i in range(5)]
    # u9 has 5 items but one of them (rare) has a single user: dropping it leaves u9 with 4.
    rows += [Interaction("u9", f"i{i}", float(i)) for i in range(4)] + [
        Interaction("u9", "rare", 9.0)
    ]
    kept = five_core(rows)
    assert {r.user for r in kept} == {f"u{u}" for u in range(5)}
    assert {r.item for r in kept} == {f"i{i}" for i in range(5)}


def test_leave_one_out_holds_out_the_last_two_by_time():
    rows = [Interaction("u", item, ts) for item, ts in [("c", 3), ("a", 1), ("d", 4), ("b", 2)]]
    split = leave_one_out(rows)
    items = split.train.items
    assert [items[i] for i in split.train.histories[0]] == ["a", "b"]
    assert items[split.valid[0]] == "c"
    assert items[split.test[0]] == "d"
    histories, targets = split.testing()
    assert [items[i] for i in histories[0]] == ["a", "b", "c"]
    assert items[targets[0]] == "d"


def test_untimed_histories_hold_out_seeded_random_items():
    rows = [Interaction(f"u{u}", f"i{i}", None) for u in range(30) for i in range(6)]
    first = leave_one_out(rows, seed=1)
    again = leave_one_out(rows, seed=1)
    other = leave_one_out(rows, seed=2)
    assert np.array_equal(first.test, again.test)
    assert not np.array_equal(first.test, other.test)
    # Not always the heaviest/last one: the choice really is random.
    assert len(set(first.test.tolist())) > 1
    for u in range(30):
        held = {int(first.valid[u]), int(first.test[u])}
        assert len(held) == 2 and not held & set(first.train.histories[u])


class Fixed:
    """Scores item i as i: the highest index ranks first."""

    def __init__(self, n):
        self.n = n

    def scores(self, histories):
        return np.tile(np.arange(self.n, dtype=np.float32), (len(histories), 1))


def test_full_ranking_excludes_seen_items_and_computes_metrics():
    scorer = Fixed(20)
    ranked, _ = recommend(scorer, [[19, 18], [0]], k=3)
    assert ranked.tolist() == [[17, 16, 15], [19, 18, 17]]
    result = evaluate(scorer, [[19, 18], [0], [1]], np.array([16, 5, 19]), n_items=20, k=3)
    assert math.isclose(result["hr@3"], 2 / 3)
    assert math.isclose(result["ndcg@3"], (1 / math.log2(3) + 1) / 3)
    assert math.isclose(result["mrr@3"], (1 / 2 + 1) / 3)
    assert math.isclose(result["coverage@3"], 5 / 20)  # 15..19


def test_metrics_of_a_miss_are_zero():
    result = metrics(np.array([[1, 2]]), np.array([3]), n_items=4, k=2)
    assert result["hr@2"] == result["ndcg@2"] == result["mrr@2"] == 0.0
