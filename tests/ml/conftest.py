"""Fixtures shared by the ml tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


# Appended to every script `serve_in_a_web_process` runs: serving imports none of these.
NO_HEAVY_IMPORTS = """
heavy = sorted(
    m for m in sys.modules
    if m.split(".")[0] in ("tensorflow", "keras", "scipy", "implicit", "jax", "sklearn")
)
assert not heavy, heavy
print("served")
"""


def serve_in_a_web_process(script, model, history):
    """Run `script` (sys.argv: the model directory, then the history's items) in a fresh
    interpreter, as a web process loads a model; it must pass and have imported no training
    library."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", script + NO_HEAVY_IMPORTS, str(model), *history],
        capture_output=True, text=True, cwd=root, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "served"
