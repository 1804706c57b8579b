"""Sentiment LSTM against bag-of-words baselines on the UCI yelp + amazon sentences.

    .venv/bin/python bench/ml_sentiment.py [--seed 0] [--splits 1] [--no-steam] [--no-unlabelled]
        [--set k=v ...]

2,000 sentences, split 80/20 with a fixed seed (stratified). The LSTM trains on the 80% (it
holds out a part of that for early stopping) and everything is measured on the 20%. The
baselines, fitted on the same 80%, are a multinomial naive Bayes and an L2 logistic regression
over word unigrams and bigrams, both in NumPy. `--splits N` repeats the run on N seeds, since
400 test sentences give a standard error of about 1.8 points on one split.

Every model is also measured on another site's text: the balanced 2,000-review draw from
`shared/data/steam-reviews` (the draw in `shared/data/README.md`: reviews with non-empty text
in file order, split by class, then `random.Random(7)` samples 1,000 Recommended followed by
1,000 Not Recommended). No review of that draw is used for training or early stopping.

The site's unlabelled text, which the model pre-trains its word vectors on (as the site would
pass its opted-in reviews), is every other Steam review with text, without its label: the
rows outside the draw, less those whose text is exactly that of a drawn review ("Good game"),
so no evaluation text is seen even unlabelled. `--no-unlabelled` trains without it.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml.sentiment import binary_metrics, load_sentiment, read_labelled, train_sentiment  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "sentiment-labelled-sentences"
FILES = ("yelp_labelled.txt", "amazon_cells_labelled.txt")
STEAM = ROOT.parent / "shared" / "data" / "steam-reviews" / "steam_reviews.csv"


def steam_rows(path: Path = STEAM) -> tuple[list[str], list[int], list[int]]:
    """Every review's text, and the row numbers (into that list) of the Recommended and the Not
    Recommended reviews with non-empty text, in file order."""
    texts: list[str] = []
    recommended: list[int] = []
    not_recommended: list[int] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            texts.append(row["ReviewText"])
            if not row["ReviewText"].strip():
                continue
            if row["Review"] == "Recommended":
                recommended.append(len(texts) - 1)
            elif row["Review"] == "Not Recommended":
                not_recommended.append(len(texts) - 1)
    return texts, recommended, not_recommended


def steam_draw(path: Path = STEAM, per_class: int = 1000) -> tuple[list[int], list[int]]:
    """The rows of the balanced Steam draw of shared/data/README.md (Recommended, then Not)."""
    _, recommended, not_recommended = steam_rows(path)
    r = random.Random(7)  # sampling row numbers picks the same positions as sampling texts
    return r.sample(recommended, per_class), r.sample(not_recommended, per_class)


def steam_sample(path: Path = STEAM, per_class: int = 1000) -> tuple[list[str], np.ndarray]:
    """The balanced Steam draw of shared/data/README.md: texts and labels (1 = Recommended)."""
    texts = steam_rows(path)[0]
    positives, negatives = steam_draw(path, per_class)
    labels = np.array([1] * per_class + [0] * per_class, dtype=np.int32)
    return [texts[i] for i in positives + negatives], labels


def steam_unlabelled(path: Path = STEAM, per_class: int = 1000) -> list[str]:
    """The site's unlabelled review text: every Steam review with text outside the evaluation
    draw, without its label. Reviews whose text is exactly that of a drawn review ("Good game")
    are left out too, so no evaluation text is ever seen in training, even unlabelled."""
    texts, recommended, not_recommended = steam_rows(path)
    positives, negatives = steam_draw(path, per_class)
    drawn = set(positives + negatives)
    drawn_texts = {texts[i] for i in drawn}
    return [
        texts[i]
        for i in sorted(recommended + not_recommended)
        if i not in drawn and texts[i] not in drawn_texts
    ]


def bag_of_words(train: list[str], test: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Binary unigram + bigram counts over a vocabulary of terms seen twice in training."""

    def terms(text: str) -> list[str]:
        words = re.findall(r"[a-z0-9']+", text.lower())
        return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]

    counts = Counter(t for text in train for t in set(terms(text)))
    vocabulary = {t: i for i, t in enumerate(sorted(t for t, c in counts.items() if c >= 2))}

    def encode(texts: list[str]) -> np.ndarray:
        matrix = np.zeros((len(texts), len(vocabulary)), dtype=np.float64)
        for row, text in enumerate(texts):
            for term in terms(text):
                if term in vocabulary:
                    matrix[row, vocabulary[term]] = 1.0
        return matrix

    return encode(train), encode(test)


def naive_bayes(x_train: np.ndarray, y: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """Multinomial naive Bayes with add-one smoothing; returns P(positive)."""
    log_likelihood = []
    for value in (0, 1):
        counts = x_train[y == value].sum(axis=0) + 1.0
        log_likelihood.append(np.log(counts / counts.sum()))
    prior = np.log(np.array([np.mean(y == 0), np.mean(y == 1)]))
    joint = x_test @ np.stack(log_likelihood, axis=1) + prior
    joint -= joint.max(axis=1, keepdims=True)
    return np.exp(joint[:, 1]) / np.exp(joint).sum(axis=1)


def logistic_regression(
    x_train: np.ndarray, y: np.ndarray, x_test: np.ndarray, l2: float = 1e-3, steps: int = 400
) -> np.ndarray:
    """Full-batch gradient descent (Adam) on the L2-regularised log loss; returns P(positive)."""
    w = np.zeros(x_train.shape[1])
    b = 0.0
    m_w, v_w, m_b, v_b = np.zeros_like(w), np.zeros_like(w), 0.0, 0.0
    lr, beta1, beta2 = 0.05, 0.9, 0.999
    for step in range(1, steps + 1):
        p = 1 / (1 + np.exp(-(x_train @ w + b)))
        grad_w = x_train.T @ (p - y) / len(y) + l2 * w
        grad_b = float(np.mean(p - y))
        m_w = beta1 * m_w + (1 - beta1) * grad_w
        v_w = beta2 * v_w + (1 - beta2) * grad_w**2
        m_b = beta1 * m_b + (1 - beta1) * grad_b
        v_b = beta2 * v_b + (1 - beta2) * grad_b**2
        correction = np.sqrt(1 - beta2**step) / (1 - beta1**step)
        w -= lr * correction * m_w / (np.sqrt(v_w) + 1e-8)
        b -= lr * correction * m_b / (np.sqrt(v_b) + 1e-8)
    return 1 / (1 + np.exp(-(x_test @ w + b)))


def other_site_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """binary_metrics plus the share called positive (0.5 on the balanced sample if unbiased)."""
    return {
        **binary_metrics(labels, probabilities),
        "called_positive": float(np.mean(np.asarray(probabilities) >= 0.5)),
    }


def labelled_sentences() -> tuple[list[str], np.ndarray]:
    """The yelp + amazon sentences and their labels, in file order."""
    texts: list[str] = []
    parts = []
    for name in FILES:
        t, y = read_labelled(DATA / name)
        texts += t
        parts.append(y)
    return texts, np.concatenate(parts)


def split(n: int, labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    test = []
    for value in (0, 1):
        members = rng.permutation(np.flatnonzero(labels == value))
        test.append(members[: len(members) // 5])
    test_at = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(n), test_at), test_at


def run(
    seed: int,
    hyper: dict[str, object],
    steam: tuple[list[str], np.ndarray] | None,
    unlabelled: list[str],
) -> dict[str, dict[str, float]]:
    texts, labels = labelled_sentences()
    train_at, test_at = split(len(texts), labels, seed)
    train_texts = [texts[i] for i in train_at]
    test_texts = [texts[i] for i in test_at]
    y_train, y_test = labels[train_at], labels[test_at]

    # test texts first, then (if measured) the Steam sample: one vocabulary, one fit
    other = steam[0] if steam else []
    results: dict[str, dict[str, float]] = {}
    x_train, x_all = bag_of_words(train_texts, test_texts + other)
    x_test, x_steam = x_all[: len(test_texts)], x_all[len(test_texts) :]
    baselines = {
        "naive_bayes": lambda x: naive_bayes(x_train, y_train, x),
        "logistic_regression": lambda x: logistic_regression(x_train, y_train.astype(float), x),
    }
    for name, fitted in baselines.items():
        results[name] = binary_metrics(y_test, fitted(x_test))
        if steam:
            results[f"{name} @steam"] = other_site_metrics(steam[1], fitted(x_steam))
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        trained = train_sentiment(
            train_texts, y_train, Path(tmp) / "model", unlabelled=unlabelled, seed=seed, **hyper
        )
        seconds = time.perf_counter() - started
        model = load_sentiment(Path(tmp) / "model")
        results["bilstm+bags"] = binary_metrics(y_test, model.predict(test_texts))
        results["bilstm+bags"]["train_seconds"] = seconds
        for key in ("temperature", "lexicon_positive", "lexicon_negative"):
            results["bilstm+bags"][key] = trained[key]
        # the model's own validation split (part of the training 80%): what choices are made on
        results["bilstm+bags"]["valid_accuracy"] = trained["accuracy"]
        results["bilstm+bags"]["valid_log_loss"] = trained["log_loss"]
        for key, value in trained.items():  # the branches' epochs
            if key.endswith("_epochs"):
                results["bilstm+bags"][key] = value
        if steam:
            results["bilstm+bags @steam"] = other_site_metrics(steam[1], model.predict(steam[0]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--splits", type=int, default=1, help="repeat on this many seeds")
    parser.add_argument("--set", nargs="*", default=[], help="hyperparameter overrides k=v")
    parser.add_argument(
        "--no-steam", action="store_true", help="skip the balanced Steam sample (other site)"
    )
    parser.add_argument(
        "--no-unlabelled",
        action="store_true",
        help="train without the unlabelled Steam reviews outside the draw",
    )
    args = parser.parse_args()
    hyper = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    steam = None if args.no_steam else steam_sample()
    unlabelled = [] if args.no_unlabelled else steam_unlabelled()
    print(f"unlabelled site text: {len(unlabelled)} Steam reviews outside the evaluation draw")

    runs = []
    for seed in range(args.seed, args.seed + args.splits):
        results = run(seed, hyper, steam, unlabelled)
        runs.append(results)
        print(f"split seed {seed} (1600 train / 400 test):")
        for name, figures in results.items():
            print(f"  {name:20s} " + "  ".join(f"{k} {v:.3f}" for k, v in figures.items()))
        best = max(results["naive_bayes"]["accuracy"], results["logistic_regression"]["accuracy"])
        margin = results["bilstm+bags"]["accuracy"] - best
        print(f"  bilstm+bags - best baseline accuracy: {margin:+.3f}")
        if steam:
            margin = (
                results["bilstm+bags @steam"]["accuracy"]
                - results["naive_bayes @steam"]["accuracy"]
            )
            print(f"  steam: bilstm+bags - naive bayes accuracy: {margin:+.3f} (target +0.050)")
    if len(runs) > 1:
        print(f"mean over {len(runs)} splits:")
        for name in runs[0]:
            mean = {k: np.mean([r[name][k] for r in runs]) for k in runs[0][name]}
            print(f"  {name:20s} " + "  ".join(f"{k} {v:.3f}" for k, v in mean.items()))


if __name__ == "__main__":
    main()
