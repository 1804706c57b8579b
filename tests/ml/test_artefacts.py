"""Model directories are written whole or not at all, and unknown formats are refused."""

from __future__ import annotations

import numpy as np
import pytest

from ml.artefacts import ArtefactError, load_array, read_meta, save_arrays, write_meta, writing


def test_round_trip(tmp_path):
    target = tmp_path / "model"
    with writing(target) as tmp:
        save_arrays(tmp, weights=np.arange(6.0).reshape(2, 3))
        write_meta(tmp, "encore.test", 1, metrics={"ndcg@10": 0.1})
    meta = read_meta(target, "encore.test", [1])
    assert meta["metrics"] == {"ndcg@10": 0.1}
    assert load_array(target, "weights").shape == (2, 3)


def test_failed_write_leaves_previous_model(tmp_path):
    target = tmp_path / "model"
    with writing(target) as tmp:
        write_meta(tmp, "encore.test", 1, generation=1)
    with pytest.raises(RuntimeError), writing(target) as tmp:
        write_meta(tmp, "encore.test", 1, generation=2)
        raise RuntimeError("training crashed")
    assert read_meta(target, "encore.test", [1])["generation"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_unknown_version_and_kind_are_refused(tmp_path):
    with writing(tmp_path / "model") as tmp:
        write_meta(tmp, "encore.test", 99)
    with pytest.raises(ArtefactError, match="format version 99"):
        read_meta(tmp_path / "model", "encore.test", [1])
    with pytest.raises(ArtefactError, match=r"not 'encore\.other'"):
        read_meta(tmp_path / "model", "encore.other", [1])


def test_arrays_never_load_pickles(tmp_path):
    np.save(tmp_path / "evil.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError):
        load_array(tmp_path, "evil")


def test_rows_read_one_at_a_time_equal_the_saved_array(tmp_path):
    from ml.artefacts import load_rows

    saved = np.arange(40, dtype=np.float16).reshape(8, 5)
    save_arrays(tmp_path, lists=saved)
    rows = load_rows(tmp_path, "lists")
    assert len(rows) == 8
    np.testing.assert_array_equal(rows[3], saved[3])
    np.testing.assert_array_equal(rows[np.array([7, 0, 7])], saved[[7, 0, 7]])
    assert rows[np.array([], dtype=np.int64)].shape == (0, 5)
    with pytest.raises(IndexError):
        rows[8]
