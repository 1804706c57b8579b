"""General English polarity beside the network: a review's words that no labelled sentence
had still count by the lexicon's valence, with VADER's negation and "but" rules, and a model
saved before the lexicon (format 2) still loads and scores as it did."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml.lexicon import polarity, valences
from ml.sentiment import (
    Scoring,
    fit_scoring,
    load_sentiment,
    log_loss,
    normalise,
    roc_auc,
    sigmoid,
    train_sentiment,
)
from tests.ml.sentences import sentences

TINY = {"embedding_dim": 16, "lstm_units": 8, "epochs": 8, "patience": 3, "sequence_length": 12}


def test_polarity_follows_the_lexicon_negation_and_but():
    good, boring = valences()["good"], valences()["boring"]
    assert good > 0 > boring
    assert polarity(normalise("a good game").split()) == pytest.approx((good / 4, 0.0))
    # "not good" counts against the text, but less than "bad" would
    assert polarity(normalise("not good").split()) == pytest.approx((0.0, -0.74 * good / 4))
    # what comes after "but" outweighs what came before it
    positive, negative = polarity(normalise("good, but boring").split())
    assert positive == pytest.approx(0.5 * good / 4)
    assert negative == pytest.approx(1.5 * boring / 4)
    assert polarity(normalise("the plot of the show").split()) == (0.0, 0.0)


def test_the_fit_calibrates_and_weighs_the_lexicon_by_what_it_adds():
    rng = np.random.default_rng(0)
    evidence, words = rng.normal(0, 2, 2000), rng.normal(0, 1.5, 2000)
    labels = (rng.random(2000) < sigmoid(evidence + words)).astype(int)
    logits = 2.5 * evidence  # an overconfident network that never saw the words
    lexicon = np.column_stack([np.maximum(words, 0), np.minimum(words, 0)])
    plain = fit_scoring(logits, labels)
    assert plain.lexicon_weights == (0.0, 0.0)
    assert plain.temperature == pytest.approx(2.5, rel=0.3)
    both = fit_scoring(logits, labels, lexicon)
    assert both.temperature == pytest.approx(2.5, rel=0.3)
    assert both.lexicon_weights == pytest.approx((1.0, 1.0), abs=0.35)
    assert log_loss(labels, both.probabilities(logits, lexicon)) < log_loss(
        labels, plain.probabilities(logits, lexicon)
    )
    # one class only: nothing to fit, the logit passes through
    assert fit_scoring(logits, np.ones(2000)) == Scoring()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Trained on "splendid" and "dreadful" only, with and without the lexicon."""
    root = tmp_path_factory.mktemp("lexicon")
    texts, labels = sentences(240, 1, "splendid", "dreadful")
    train_sentiment(texts, labels, root / "with", seed=4, **TINY)
    train_sentiment(texts, labels, root / "without", seed=4, lexicon=False, **TINY)
    return root


@pytest.mark.slow
def test_words_no_labelled_sentence_had_are_read_by_their_polarity(models):
    probes, truth = sentences(80, 9, "wonderful", "horrible")  # neither word was labelled
    with_lexicon = roc_auc(truth, load_sentiment(models / "with").predict(probes))
    without = roc_auc(truth, load_sentiment(models / "without").predict(probes))
    assert with_lexicon >= 0.95
    assert with_lexicon > without + 0.3
    meta = json.loads((models / "with" / "meta.json").read_text())
    assert min(meta["scoring"]["lexicon_weights"]) > 0
    assert json.loads((models / "without" / "meta.json").read_text())["scoring"][
        "lexicon_weights"
    ] == [0.0, 0.0]


@pytest.mark.slow
def test_a_format_2_model_loads_and_scores_without_the_lexicon(models):
    meta_path = models / "with" / "meta.json"
    original = meta_path.read_text()
    meta = json.loads(original)
    scoring = {k: v for k, v in meta["scoring"].items() if k != "lexicon_weights"}
    try:
        meta_path.write_text(json.dumps({**meta, "format_version": 2, "scoring": scoring}))
        model = load_sentiment(models / "with")
        probes = ["a wonderful film", "the plot was horrible", "splendid"]
        expected = sigmoid(model.logits(probes) / scoring["temperature"])
        np.testing.assert_allclose(model.predict(probes), expected, atol=1e-6)
    finally:
        meta_path.write_text(original)
