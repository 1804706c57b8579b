"""Fixtures shared by the ml tests."""

from __future__ import annotations

import numpy as np
import pytest

from ml import hybrid
from ml.data import user_histories
from tests.ml.test_sequence import TINY, planted_rows


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A hybrid trained on the planted sequences (out directory, rows, train's result), shared by
    the tests that read a trained model and never change it."""
    out = tmp_path_factory.mktemp("hybrid") / "model"
    rows = planted_rows()
    result = hybrid.train(
        rows, out, seed=0, sequence_hyper={**TINY, "epochs": 25, "learning_rate": 0.02}
    )
    return out, rows, result


def assert_served_is_the_blend(ranker, blender, rows, weights, part, check=None):
    """For ten people of `rows`: the served top 5 and their scores are the offline blend's, and
    the blend's `part` changes those scores (it is really in the ranking). `check(computed)`
    sees each history's offline parts."""
    for history in list(user_histories(rows).values())[:10]:
        items = [r.item for r in history]
        positions = list(ranker.items.positions(items))
        computed = blender.parts_for([positions], None)
        if check is not None:
            check(computed)
        blended = blender.combine(computed, weights)[0]
        without = blended - weights[part] * computed[part][0]
        blended[positions] = -np.inf
        served = ranker.recommend(items, 5)
        expected = np.argsort(-blended, kind="stable")[:5]
        assert [r.item for r in served] == [ranker.items[int(i)] for i in expected]
        np.testing.assert_allclose([r.score for r in served], blended[expected], rtol=1e-4)
        assert not np.allclose(without[expected], blended[expected])
