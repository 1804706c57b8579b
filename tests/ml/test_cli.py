"""`python -m ml` end to end on tiny files: outputs, exclusions, and malformed input."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from ml.cli import main


def write_chain(path, n_users=40, n_items=12, length=6, untimed_user=True):
    """Each user watches a stretch of the chain 0→1→…; one user has no timestamps."""
    lines = ["user,item,timestamp,weight"]
    for u in range(n_users):
        start = u % (n_items - length)
        for step in range(length):
            ts = "" if (untimed_user and u == 0) else str(1000 + step)
            lines.append(f"u{u:03d},m{start + step},{ts},{1 + step % 3}")
    path.write_text("\n".join(lines) + "\n")
    return path


def read_recs(path):
    with path.open() as handle:
        return list(csv.DictReader(handle))


def histories(path):
    seen: dict[str, set[str]] = {}
    with path.open() as handle:
        for row in csv.DictReader(handle):
            seen.setdefault(row["user"], set()).add(row["item"])
    return seen


@pytest.mark.parametrize("method", ["popularity", "itemknn", "markov"])
def test_baseline_recommend_writes_recs_for_every_user(tmp_path, method):
    interactions = write_chain(tmp_path / "I.csv")
    out = tmp_path / "recs.csv"
    assert main(["baseline", "recommend", "--method", method, "--interactions",
                 str(interactions), "--k", "3", "--out", str(out)]) == 0  # fmt: skip
    recs = read_recs(out)
    seen = histories(interactions)
    assert list(recs[0]) == ["user", "item", "rank", "score", "reason"]
    assert {r["user"] for r in recs} == set(seen)
    assert all(r["item"] not in seen[r["user"]] for r in recs)
    assert all(len([r for r in recs if r["user"] == u]) == 3 for u in seen)
    if method == "markov":
        # u004 watched m4..m9: m10 always followed m9.
        first = next(r for r in recs if r["user"] == "u004" and r["rank"] == "1")
        assert first["item"] == "m10"


def test_evaluate_prints_metrics_json(tmp_path, capsys):
    interactions = write_chain(tmp_path / "I.csv")
    assert main(["evaluate", "--interactions", str(interactions), "--methods", "markov"]) == 0
    result = json.loads(capsys.readouterr().out)
    # Each user's held-out item is the next one in the chain: Markov finds nearly all.
    assert result["markov"]["hr@10"] > 0.9
    assert set(result["markov"]) >= {"hr@10", "ndcg@10", "mrr@10", "coverage@10"}


def test_malformed_input_exits_2_naming_the_line(tmp_path, capsys):
    bad = tmp_path / "I.csv"
    bad.write_text("user,item,timestamp,weight\na,b,1,1\na,c,soon,1\n")
    code = main(["baseline", "recommend", "--method", "popularity", "--interactions",
                 str(bad), "--out", str(tmp_path / "r.csv")])  # fmt: skip
    assert code == 2
    assert f"{bad}, line 3: timestamp 'soon'" in capsys.readouterr().err
    assert not (tmp_path / "r.csv").exists()
    assert main(["evaluate", "--interactions", str(bad), "--methods", "nope"]) == 2


def test_module_entry_point_runs(tmp_path):
    interactions = write_chain(tmp_path / "I.csv")
    out = tmp_path / "recs.csv"
    done = subprocess.run(
        [sys.executable, "-m", "ml", "baseline", "recommend", "--method", "popularity",
         "--interactions", str(interactions), "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert read_recs(out)


@pytest.mark.slow
def test_sequence_train_then_recommend(tmp_path, capsys):
    interactions = write_chain(tmp_path / "I.csv", n_users=60)
    model = tmp_path / "gru"
    assert main(["sequence", "train", "--interactions", str(interactions), "--out", str(model),
                 "--epochs", "30", "--dim", "16", "--hidden", "32", "--max-len", "8",
                 "--learning-rate", "0.02", "--seed", "1"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["validation"]["hr@10"] > 0.5
    out = tmp_path / "recs.csv"
    assert main(["sequence", "recommend", "--model", str(model), "--interactions",
                 str(interactions), "--k", "2", "--out", str(out)]) == 0  # fmt: skip
    recs = read_recs(out)
    seen = histories(interactions)
    assert {r["user"] for r in recs} == set(seen)
    assert all(r["item"] not in seen[r["user"]] for r in recs)
    top = {r["user"]: r for r in recs if r["rank"] == "1"}
    # u003 watched m3..m8 in order: the chain says m9 comes next.
    assert top["u003"]["item"] == "m9"
    assert top["u003"]["reason"] == "because you played m8"
    assert main(["sequence", "recommend", "--model", str(tmp_path / "missing"),
                 "--interactions", str(interactions), "--out", str(out)]) == 2  # fmt: skip


@pytest.mark.slow
def test_hybrid_train_then_recommend_with_reviews(tmp_path, capsys):
    interactions = write_chain(tmp_path / "I.csv", n_users=60)
    reviews = tmp_path / "R.csv"
    reviews.write_text('user,item,text,rating\nu003,m8,"Superb, loved it",5\nu004,m9,,1\n')
    items = tmp_path / "items.csv"
    rows = "".join(f"m{i},g{i % 3},{1990 + i}\n" for i in range(12))
    items.write_text(f"item,genres,year\n{rows}")
    model = tmp_path / "hybrid"
    assert main(["train", "--interactions", str(interactions), "--reviews", str(reviews),
                 "--items", str(items), "--out", str(model), "--epochs", "30", "--dim", "16",
                 "--hidden", "32", "--max-len", "8", "--learning-rate", "0.02"]) == 0  # fmt: skip
    assert "hybrid" in json.loads(capsys.readouterr().out)["validation"]
    assert (model / "sequence" / "model.keras").is_file()
    out = tmp_path / "recs.csv"
    assert main(["recommend", "--model", str(model), "--interactions", str(interactions),
                 "--reviews", str(reviews), "--k", "2", "--out", str(out)]) == 0  # fmt: skip
    recs = read_recs(out)
    seen = histories(interactions)
    assert {r["user"] for r in recs} == set(seen)
    assert all(r["item"] not in seen[r["user"]] for r in recs)
    assert all(r["reason"] for r in recs)
    top = {r["user"]: r["item"] for r in recs if r["rank"] == "1"}
    assert top["u003"] == "m9"
    # Bad input still exits 2 naming the line, for both files.
    reviews.write_text("user,item,text,rating\nu1,m1,ok,great\n")
    assert main(["recommend", "--model", str(model), "--interactions", str(interactions),
                 "--reviews", str(reviews), "--out", str(out)]) == 2  # fmt: skip
    assert "line 2: rating 'great'" in capsys.readouterr().err
    assert main(["train", "--interactions", str(interactions), "--artwork", str(tmp_path),
                 "--out", str(model)]) == 2  # fmt: skip
    items.write_text("item,genres,year\nm1,g1,1990\nm2,g2,soon\n")
    assert main(["train", "--interactions", str(interactions), "--items", str(items),
                 "--out", str(tmp_path / "other")]) == 2  # fmt: skip
    assert f"{items}, line 3: year 'soon'" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()


@pytest.mark.slow
def test_evaluate_trains_the_gru_and_the_hybrid_on_the_training_part(tmp_path, capsys):
    interactions = write_chain(tmp_path / "I.csv", n_users=60)
    assert main(["evaluate", "--interactions", str(interactions), "--methods",
                 "popularity,sequence,hybrid", "--epochs", "25", "--dim", "16", "--hidden",
                 "32", "--max-len", "8", "--learning-rate", "0.02"]) == 0  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"popularity", "sequence", "hybrid"}
    # The chain is learnable: both beat popularity on the held-out next items.
    assert result["sequence"]["ndcg@10"] > result["popularity"]["ndcg@10"]
    assert result["hybrid"]["ndcg@10"] > result["popularity"]["ndcg@10"]


def test_training_on_nothing_learnable_is_a_clear_error(tmp_path, capsys):
    lonely = tmp_path / "I.csv"
    lonely.write_text("user,item,timestamp,weight\na,x,1,\nb,y,2,\n")
    code = main(["sequence", "train", "--interactions", str(lonely), "--out", str(tmp_path / "m")])
    assert code == 2
    assert "no user has two or more items" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
