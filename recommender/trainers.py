"""How each model kind is trained from a snapshot directory: the bridge to ml/'s trainers.

Runs only in `gpu` workers (TensorFlow is imported inside each function, never by web code).
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ml.progress import Progress

from .snapshot import REVIEWS


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
    """Reviews with star ratings are weak labels: >= 4 positive, <= 2 negative."""
    from ml.sentiment import LabelledDataError, read_labelled, train_sentiment

    with tempfile.TemporaryDirectory() as tmp:
        labelled = Path(tmp) / "labelled.csv"
        with (
            (snapshot / REVIEWS).open(newline="", encoding="utf-8") as src,
            labelled.open("w", newline="", encoding="utf-8") as dst,
        ):
            writer = csv.writer(dst)
            writer.writerow(["text", "rating"])
            writer.writerows(
                [row["text"], row["rating"]] for row in csv.DictReader(src) if row["rating"]
            )
        try:
            texts, labels = read_labelled(labelled)
        except LabelledDataError:  # no rated review gives a label
            texts, labels = [], np.zeros(0)
    positives = int(sum(labels))
    if positives < 5 or len(labels) - positives < 5:
        raise NotEnoughData(
            f"sentiment needs at least 5 positive and 5 negative rated reviews; "
            f"the snapshot has {positives} and {len(labels) - positives}"
        )
    metrics = train_sentiment(texts, labels, out_dir, seed=seed, progress=progress)
    return TrainResult(metrics, _hyperparameters(out_dir))


TRAINERS: dict[str, Callable[[Path, Path, int, Progress], TrainResult]] = {
    "sentiment": train_sentiment,
}
