"""Sentiment on a site's own text: word vectors pre-trained on unlabelled reviews carry a
label to a word never seen with one, long reviews are scored sentence by sentence, the
probabilities are calibrated, and the saved model reloads to the same predictions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml.artefacts import ArtefactError
from ml.cli import main
from ml.sentiment import (
    chunks,
    load_sentiment,
    log_loss,
    pretrained_embedding,
    roc_auc,
    sigmoid,
    train_sentiment,
)
from tests.ml.sentences import sentences

TINY = {"embedding_dim": 16, "lstm_units": 8, "epochs": 10, "patience": 3, "sequence_length": 12}


def test_chunks_cut_reviews_at_sentence_ends():
    assert chunks("Loved it.Only in early access! Would play again", 40) == [
        "Loved it.",
        "Only in early access!",
        "Would play again",
    ]
    assert chunks("one two three four five", 2) == ["one two", "three four", "five"]
    assert chunks("line one\nline two", 40) == ["line one", "line two"]
    assert chunks("", 40) == [""]


def test_pretrained_vectors_put_words_of_the_same_contexts_together():
    # ids 2..: 2 and 3 share their neighbours (4, 5); 6 and 7 share theirs (8, 9)
    rows = [[2, 4, 5], [3, 4, 5], [6, 8, 9], [7, 8, 9]] * 20
    vectors = pretrained_embedding(np.array(rows), 10, 4, window=2, seed=0)
    assert vectors.shape == (10, 4) and np.all(vectors[0] == 0)
    assert vectors[2] @ vectors[3] > 0.9 > vectors[2] @ vectors[6]
    again = pretrained_embedding(np.array(rows), 10, 4, window=2, seed=0)
    np.testing.assert_allclose(vectors, again, atol=1e-6)


@pytest.fixture(scope="module")
def site_models(tmp_path_factory):
    """One model trained with the site's unlabelled text, one without; the labelled text only
    ever says "splendid" and "dreadful", the site also "marvellous" and "atrocious"."""
    root = tmp_path_factory.mktemp("site")
    labelled, labels = sentences(200, 1, "splendid", "dreadful")
    site = [
        *sentences(300, 2, "splendid", "dreadful", context=True)[0],
        *sentences(300, 3, "marvellous", "atrocious", context=True)[0],
    ]
    # frozen vectors show the transfer plainly; the default fine-tunes them (better in the
    # bench on real reviews, and it moves only the labelled words' vectors)
    hyper = {**TINY, "epochs": 20, "patience": 5, "embedding_trainable": False}
    with_site = train_sentiment(labelled, labels, root / "with", unlabelled=site, seed=3, **hyper)
    without = train_sentiment(labelled, labels, root / "without", seed=3, **hyper)
    return root, with_site, without


@pytest.mark.slow
def test_unlabelled_text_carries_the_label_to_a_word_never_labelled(site_models):
    root, with_site, _ = site_models
    probes, truth = sentences(60, 9, "marvellous", "atrocious")  # no context words at all
    with_model = load_sentiment(root / "with")
    without_model = load_sentiment(root / "without")
    # ranked: the sentences with the word seen only in positive contexts above the others
    ranked_with = roc_auc(truth, with_model.predict(probes))
    ranked_without = roc_auc(truth, without_model.predict(probes))
    assert ranked_with >= 0.8
    assert ranked_with > ranked_without + 0.2
    assert json.loads((root / "with" / "meta.json").read_text())["examples"]["unlabelled"] == 600
    assert with_site["accuracy"] >= 0.9


@pytest.mark.slow
def test_a_long_review_is_the_mean_of_its_sentences(site_models):
    root, _, _ = site_models
    model = load_sentiment(root / "with")
    parts = ["the film was splendid.", "the plot was dreadful.", "it is a show!"]
    whole = model.logits([" ".join(parts)])[0]
    assert whole == pytest.approx(float(np.mean(model.logits(parts))), abs=1e-5)
    # and a positive sentence is not outvoted by the length of neutral ones
    padded = "the film was splendid. " + "it was a show and the plot. " * 6
    assert model.predict([padded])[0] > 0.5


@pytest.mark.slow
def test_reload_gives_identical_predictions(site_models):
    root, _, _ = site_models
    probes = ["the film was splendid", "a dreadful plot", "marvellous. atrocious.", ""]
    first = load_sentiment(root / "with").predict(probes)
    second = load_sentiment(root / "with").predict(probes)
    np.testing.assert_allclose(first, second, atol=1e-6)
    assert first.shape == (4,) and np.all((first > 0) & (first < 1))


@pytest.mark.slow
def test_calibrated_probabilities_are_no_more_overconfident_than_the_raw_ones(tmp_path):
    texts, labels = sentences(240, 4, "splendid", "dreadful")
    noisy = labels.copy()
    flip = np.random.default_rng(0).random(len(labels)) < 0.2  # one label in five is wrong
    noisy[flip] = 1 - noisy[flip]
    metrics = train_sentiment(texts, noisy, tmp_path / "m", seed=2, **{**TINY, "patience": 6})
    model = load_sentiment(tmp_path / "m")
    assert metrics["temperature"] == model.meta["scoring"]["temperature"] > 0

    held_out, truth = sentences(200, 5, "splendid", "dreadful")
    truth = truth.copy()
    flip = np.random.default_rng(1).random(len(truth)) < 0.2
    truth[flip] = 1 - truth[flip]
    calibrated = model.predict(held_out)
    raw = sigmoid(model.logits(held_out))
    assert log_loss(truth, calibrated) <= log_loss(truth, raw) + 0.02
    # right about 80% of the time, so it should not claim much more certainty than that
    confidence = np.mean(np.maximum(calibrated, 1 - calibrated))
    assert confidence == pytest.approx(0.8, abs=0.12)


def test_version_1_models_are_refused(site_models):
    root, _, _ = site_models
    meta_path = root / "without" / "meta.json"
    original = meta_path.read_text()
    try:
        meta_path.write_text(json.dumps({**json.loads(original), "format_version": 1}))
        with pytest.raises(ArtefactError, match="format version 1"):
            load_sentiment(root / "without")
    finally:
        meta_path.write_text(original)


@pytest.mark.slow
def test_cli_takes_unlabelled_text(tmp_path, capsys):
    texts, labels = sentences(80, 6, "splendid", "dreadful")
    data = tmp_path / "labelled.csv"
    data.write_text(
        "text,label\n" + "".join(f"{t},{y}\n" for t, y in zip(texts, labels, strict=True))
    )
    site = tmp_path / "site.csv"
    site.write_text('id,text\n1,the game was marvellous\n2,"an atrocious, dull plot"\n')
    out = tmp_path / "model"
    assert main(["sentiment", "train", "--data", str(data), "--unlabelled", str(site),
                 "--out", str(out), "--epochs", "2", "--lstm-units", "4",
                 "--embedding-dim", "8"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert report["unlabelled"] == 2
    assert "marvellous" in json.loads((out / "vocabulary.json").read_text())["words"]["vocabulary"]
