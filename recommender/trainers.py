"""How each model kind is trained from a snapshot directory: the bridge to ml/'s trainers.

Runs only in `gpu` workers (TensorFlow is imported inside each function, never by web code).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ml.progress import Progress

from .snapshot import ARTWORK_DIR, ARTWORK_LABELS, DISMISSALS, INTERACTIONS, ITEMS, REVIEWS


class NotEnoughData(Exception):
    """The snapshot cannot train this model (too few people, reviews or images)."""


@dataclass(frozen=True)
class TrainResult:
    metrics: dict[str, float]
    hyperparameters: dict[str, Any] = field(default_factory=dict)


def _hyperparameters(out_dir: Path) -> dict[str, Any]:
    meta = json.loads((out_dir / "meta.json").read_text())
    return dict(meta.get("hyperparameters", {}))


def train_sentiment(snapshot: Path, out_dir: Path, seed: int, progress: Progress) -> TrainResult:
    """Reviews with star ratings are weak labels: >= 4 positive, <= 2 negative.

    The snapshot's reviews.csv is read by ml's one CSV reader: a malformed file is an error
    of its own, never reported as too little data.
    """
    from ml.data import read_reviews
    from ml.sentiment import train_sentiment, weak_label

    texts: list[str] = []
    labels: list[int] = []
    # The rest of the text (reviews without stars, or with 3) is unlabelled: it pre-trains the
    # word vectors on how this site's people write (the snapshot holds only the reviews of
    # people who let their text train the models).
    unlabelled: list[str] = []
    for review in read_reviews(snapshot / REVIEWS):
        label = None if review.rating is None else weak_label(review.rating)
        if label is not None:
            texts.append(review.text)
            labels.append(label)
        elif review.text.strip():
            unlabelled.append(review.text)
    positives = sum(labels)
    if positives < 5 or len(labels) - positives < 5:
        # No counts: staff read this error, and a count of a few reviews is a count of people.
        raise NotEnoughData(
            "sentiment needs at least 5 positive and 5 negative rated reviews from people who "
            "let their review text train it; the snapshot has fewer"
        )
    metrics = train_sentiment(
        texts,
        np.asarray(labels, dtype=np.int32),
        out_dir,
        seed=seed,
        progress=progress,
        unlabelled=unlabelled,
    )
    return TrainResult(metrics, _hyperparameters(out_dir))


def train_sequence(snapshot: Path, out_dir: Path, seed: int, progress: Progress) -> TrainResult:
    """The GRU with the hybrid's blend (popularity, item-kNN, Markov, review feedback) tuned on it.

    The text and artwork models are trained by their own runs; serving joins the active
    versions of all three (refresh.model_bundle).
    """
    from ml.data import DataError, read_interactions, read_reviews
    from ml.hybrid import train as train_hybrid

    try:
        interactions = read_interactions(snapshot / INTERACTIONS)
        reviews = read_reviews(snapshot / REVIEWS)
        # "Not for me" marks: negative feedback as the most negative review, after the
        # person's reviews (so they win for the same item); older snapshots have none.
        if (snapshot / DISMISSALS).exists():
            reviews += read_reviews(snapshot / DISMISSALS)
    except DataError as exc:
        raise NotEnoughData(str(exc)) from None
    people = {row.user for row in interactions}
    if len(people) < 3:
        raise NotEnoughData(
            "the sequence model needs at least 3 people's history; the snapshot has fewer"
        )
    # The catalogue's titles, genres and years (snapshots before them have none).
    items = snapshot / ITEMS if (snapshot / ITEMS).exists() else None
    result = train_hybrid(
        interactions, out_dir, reviews=reviews, seed=seed, progress=progress, text_model=False,
        items_csv=items,
    )  # fmt: skip
    metrics = {
        "ndcg@10": result["hybrid"]["ndcg@10"],
        **{f"gru_{name}": value for name, value in result["sequence"].items()},
    }
    return TrainResult(metrics, _hyperparameters(out_dir / "sequence"))


def train_artwork(snapshot: Path, out_dir: Path, seed: int, progress: Progress) -> TrainResult:
    from ml.artwork import ArtworkDataError, train_artwork

    labels = snapshot / ARTWORK_LABELS
    with labels.open(encoding="utf-8") as handle:
        images = sum(1 for _ in handle) - 1
    if images < 10:
        raise NotEnoughData(
            f"the artwork model needs at least 10 images; the catalogue has {images}"
        )
    try:
        metrics = train_artwork(
            snapshot / ARTWORK_DIR, labels, out_dir, seed=seed, progress=progress
        )
    except ArtworkDataError as exc:
        raise NotEnoughData(str(exc)) from None
    return TrainResult(metrics, _hyperparameters(out_dir))


TRAINERS: dict[str, Callable[[Path, Path, int, Progress], TrainResult]] = {
    "sequence": train_sequence,
    "sentiment": train_sentiment,
    "artwork": train_artwork,
}
