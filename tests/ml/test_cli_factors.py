"""`python -m ml baseline` and `evaluate` with the order-free EASE and ALS."""

from __future__ import annotations

import csv
import json

import pytest

from ml.cli import main
from ml.data import write_interactions
from tests.ml.test_factors import planted


def read_recs(path):
    with path.open() as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def unordered(tmp_path, monkeypatch):
    # A smaller ALS grid keeps the suite quick (the full one is 54 fits).
    small = {"factors": (8, 16), "regularization": (1.0,), "alpha": (1.0,), "iterations": (10,)}
    monkeypatch.setattr("ml.factors.ALS_GRID", small)
    path = tmp_path / "I.csv"
    write_interactions(path, planted(n_users=120))
    return path


@pytest.mark.parametrize("method", ["ease", "als"])
def test_baseline_recommend_accepts_ease_and_als(tmp_path, unordered, method):
    out = tmp_path / "recs.csv"
    assert main(["baseline", "recommend", "--method", method, "--interactions", str(unordered),
                 "--k", "3", "--out", str(out)]) == 0  # fmt: skip
    recs = read_recs(out)
    seen: dict[str, set[str]] = {}
    with unordered.open() as handle:
        for row in csv.DictReader(handle):
            seen.setdefault(row["user"], set()).add(row["item"])
    assert {r["user"] for r in recs} == set(seen)
    assert all(r["item"] not in seen[r["user"]] for r in recs)
    assert all(len([r for r in recs if r["user"] == u]) == 3 for u in seen)
    assert all(r["reason"] for r in recs)


def test_evaluate_tunes_on_validation_and_reports_the_choice(unordered, capsys):
    assert main(["evaluate", "--interactions", str(unordered),
                 "--methods", "popularity,itemknn,ease,als"]) == 0  # fmt: skip
    out = capsys.readouterr()
    result = json.loads(out.out)
    assert set(result) == {"popularity", "itemknn", "ease", "als"}
    for method in ("itemknn", "ease", "als"):
        assert result[method]["ndcg@10"] > result["popularity"]["ndcg@10"] + 0.1
        assert all(isinstance(value, float) for value in result[method].values())
    # The chosen parameters go to stderr, so the JSON stays figures only.
    assert 'ease: tuned {"l2": ' in out.err
    assert 'als: tuned {"factors": ' in out.err
    assert 'itemknn: tuned {"neighbours": ' in out.err


def test_evaluate_default_methods_stay_the_quick_ones(unordered, capsys):
    assert main(["evaluate", "--interactions", str(unordered)]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"popularity", "itemknn", "markov"}


def test_ease_on_a_catalogue_too_large_exits_2(tmp_path, unordered, monkeypatch, capsys):
    monkeypatch.setattr("ml.commands.baseline.EASE_MAX_ITEMS", 10)
    code = main(["baseline", "recommend", "--method", "ease", "--interactions", str(unordered),
                 "--out", str(tmp_path / "r.csv")])  # fmt: skip
    assert code == 2
    assert "use als" in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()
    assert main(["evaluate", "--interactions", str(unordered), "--methods", "ease"]) == 2


@pytest.mark.slow
def test_evaluate_scores_the_hybrid_with_its_co_occurrence_part(unordered, capsys, monkeypatch):
    """`evaluate`'s hybrid is the one `train` makes: with EASE (auto, on a catalogue it fits) or
    ALS (`--factors als`) tuned into its blend, and it finds the groups a GRU cannot order."""
    from ml import hybrid

    # Without item-kNN feedback and the Markov chain, only the co-occurrence part sees groups.
    monkeypatch.setitem(hybrid.GRID, "feedback", (0.0,))
    monkeypatch.setitem(hybrid.GRID, "markov", (0.0,))
    found = {}
    for factors in ("none", "auto", "als"):
        assert main(["evaluate", "--interactions", str(unordered), "--methods",
                     "popularity,hybrid", "--factors", factors, "--k", "5", "--epochs", "3",
                     "--dim", "16", "--hidden", "32", "--max-len", "8"]) == 0  # fmt: skip
        result = json.loads(capsys.readouterr().out)
        # At the --k asked for, like every other method.
        assert set(result["hybrid"]) == set(result["popularity"]) >= {"ndcg@5", "hr@5"}
        found[factors] = result["hybrid"]["ndcg@5"]
    assert found["auto"] > found["none"] + 0.1
    assert found["als"] > found["none"] + 0.1


def test_evaluate_refuses_an_ease_hybrid_beyond_its_size(unordered, monkeypatch, capsys):
    monkeypatch.setattr("ml.commands.baseline.EASE_MAX_ITEMS", 10)
    assert main(["evaluate", "--interactions", str(unordered), "--methods", "hybrid",
                 "--factors", "ease"]) == 2  # fmt: skip
    assert "use als" in capsys.readouterr().err


def test_train_refuses_an_ease_part_beyond_its_size_before_training(
    tmp_path, unordered, monkeypatch, capsys
):
    monkeypatch.setattr("ml.commands.baseline.EASE_MAX_ITEMS", 10)
    out = tmp_path / "model"
    assert main(["train", "--interactions", str(unordered), "--factors", "ease",
                 "--out", str(out)]) == 2  # fmt: skip
    assert "use als" in capsys.readouterr().err
    assert not out.exists()
