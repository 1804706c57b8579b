"""The three models train, save and load unchanged on Keras's JAX backend (what GPU workers run,
`KERAS_BACKEND=jax`), and what they save serves elsewhere as a TensorFlow-trained model does:
the GRU's arrays in NumPy (ml.serving), the sentiment and artwork models on the default
TensorFlow backend (the `cpu` workers score reviews with it), with the same outputs.

One child process trains all three (imports and JAX's compilation are most of the cost), one
epoch on a few people, reviews and tiny images; batch sizes cover each set in one batch, so
each step compiles once. Run as `python -m tests.ml.test_jax_backend OUT` it is that child.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("jax") is None,
        reason="jax is not installed: `pip install -e .[dev]` installs the CPU build",
    ),
]

HISTORIES = [["i1", "i2", "i3"], ["i0"], ["i4", "i5", "i6", "i7", "i8", "i9", "i0"]]
PROBES = ["a splendid film", "a dreadful game", "not splendid at all"]
COLOURS = {"red": (220, 30, 30), "blue": (40, 60, 230)}


def write_images(folder: Path, per_genre: int = 10, size: int = 16) -> Path:
    """Grey noise with a square of the genre's colour; returns labels.csv."""
    from PIL import Image

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    rows = []
    for genre, colour in COLOURS.items():
        for i in range(per_genre):
            pixels = rng.integers(60, 160, (size, size, 3)).astype(np.uint8)
            x, y = rng.integers(0, size - 6, 2)
            pixels[y : y + 6, x : x + 6] = colour
            Image.fromarray(pixels, "RGB").save(folder / f"{genre}-{i}.png")
            rows.append((f"{genre}-{i}.png", genre))
    labels = folder / "labels.csv"
    with labels.open("w", newline="") as handle:
        csv.writer(handle).writerows([("file", "genres"), *rows])
    return labels


def train_all(out: Path) -> None:
    """The child: train, save, load and predict with each model; results to out/results.json."""
    import keras

    from ml.artwork import load_artwork, train_artwork
    from ml.data import Interaction
    from ml.sentiment import load_sentiment, train_sentiment
    from ml.sequence import load_sequence, train_sequence

    results: dict[str, object] = {"backend": keras.backend.backend()}

    # 12 people, 6 steps each through a cycle of 10 items: one window per person, one batch.
    rows = [
        Interaction(f"u{u}", f"i{(u + step) % 10}", float(step))
        for u in range(12)
        for step in range(6)
    ]
    tiny = {"dim": 8, "hidden": 8, "max_len": 5, "batch_size": 16, "epochs": 1}
    results["sequence"] = train_sequence(rows, out / "sequence", seed=1, **tiny)
    # The sampled softmax takes the dict inputs (take, einsum, where): its own code path.
    results["sampled"] = train_sequence(
        rows, out / "sampled", seed=1, loss="sampled", negatives=4, **tiny
    )
    model = load_sequence(out / "sequence")
    index = {item: i for i, item in enumerate(model.items)}
    np.save(out / "keras_scores.npy", model.scores([[index[i] for i in h] for h in HISTORIES]))

    # 44 reviews: 4 held out for validation, 40 trained in one batch.
    texts = [
        f"this {'film' if i % 3 else 'game'} was {'splendid' if i % 2 else 'dreadful'} really"
        for i in range(44)
    ]
    results["sentiment"] = train_sentiment(
        texts, np.arange(44) % 2, out / "sentiment", seed=1, epochs=1, batch_size=40,
        embedding_dim=8, lstm_units=4, sequence_length=8,
    )  # fmt: skip
    results["sentiment_probabilities"] = load_sentiment(out / "sentiment").predict(PROBES).tolist()

    # 20 images: 4 held out, 16 trained in one batch.
    labels = write_images(out / "images")
    results["artwork"] = train_artwork(
        out / "images", labels, out / "artwork", seed=1, epochs=1, batch_size=16,
        image_size=16, filters=[4, 8],
    )  # fmt: skip
    artwork = load_artwork(out / "artwork")
    results["artwork_xla"] = bool(artwork._model.jit_compile)
    np.save(out / "artwork_embeddings.npy", artwork.embed(sorted((out / "images").glob("*.png"))))

    (out / "results.json").write_text(json.dumps(results))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("jax")
    # On CPU even where a GPU is visible: the checks compare outputs to 1e-5, and JAX's float32
    # matrix products on recent GPUs use TF32 by default.
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, "-m", "tests.ml.test_jax_backend", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return out, json.loads((out / "results.json").read_text())


def trained_on(model_dir: Path) -> str:
    return json.loads((model_dir / "meta.json").read_text())["libraries"]["keras_backend"]


def test_the_child_ran_on_jax(trained):
    out, results = trained
    assert results["backend"] == "jax"
    for name in ("sequence", "sampled", "sentiment", "artwork"):
        assert trained_on(out / name) == "jax"


def test_sequence_model_trains_on_jax_and_serves_in_numpy(trained):
    from ml.sequence import load_sequence
    from ml.serving import SequenceServer

    out, results = trained
    for name in ("sequence", "sampled"):
        assert 0.0 <= results[name]["ndcg@10"] <= 1.0
        log = json.loads((out / name / "meta.json").read_text())["training"]["log"]
        assert len(log) == 1 and math.isfinite(log[0]["loss"])
    # NumPy serving reads the JAX-trained arrays as it reads TensorFlow-trained ones...
    server = SequenceServer.load(out / "sequence")
    keras_scores = np.load(out / "keras_scores.npy")
    index = {item: i for i, item in enumerate(server.items)}
    histories = [[index[i] for i in h] for h in HISTORIES]
    np.testing.assert_allclose(server.scores(histories), keras_scores, atol=1e-5, rtol=1e-5)
    assert server.recommend(HISTORIES[0], k=3)
    # ...and the saved Keras model loads on this process's backend with the same scores.
    np.testing.assert_allclose(
        load_sequence(out / "sequence").scores(histories), keras_scores, atol=1e-5, rtol=1e-5
    )


def test_sentiment_model_trains_on_jax_and_loads_on_the_default_backend(trained):
    from ml.sentiment import load_sentiment

    out, results = trained
    assert {"accuracy", "f1", "roc_auc", "lstm_0_epochs", "bag_epochs"} <= set(results["sentiment"])
    on_jax = np.asarray(results["sentiment_probabilities"])
    assert on_jax.shape == (len(PROBES),) and np.all((on_jax > 0) & (on_jax < 1))
    np.testing.assert_allclose(load_sentiment(out / "sentiment").predict(PROBES), on_jax, atol=1e-5)


def test_artwork_model_trains_on_jax_and_loads_on_the_default_backend(trained):
    from ml.artwork import load_artwork

    out, results = trained
    assert {"micro_f1", "neighbour_genre_accuracy", "epochs_trained"} <= set(results["artwork"])
    # Without XLA the JAX backend runs the CNN op by op (ml.artwork.allow_xla says why).
    assert results["artwork_xla"]
    on_jax = np.load(out / "artwork_embeddings.npy")
    assert on_jax.shape == (20, 64)
    np.testing.assert_allclose(np.linalg.norm(on_jax, axis=1), 1.0, atol=1e-5)
    assert np.load(out / "artwork" / "embeddings.npy").shape == (20, 64)
    model = load_artwork(out / "artwork")
    np.testing.assert_allclose(
        model.embed(sorted((out / "images").glob("*.png"))), on_jax, atol=1e-5
    )


if __name__ == "__main__":
    train_all(Path(sys.argv[1]))
