"""Fixtures shared by the ml tests."""

from __future__ import annotations

import pytest

from ml import hybrid
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
