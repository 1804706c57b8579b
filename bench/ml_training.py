"""Each model's training time on the Keras backend in use, on the real data: how long a `gpu`
worker takes, on a GPU node (KERAS_BACKEND=jax) or on these CPUs (TensorFlow).

    .venv/bin/python bench/ml_training.py [--data DIR] [--models gru,cnn,sentiment] [--seed 0]
        [--save-sentiment-inputs FILE | --sentiment-inputs FILE]

- gru: ml.sequence on ml-latest-small, bench/ml_sequence.py's protocol (5-core, leave one out
  by time); the figure is the test NDCG@10.
- cnn: ml.artwork on the posters, bench/ml_posters.py's protocol (80/20 split, all posters
  in the images folder); the figures are the 10-NN Comedy/Drama accuracy and overlap.
- sentiment: ml.sentiment on the yelp + amazon sentences, bench/ml_sentiment.py's first split
  (with the unlabelled Steam text, both read where that script reads them, not from --data);
  the figure is the networks' accuracy on their own validation pieces.

Each model is trained with its defaults; each time includes reading the data (the posters'
decoding too), since a worker does that as well. The first training on JAX compiles its steps:
that is part of every run's time, since each worker child trains once.

Text reaches the sentiment networks through TensorFlow's TextVectorization, which stays on the
CPU (GPU workers keep tensorflow-cpu). Where TensorFlow is not installed (the GPU machine lent
to developers has only JAX), `--sentiment-inputs FILE` fits the networks on inputs vectorised
elsewhere by `--save-sentiment-inputs FILE`, and times the fit alone; the vectorisation's own
time is printed when the inputs are saved.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ml_posters import add_data_argument, load_posters, neighbour_figures, train_cnn  # noqa: E402
from bench.ml_sentiment import labelled_sentences, split, steam_unlabelled  # noqa: E402
from ml.data import read_movielens  # noqa: E402
from ml.evaluation import evaluate, five_core, leave_one_out  # noqa: E402
from ml.sentiment import DEFAULTS, NetworkInputs, fit_networks, site_texts, vectorise  # noqa: E402

MODELS = ("gru", "cnn", "sentiment")


def device() -> str:
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return f"jax {jax.__version__} on {', '.join(d.device_kind for d in jax.devices())}"
    return f"{backend} on {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()})"


def train_gru(data: Path, seed: int) -> tuple[float, str]:
    from ml import sequence
    from ml.serving import SequenceServer

    started = time.perf_counter()
    interactions = five_core(read_movielens(data / "movielens-latest-small" / "ratings.csv"))
    split = leave_one_out(interactions, seed=seed)
    model, summary = sequence.fit(split.train, split.valid, seed=seed)
    seconds = time.perf_counter() - started
    hp = summary["hyperparameters"]
    server = SequenceServer(sequence.export_arrays(model), split.train.items, hp["max_len"])
    histories, targets = split.testing()
    result = evaluate(server, histories, targets, split.train.n_items)
    epochs = f"best epoch {summary['best_epoch']}/{summary['epochs_run']}"
    return seconds, f"test NDCG@10 {result['ndcg@10']:.4f} ({epochs})"


def train_posters(data: Path, seed: int) -> tuple[float, str]:
    started = time.perf_counter()
    posters = load_posters(data)
    with tempfile.TemporaryDirectory() as tmp:
        metrics, _, model = train_cnn(posters, seed, {}, Path(tmp), Path(tmp) / "model")
        seconds = time.perf_counter() - started
        test_vectors = model.embed([posters.folder / posters.files[i] for i in posters.test])
    found = neighbour_figures(test_vectors, model.embeddings, posters)
    return seconds, (
        f"10-NN accuracy {found['accuracy']:.3f}, overlap {found['overlap']:.3f} "
        f"({metrics['epochs_trained']:.0f} epochs on genres)"
    )


def sentiment_inputs(seed: int) -> tuple[NetworkInputs, dict[str, Any]]:
    """Vectorise bench/ml_sentiment.py's first split as train_sentiment does (needs TF)."""
    import keras

    texts, labels = labelled_sentences()
    train_at, _ = split(len(texts), labels, seed)
    keras.utils.set_random_seed(seed)
    hp = dict(DEFAULTS)
    _, inputs, _ = vectorise(
        [texts[i] for i in train_at], labels[train_at], site_texts(steam_unlabelled()), hp, seed,
        lambda fraction, stage: None,
    )  # fmt: skip
    return inputs, hp


def save_inputs(path: Path, inputs: NetworkInputs, hp: dict[str, Any]) -> None:
    arrays = {f"x_train.{k}": v for k, v in inputs.x_train.items()}
    arrays |= {f"x_valid.{k}": v for k, v in inputs.x_valid.items()}
    arrays |= {k: getattr(inputs, k) for k in ("y_train", "w_train", "y_valid", "w_valid")}
    if inputs.embedding is not None:
        arrays["embedding"] = inputs.embedding
    meta = json.dumps({"sizes": inputs.sizes, "hp": hp})
    np.savez_compressed(path, meta=np.array(meta), **arrays)


def load_inputs(path: Path) -> tuple[NetworkInputs, dict[str, Any]]:
    with np.load(path) as saved:
        arrays = {k: saved[k] for k in saved.files}
    meta = json.loads(str(arrays.pop("meta")))

    def part(prefix: str) -> dict[str, np.ndarray]:
        return {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith(prefix)}

    inputs = NetworkInputs(
        part("x_train."), arrays["y_train"], arrays["w_train"],
        part("x_valid."), arrays["y_valid"], arrays["w_valid"],
        meta["sizes"], arrays.get("embedding"),
    )  # fmt: skip
    return inputs, meta["hp"]


def fit_sentiment(inputs: NetworkInputs, hp: dict[str, Any], seed: int) -> tuple[float, str]:
    import keras

    keras.utils.set_random_seed(seed)
    started = time.perf_counter()
    model, metrics = fit_networks(inputs, hp)
    seconds = time.perf_counter() - started
    logits = np.asarray(model.predict(inputs.x_valid, verbose=0))[:, 0]
    accuracy = float(np.average((logits > 0) == (inputs.y_valid > 0), weights=inputs.w_valid))
    epochs = ", ".join(f"{k} {v:.0f}" for k, v in metrics.items())
    return seconds, f"validation accuracy {accuracy:.3f} ({epochs})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_data_argument(parser)
    parser.add_argument(
        "--models", default=",".join(MODELS), help="comma-separated, of " + ", ".join(MODELS)
    )
    parser.add_argument("--seed", type=int, default=0)
    inputs_file = parser.add_mutually_exclusive_group()
    inputs_file.add_argument("--save-sentiment-inputs", type=Path, metavar="FILE")
    inputs_file.add_argument("--sentiment-inputs", type=Path, metavar="FILE")
    args = parser.parse_args()
    chosen = args.models.split(",")
    unknown = set(chosen) - set(MODELS)
    if unknown:
        parser.error(f"unknown models {sorted(unknown)}: choose from {', '.join(MODELS)}")

    print(f"backend: {device()}", flush=True)
    for name in chosen:
        if name == "gru":
            seconds, figure = train_gru(args.data, args.seed)
        elif name == "cnn":
            seconds, figure = train_posters(args.data, args.seed)
        elif args.sentiment_inputs:
            inputs, hp = load_inputs(args.sentiment_inputs)
            seconds, figure = fit_sentiment(inputs, hp, args.seed)
            name = "sentiment (networks' fit on saved inputs)"
        else:
            started = time.perf_counter()
            inputs, hp = sentiment_inputs(args.seed)
            vectorised = time.perf_counter() - started
            print(f"sentiment: reading, vectorising, pre-training word vectors {vectorised:.1f} s")
            if args.save_sentiment_inputs:
                save_inputs(args.save_sentiment_inputs, inputs, hp)
            seconds, figure = fit_sentiment(inputs, hp, args.seed)
            print(f"sentiment (networks' fit) {seconds:.1f} s")
            seconds += vectorised
        print(f"{name}: trained in {seconds:.1f} s; {figure}", flush=True)


if __name__ == "__main__":
    main()
