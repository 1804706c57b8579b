"""The sentiment model learns a planted sentiment word, round-trips, refuses unknown formats,
and its reader and CLI name the bad line."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from ml.artefacts import ArtefactError
from ml.cli import main
from ml.sentiment import (
    LabelledDataError,
    binary_metrics,
    load_sentiment,
    normalise,
    read_labelled,
    roc_auc,
    train_sentiment,
)

TINY = {"embedding_dim": 16, "lstm_units": 8, "epochs": 8, "patience": 3, "sequence_length": 12}
FILLER = ["the", "a", "this", "that", "film", "show", "game", "song", "it", "was", "is", "really",
          "quite", "very", "so", "and", "plot"]  # fmt: skip


def planted(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Sentences of filler words; the one sentiment word decides the label."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        label = i % 2
        words = rng.choice(FILLER, size=int(rng.integers(4, 9))).tolist()
        words.insert(int(rng.integers(len(words) + 1)), "splendid" if label else "dreadful")
        texts.append(" ".join(words))
        labels.append(label)
    return texts, np.array(labels)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "sentiment"
    texts, labels = planted(240, seed=1)
    metrics = train_sentiment(texts, labels, out, seed=5, **TINY)
    return out, metrics


@pytest.mark.slow
def test_learns_the_planted_word_and_round_trips(trained):
    out, metrics = trained
    assert metrics["accuracy"] >= 0.9
    model = load_sentiment(out)
    texts, labels = planted(100, seed=99)  # new sentences
    probabilities = model.predict(texts)
    assert probabilities.shape == (100,)
    assert binary_metrics(labels, probabilities)["accuracy"] >= 0.9
    # The loaded model is the one that was trained: its validation figures reproduce.
    meta = json.loads((out / "meta.json").read_text())
    assert meta["format"] == "encore.sentiment" and meta["metrics"] == metrics
    assert "splendid" in json.loads((out / "vocabulary.json").read_text())["words"]["vocabulary"]
    assert model.predict([]).shape == (0,)
    assert model.version.endswith(meta["data_hash"][:8])


def test_unknown_format_version_is_refused(trained):
    out, _ = trained
    meta_path = out / "meta.json"
    original = meta_path.read_text()
    try:
        meta_path.write_text(json.dumps({**json.loads(original), "format_version": 99}))
        with pytest.raises(ArtefactError, match="format version 99"):
            load_sentiment(out)
    finally:
        meta_path.write_text(original)


@pytest.mark.slow
def test_same_seed_same_model(tmp_path):
    texts, labels = planted(80, seed=2)
    quick = {**TINY, "epochs": 2}
    first = train_sentiment(texts, labels, tmp_path / "a", seed=4, **quick)
    second = train_sentiment(texts, labels, tmp_path / "b", seed=4, **quick)
    assert first == second
    probe = ["this film was splendid", "it was dreadful"]
    a = load_sentiment(tmp_path / "a").predict(probe)
    b = load_sentiment(tmp_path / "b").predict(probe)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_normalise_keeps_negation_in_scope():
    assert normalise("Wasn't GOOD, but fun!") == "was not neg_good but fun !"
    assert normalise("I can't say it's great.") == "i can not neg_say neg_it neg_s neg_great"


def test_metrics():
    labels = np.array([0, 0, 1, 1])
    assert roc_auc(labels, np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)
    assert roc_auc(labels, np.full(4, 0.5)) == pytest.approx(0.5)
    assert binary_metrics(labels, np.array([0.1, 0.6, 0.7, 0.9]))["f1"] == pytest.approx(0.8)


def test_reads_labels_ratings_and_uci_text(tmp_path):
    labelled = tmp_path / "labelled.csv"
    labelled.write_text('text,label\n"Great, really",1\nawful,0\n')
    texts, labels = read_labelled(labelled)
    assert texts == ["Great, really", "awful"] and labels.tolist() == [1, 0]

    rated = tmp_path / "rated.csv"
    rated.write_text("user,item,text,rating\nu,i,loved it,5\nu,j,meh,3\nu,k,hated it,1.5\n")
    texts, labels = read_labelled(rated)
    assert texts == ["loved it", "hated it"] and labels.tolist() == [1, 0]  # 3 is not a label

    uci = tmp_path / "yelp_labelled.txt"
    uci.write_text("Wow... Loved this place.\t1\nCrust is not good.\t0\n")
    texts, labels = read_labelled(uci)
    assert texts == ["Wow... Loved this place.", "Crust is not good."]
    assert labels.tolist() == [1, 0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("text,label\nfine,1\nbad,maybe\n", "line 3: label 'maybe'"),
        ("text,label\nfine,1\ntoo,many,fields\n", "line 3: 3 fields"),
        ("text,rating\nfine,five\n", "line 2: rating 'five'"),
        ("words,stars\nfine,1\n", "line 1: expected a header"),
        ("text,label\n", "no labelled rows"),
    ],
)
def test_bad_csv_names_the_line(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(LabelledDataError, match=message) as caught:
        read_labelled(path)
    assert str(path) in str(caught.value)


def test_bad_uci_line_is_named(tmp_path):
    path = tmp_path / "amazon.txt"
    path.write_text("good phone\t1\nno label here\t7\n")
    with pytest.raises(LabelledDataError, match=r"amazon.txt, line 2"):
        read_labelled(path)


@pytest.mark.slow
def test_cli_trains_and_predicts(tmp_path, capsys):
    texts, labels = planted(160, seed=3)
    data = tmp_path / "labelled.csv"
    with data.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "rating"])  # weak labels from stars
        for text, label in zip(texts, labels, strict=True):
            writer.writerow([text, 5 if label else 1])
        writer.writerow(["a lukewarm film", 3])
    model = tmp_path / "model"
    assert main(["sentiment", "train", "--data", str(data), "--out", str(model),
                    "--seed", "1", "--epochs", "6", "--lstm-units", "8",
                    "--embedding-dim", "16"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert report["examples"] == 160

    queries = tmp_path / "texts.csv"
    queries.write_text('id,text\n1,the show was splendid\n2,"so, a dreadful plot"\n')
    preds = tmp_path / "preds.csv"
    cmd = ["sentiment", "predict", "--model", str(model), "--in", str(queries), "--out", str(preds)]
    assert main(cmd) == 0
    rows = list(csv.DictReader(preds.open()))
    assert [r["text"] for r in rows] == ["the show was splendid", "so, a dreadful plot"]
    assert [r["label"] for r in rows] == ["1", "0"]
    assert float(rows[0]["probability"]) > 0.5 > float(rows[1]["probability"])


def test_cli_refuses_bad_input(tmp_path, capsys):
    bad = tmp_path / "labelled.csv"
    bad.write_text("text,label\nfine,1\nbad,2\n")
    assert main(["sentiment", "train", "--data", str(bad), "--out", str(tmp_path / "m")]) == 2
    assert "labelled.csv, line 3: label '2' is not 0 or 1" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
    one_sided = tmp_path / "positive.csv"
    one_sided.write_text("text,label\nfine,1\ngood,1\n")
    assert main(["sentiment", "train", "--data", str(one_sided), "--out", str(tmp_path / "m")]) == 2
    missing = tmp_path / "missing-model"
    texts = tmp_path / "texts.csv"
    texts.write_text("text\nhello\n")
    cmd = ["sentiment", "predict", "--model", str(missing), "--in", str(texts), "--out", "x.csv"]
    assert main(cmd) == 2
