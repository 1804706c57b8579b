"""Artwork CNN on real film posters, against a colour histogram.

    .venv/bin/python bench/ml_posters.py [--data DIR] [--seed 0] [--set k=v ...]
                                         [--histogram-only] [--model DIR]

The protocol of the data README (DIR/README.md, default ../shared/data from the repository):
the 4,069 posters of DIR/movielens-posters (posters.csv: file,movieId,imdbId,label =
Comedy/Drama), shuffled with `random.Random(7).shuffle` in file order, the first 80% for
training and the rest as queries. Each query's 10 nearest training posters by cosine give

- accuracy: the query's Comedy/Drama label is the neighbours' majority (Drama only with more
  than 5 of 10);
- overlap: the share of the neighbours sharing at least one MovieLens genre with the query
  (genres from DIR/movielens-latest-small/movies.csv).

The colour histogram is 4x4x4 bins of RGB of each poster resized to 48x48 (bilinear). The
CNN is trained through ml.artwork's normal API: the images folder is the whole poster folder
(every poster, unlabelled, for the self-supervised part) and labels.csv lists only the
training films with all their MovieLens genres; the Comedy/Drama labels of the queries are
never seen. Prints both figures for both embeddings, the CNN's deltas to the histogram, the
majority class and the expected overlap of random neighbours, and the training time. The CNN
embedding is the model's as served (the network's blocks and the descriptors' genre head,
ml.artwork); the network's blocks alone, mixed the same way, are printed beside it.

With --model DIR the trained model is kept in DIR; when DIR already holds one (trained by this
script on the same split), it is evaluated as it is, without training.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml.artwork import Mixer, load_artwork, load_images, train_artwork  # noqa: E402

NEIGHBOURS = 10
SPLIT_SEED = 7
TRAIN_FRACTION = 0.8
HISTOGRAM_SIZE = 48


@dataclass
class Posters:
    folder: Path
    files: list[str]
    drama: np.ndarray  # bool per poster: the Comedy/Drama label is Drama
    genres: list[set[str]]  # MovieLens genres per poster
    train: np.ndarray
    test: np.ndarray


def load_posters(data: Path) -> Posters:
    folder = data / "movielens-posters" / "posters"
    listing = data / "movielens-posters" / "posters.csv"
    movies = data / "movielens-latest-small" / "movies.csv"
    for needed in (folder, listing, movies):
        if not needed.exists():
            raise SystemExit(
                f"error: {needed} not found: --data must be the development data folder "
                f"(with movielens-posters/ and movielens-latest-small/), got {data}"
            )
    with movies.open(newline="", encoding="utf-8") as handle:
        genres_of = {
            row["movieId"]: {g for g in row["genres"].split("|") if g != "(no genres listed)"}
            for row in csv.DictReader(handle)
        }
    with listing.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    order = list(range(len(rows)))
    random.Random(SPLIT_SEED).shuffle(order)
    cut = int(TRAIN_FRACTION * len(rows))
    return Posters(
        folder,
        [row["file"] for row in rows],
        np.array([row["label"] == "Drama" for row in rows]),
        [genres_of.get(row["movieId"], set()) for row in rows],
        np.array(order[:cut]),
        np.array(order[cut:]),
    )


def colour_histograms(images: np.ndarray) -> np.ndarray:
    """4x4x4 RGB histograms of uint8 images, each summing to 1."""
    bins = images.astype(np.int64) // 64
    index = (bins[..., 0] * 16 + bins[..., 1] * 4 + bins[..., 2]).reshape(len(images), -1)
    counts = np.stack([np.bincount(row, minlength=64) for row in index]).astype(np.float64)
    return counts / counts.sum(axis=1, keepdims=True)


def neighbour_figures(
    test_vectors: np.ndarray, train_vectors: np.ndarray, posters: Posters
) -> dict[str, float]:
    """10-NN (cosine) Comedy/Drama accuracy and genre overlap of the test posters."""
    query = test_vectors / np.linalg.norm(test_vectors, axis=1, keepdims=True)
    base = train_vectors / np.linalg.norm(train_vectors, axis=1, keepdims=True)
    nearest = np.argsort(-(query @ base.T), axis=1, kind="stable")[:, :NEIGHBOURS]
    votes = posters.drama[posters.train][nearest].mean(axis=1)
    accuracy = float(np.mean((votes > 0.5) == posters.drama[posters.test]))
    shared = [
        [bool(posters.genres[q] & posters.genres[posters.train[n]]) for n in row]
        for q, row in zip(posters.test, nearest, strict=True)
    ]
    return {"accuracy": accuracy, "overlap": float(np.mean(shared))}


def chance_figures(posters: Posters) -> dict[str, float]:
    """The majority class's share (of all posters, and of the queries), and the expected
    overlap of random training neighbours."""
    drama, test_drama = posters.drama.mean(), posters.drama[posters.test].mean()
    overlap = [
        np.mean([bool(posters.genres[q] & posters.genres[t]) for t in posters.train])
        for q in posters.test
    ]
    return {
        "majority": float(max(drama, 1 - drama)),
        "accuracy": float(max(test_drama, 1 - test_drama)),
        "overlap": float(np.mean(overlap)),
    }


def figures(
    first: dict[str, float],
    second: dict[str, float] | None = None,
    combine: Callable[[float, float], float] = lambda a, b: a,
    spec: str = ".3f",
) -> list[str]:
    """Accuracy and overlap formatted for a table row, optionally combined with a second."""
    other = second or first
    return [format(combine(first[k], other[k]), spec) for k in ("accuracy", "overlap")]


def train_cnn(
    posters: Posters, seed: int, hyper: dict[str, Any], work: Path, out: Path
) -> tuple[dict[str, float], float, Any]:
    labels = work / "labels.csv"
    with labels.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "genres"])
        for i in posters.train:
            writer.writerow([posters.files[i], "|".join(sorted(posters.genres[i]))])
    started = time.perf_counter()
    metrics = train_artwork(posters.folder, labels, out, seed=seed, **hyper)
    seconds = time.perf_counter() - started
    return metrics, seconds, load_artwork(out)


def network_alone(model: Any, posters: Posters) -> dict[str, float]:
    """The figures of the model's embedding without the descriptors' genre head: its network's
    three blocks mixed as the model mixes them, on the same training posters."""
    weights = {k: v for k, v in model.meta.get("embedding_mix", {}).items() if k != "descriptors"}
    mixer = Mixer(model.network, weights)
    looks = mixer.read(load_images([posters.folder / f for f in posters.files], model.image_size))
    _, vectors = mixer.infer(looks, mixer.fit(looks[posters.train]))
    return neighbour_figures(vectors[posters.test], vectors[posters.train], posters)


def add_data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", type=Path, default=ROOT.parent / "shared" / "data",
        help="development data folder (default: ../shared/data from the repository)",
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_argument(parser)
    parser.add_argument("--seed", type=int, default=0, help="the CNN's training seed")
    parser.add_argument("--set", nargs="*", default=[], help="hyperparameter overrides k=v")
    parser.add_argument("--histogram-only", action="store_true", help="skip the CNN")
    parser.add_argument(
        "--model", type=Path,
        help="model directory: evaluate it if it holds a model (no training, --seed and --set "
        "ignored), else train into it and keep it",
    )  # fmt: skip
    args = parser.parse_args()
    hyper = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}

    posters = load_posters(args.data)
    print(
        f"{len(posters.files)} posters: {len(posters.train)} training, {len(posters.test)} "
        f"queries (split seed {SPLIT_SEED}), {NEIGHBOURS} nearest neighbours by cosine"
    )
    chance = chance_figures(posters)
    images = load_images([posters.folder / f for f in posters.files], HISTOGRAM_SIZE)
    histograms = colour_histograms(images)
    histogram = neighbour_figures(histograms[posters.test], histograms[posters.train], posters)
    print(
        f"majority class: {chance['majority']:.3f} of all posters, {chance['accuracy']:.3f} of "
        f"the queries; random neighbours' expected overlap {chance['overlap']:.3f}"
    )
    row = "{:28s} {:>9s} {:>9s}"
    print(row.format("", "accuracy", "overlap"))
    print(row.format("chance (majority / random)", *figures(chance)))
    print(row.format("colour histogram 4x4x4", *figures(histogram)))
    if args.histogram_only:
        return

    trained = args.model is None or not (args.model / "meta.json").exists()
    with tempfile.TemporaryDirectory() as tmp:
        if trained:
            out = args.model if args.model is not None else Path(tmp) / "model"
            metrics, seconds, model = train_cnn(posters, args.seed, hyper, Path(tmp), out)
        else:
            model = load_artwork(args.model)
            expected = [posters.files[i] for i in posters.train]
            if list(model.meta["file_ids"]) != expected:
                raise SystemExit(
                    f"error: {args.model} was not trained on this split's training posters"
                )
            metrics, seconds = model.meta["metrics"], float("nan")
        # The model's own embeddings.npy covers labels.csv (the training films) in its order.
        train_vectors = model.embeddings
        test_vectors = model.embed([posters.folder / posters.files[i] for i in posters.test])
    cnn = neighbour_figures(test_vectors, train_vectors, posters)
    alone = network_alone(model, posters)
    print(row.format("the network's blocks alone", *figures(alone)))
    print(row.format("CNN embedding", *figures(cnn)))
    print(row.format("CNN - histogram", *figures(cnn, histogram, lambda a, b: a - b, "+.3f")))
    print(row.format("CNN / histogram", *figures(cnn, histogram, lambda a, b: a / b)))
    when = (
        f"trained in {seconds:.1f} s on {os.cpu_count()} cores"
        if trained
        else f"the model in {args.model}, trained earlier"
    )
    print(
        f"{when} "
        f"({metrics.get('pretraining_epochs', 0):.0f} pre-training epochs on "
        f"{metrics.get('unlabelled_images', 0):.0f} images, {metrics['epochs_trained']:.0f} "
        f"epochs on genres; hyperparameters {json.dumps(model.meta['hyperparameters'])})"
    )
    print(
        f"held-out genre metrics of the training run "
        f"({model.meta['hyperparameters']['validation_fraction']:.0%} of the training films): "
        + ", ".join(f"{k} {v:.3f}" for k, v in metrics.items() if "f1" in k or "neighbour" in k)
    )


if __name__ == "__main__":
    main()
