"""Artwork CNN: multi-label genres from item artwork, and a 64-d "looks like" embedding.

A small convolutional network trained from scratch (no downloaded weights), with augmentation
layers that act only while training. Its penultimate layer, L2-normalised, is the embedding:
cosine similarity between items' artwork, used for "looks like Y" and for items with no plays.

Input: a folder of images and a `file,genres` CSV (genres '|'-separated, file relative to the
folder). Images are decoded with Pillow, converted to RGB and resized to `image_size` square;
a file that is not a readable image is refused with its name. Training holds out a part of the
images (stratified by first genre) for early stopping and for the metrics: micro/macro F1 of
the genres at a 0.5 threshold and the genre accuracy of each held-out image's nearest training
neighbour in embedding space (a hit when they share a genre), each beside its chance level.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ml.artefacts import hash_files, load_array, read_meta, save_arrays, write_meta, writing
from ml.csvfiles import read_rows
from ml.data import DataError
from ml.progress import Progress, keras_callback, scaled

FORMAT = "encore.artwork"
FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
EMBEDDING_DIM = 64
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"})

DEFAULTS: dict[str, Any] = {
    "image_size": 48,
    "filters": [32, 64, 128],
    "dropout": 0.3,
    "learning_rate": 2e-3,
    "batch_size": 64,
    "epochs": 20,
    "patience": 4,
    "validation_fraction": 0.2,
}


class ArtworkDataError(DataError):
    """Artwork input that cannot be used; the message names the file (and line)."""


# --- reading -------------------------------------------------------------------------------


def read_labels(labels_csv: Path | str) -> tuple[list[str], list[list[str]]]:
    """Read `file,genres` rows; genres are '|'-separated and may be empty for none."""
    path = Path(labels_csv)
    records = read_rows(path, ArtworkDataError)
    _, first = next(records, (1, []))
    header = [h.strip().lower() for h in first]
    if header[:2] != ["file", "genres"]:
        raise ArtworkDataError(f"{path}, line 1: expected the header 'file,genres', got {header}")
    files: list[str] = []
    genres: list[list[str]] = []
    seen: set[str] = set()
    for number, row in records:
        if len(row) != len(header) or not row[0].strip():
            raise ArtworkDataError(
                f"{path}, line {number}: expected 'file,genres', got {','.join(row)!r}"
            )
        name = row[0].strip()
        if name in seen:
            raise ArtworkDataError(f"{path}, line {number}: {name!r} is listed twice")
        seen.add(name)
        files.append(name)
        genres.append(sorted({g.strip() for g in row[1].split("|") if g.strip()}))
    if not files:
        raise ArtworkDataError(f"{path}: no rows")
    return files, genres


def image_files(images_dir: Path | str) -> list[Path]:
    """The image files (by extension) directly in a folder, sorted by name."""
    folder = Path(images_dir)
    if not folder.is_dir():
        raise ArtworkDataError(f"{folder}: not a directory")
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
    )


def load_images(paths: Sequence[Path], size: int) -> np.ndarray:
    """Decode, convert to RGB and resize to size x size: uint8 (n, size, size, 3)."""
    from PIL import Image, UnidentifiedImageError

    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                image.load()  # decode fully now so a truncated file fails here, named
                rgb = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
        except FileNotFoundError:
            raise ArtworkDataError(f"{path}: no such file") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise ArtworkDataError(f"{path}: not a readable image ({exc})") from None
        out[i] = np.asarray(rgb, dtype=np.uint8)
    return out


# --- the model -----------------------------------------------------------------------------


def build_models(genre_count: int, hyper: dict[str, Any]) -> tuple[Any, Any]:
    """The model trained on genres, and the served model sharing its layers, which outputs
    `[genre probabilities, embedding]` from one pass (uncompiled: it is never fitted itself)."""
    import keras
    from keras import layers

    size = hyper["image_size"]
    inputs = keras.Input((size, size, 3), dtype="uint8", name="image")
    x = layers.Rescaling(1 / 255)(inputs)
    # Augmentation layers are identity at inference, so they can live in the saved model.
    x = layers.RandomFlip("horizontal")(x)
    x = layers.RandomTranslation(0.1, 0.1, fill_mode="reflect")(x)
    x = layers.RandomZoom((-0.15, 0.15), fill_mode="reflect")(x)
    x = layers.RandomContrast(0.2)(x)
    # A strided stem halves the image at once: on two CPU cores the full-resolution layers
    # would cost most of the training time for little gain on artwork-scale features.
    x = layers.Conv2D(hyper["filters"][0], 5, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    for filters in hyper["filters"]:
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D()(x)
    # Mean and max pooling: colour and texture are global, a shape may be small and local.
    x = layers.Concatenate()([layers.GlobalAveragePooling2D()(x), layers.GlobalMaxPooling2D()(x)])
    x = layers.Dropout(hyper["dropout"])(x)
    penultimate = layers.Dense(EMBEDDING_DIM, activation="relu", name="penultimate")(x)
    # The classifier reads the raw penultimate layer (normalising first would cap its logits);
    # the embedding is the same layer on the unit sphere, so cosine similarity compares looks.
    embedding = layers.UnitNormalization(name="embedding")(penultimate)
    probabilities = layers.Dense(genre_count, activation="sigmoid", name="genres")(penultimate)
    trained = keras.Model(inputs, probabilities, name="artwork_genres")
    allow_xla(trained)
    trained.compile(
        optimizer=keras.optimizers.Adam(hyper["learning_rate"]),
        loss="binary_crossentropy",
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
    )
    return trained, allow_xla(keras.Model(inputs, [probabilities, embedding], name="artwork"))


def allow_xla(model: Any) -> Any:
    """On the JAX backend, let Keras compile the model's steps with XLA.

    Keras marks RandomTranslation and RandomZoom as unable to jit because TensorFlow's image
    transform has no XLA kernel, and one such layer turns `jit_compile="auto"` off for the whole
    model. On TensorFlow that still runs as a graph; on JAX it runs every op eagerly (a tiny
    model spent 20 s compiling hundreds of single ops, and a GPU would be idle between them).
    On JAX those layers are jnp code (map_coordinates) and compile like the rest.
    """
    import keras

    if keras.backend.backend() == "jax":
        for layer in model.layers:
            if isinstance(layer, keras.layers.RandomTranslation | keras.layers.RandomZoom):
                layer.supports_jit = True
        # Set, not left to "auto": loading a model resolves it before this function runs.
        model.jit_compile = True
    return model


def infer(model: Any, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(genre probabilities, embeddings) of uint8 images, with the served two-output model."""
    probabilities, embeddings = model.predict(images, batch_size=256, verbose=0)
    return np.asarray(probabilities, np.float32), np.asarray(embeddings, np.float32)


# --- metrics -------------------------------------------------------------------------------


def f1_scores(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Micro and macro F1 over genres (a genre absent from both counts as F1 1 in the macro)."""
    truth, predicted = truth.astype(bool), predicted.astype(bool)
    tp = (truth & predicted).sum(axis=0).astype(float)
    fp = (~truth & predicted).sum(axis=0).astype(float)
    fn = (truth & ~predicted).sum(axis=0).astype(float)
    denominator = 2 * tp + fp + fn
    per_genre = np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 1.0)
    micro_denominator = 2 * tp.sum() + fp.sum() + fn.sum()
    return {
        "micro_f1": float(2 * tp.sum() / micro_denominator) if micro_denominator else 1.0,
        "macro_f1": float(per_genre.mean()),
    }


def neighbour_genre_accuracy(
    query: np.ndarray, query_genres: np.ndarray, base: np.ndarray, base_genres: np.ndarray
) -> float:
    """Share of queries whose nearest base item (cosine) shares at least one genre."""
    nearest = np.argmax(query @ base.T, axis=1)
    return float(np.mean((query_genres & base_genres[nearest]).any(axis=1)))


def evaluate(
    probabilities: np.ndarray,
    truth: np.ndarray,
    held_embeddings: np.ndarray,
    train_embeddings: np.ndarray,
    train_truth: np.ndarray,
    seed: int,
) -> dict[str, float]:
    truth = truth.astype(bool)
    train_truth = train_truth.astype(bool)
    metrics = f1_scores(truth, probabilities >= 0.5)
    metrics["neighbour_genre_accuracy"] = neighbour_genre_accuracy(
        held_embeddings, truth, train_embeddings, train_truth
    )
    # Chance levels of the same held-out set: genres drawn at their training frequencies, and
    # a random training image as the "neighbour".
    rng = np.random.default_rng(seed)
    guess = rng.random(truth.shape) < train_truth.mean(axis=0)
    chance = f1_scores(truth, guess)
    metrics["chance_micro_f1"] = chance["micro_f1"]
    metrics["chance_macro_f1"] = chance["macro_f1"]
    random_neighbour = train_truth[rng.integers(len(train_truth), size=len(truth))]
    metrics["chance_neighbour_genre_accuracy"] = float(
        np.mean((truth & random_neighbour).any(axis=1))
    )
    return metrics


# --- training ------------------------------------------------------------------------------


def train_artwork(
    images_dir: Path | str,
    labels_csv: Path | str,
    out_dir: Path | str,
    *,
    seed: int = 0,
    progress: Progress | None = None,
    **hyper: Any,
) -> dict[str, float]:
    """Train on the images listed in labels_csv and write the model directory.

    Also writes `embeddings.npy` (one L2-normalised row per listed image, in CSV order) with
    the file names as `file_ids` in meta.json, so serving can find look-alikes in NumPy.
    """
    import keras

    unknown = set(hyper) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown artwork hyperparameters: {sorted(unknown)}")
    hp = {**DEFAULTS, **hyper}
    report = progress or (lambda fraction, stage: None)
    images_dir, labels_csv = Path(images_dir), Path(labels_csv)
    files, genre_lists = read_labels(labels_csv)
    genres = sorted({g for gs in genre_lists for g in gs})
    if len(genres) < 2:
        raise ArtworkDataError(f"{labels_csv}: needs at least two genres, found {genres}")
    index = {g: i for i, g in enumerate(genres)}
    truth = np.zeros((len(files), len(genres)), dtype=np.float32)
    for row, gs in enumerate(genre_lists):
        truth[row, [index[g] for g in gs]] = 1.0

    report(0.0, f"reading {len(files)} images")
    paths = [images_dir / name for name in files]
    images = load_images(paths, hp["image_size"])

    keras.utils.set_random_seed(seed)
    train_at, held_at = _split(genre_lists, hp["validation_fraction"], seed)
    model, served = build_models(len(genres), hp)
    # Start each genre's output at its base rate, so early epochs learn looks, not frequencies.
    prior = np.clip(truth[train_at].mean(axis=0), 1e-3, 1 - 1e-3)
    model.get_layer("genres").bias.assign(np.log(prior / (1 - prior)).astype(np.float32))
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=hp["patience"], restore_best_weights=True
    )
    model.fit(
        images[train_at],
        truth[train_at],
        validation_data=(images[held_at], truth[held_at]),
        epochs=hp["epochs"],
        batch_size=hp["batch_size"],
        callbacks=[
            stop,
            # Halve the step when validation stalls: the noisy generated art plateaus early.
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=0.5, patience=max(1, hp["patience"] // 2)
            ),
            keras_callback(progress, hp["epochs"], 0.05, 0.9),
        ],
        verbose=0,
    )

    scaled(progress, 0.9, 1.0)(0.0, "evaluating")
    all_probabilities, embeddings = infer(served, images)
    metrics = evaluate(
        all_probabilities[held_at],
        truth[held_at],
        embeddings[held_at],
        embeddings[train_at],
        truth[train_at],
        seed,
    )
    metrics["epochs_trained"] = float(stop.stopped_epoch or hp["epochs"])

    with writing(out_dir) as tmp:
        served.save(tmp / MODEL_FILE)
        save_arrays(tmp, embeddings=embeddings)
        write_meta(
            tmp,
            FORMAT,
            FORMAT_VERSION,
            data_hash=hash_files([labels_csv, *paths]),
            hyperparameters={**hp, "seed": seed},
            metrics=metrics,
            genres=genres,
            file_ids=files,
            embedding_dim=EMBEDDING_DIM,
            examples={"train": len(train_at), "held_out": len(held_at)},
        )
    report(1.0, "done")
    return metrics


def _split(
    genre_lists: list[list[str]], fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Hold out `fraction` of each first-genre group, so every genre is in both parts."""
    rng = np.random.default_rng(seed)
    groups: dict[str, list[int]] = {}
    for i, gs in enumerate(genre_lists):
        groups.setdefault(gs[0] if gs else "", []).append(i)
    held: list[int] = []
    for _, members in sorted(groups.items()):
        shuffled = rng.permutation(members)
        held.extend(shuffled[: round(len(members) * fraction)].tolist() if len(members) > 1 else [])
    held_at = np.array(sorted(held), dtype=np.int64)
    if len(held_at) == 0:
        raise ArtworkDataError("too few images to hold any out for validation")
    train_at = rng.permutation(np.setdiff1d(np.arange(len(genre_lists)), held_at))
    return train_at, held_at


# --- loading -------------------------------------------------------------------------------


class ArtworkModel:
    """A trained artwork model: `embed(paths)` and `predict_genres(paths)`."""

    def __init__(self, model: Any, meta: dict[str, Any], embeddings: np.ndarray) -> None:
        self._model = model
        self.meta = meta
        self.genres: list[str] = list(meta["genres"])
        self.file_ids: list[str] = list(meta["file_ids"])
        self.embeddings = embeddings
        self.image_size = int(meta["hyperparameters"]["image_size"])
        self.version = f"{meta['created_at']}-{str(meta.get('data_hash', ''))[:8]}"

    def infer(self, paths: Sequence[Path | str]) -> tuple[np.ndarray, np.ndarray]:
        """(genre probabilities (n, genres), L2-normalised embeddings (n, 64)) in one pass."""
        if not paths:
            return (
                np.zeros((0, len(self.genres)), np.float32),
                np.zeros((0, EMBEDDING_DIM), np.float32),
            )
        return infer(self._model, load_images([Path(p) for p in paths], self.image_size))

    def embed(self, paths: Sequence[Path | str]) -> np.ndarray:
        """(n, 64) L2-normalised embeddings of the images at `paths`."""
        return self.infer(paths)[1]

    def predict_genres(
        self, paths: Sequence[Path | str], threshold: float = 0.5
    ) -> list[list[str]]:
        """Each image's genres with probability >= threshold (its most likely one if none)."""
        return self.genres_of(self.infer(paths)[0], threshold)

    def genres_of(self, probabilities: np.ndarray, threshold: float = 0.5) -> list[list[str]]:
        out = []
        for row in probabilities:
            chosen = [g for g, p in zip(self.genres, row, strict=True) if p >= threshold]
            out.append(chosen or [self.genres[int(np.argmax(row))]])
        return out


def load_artwork(model_dir: Path | str) -> ArtworkModel:
    import keras

    model_dir = Path(model_dir)
    meta = read_meta(model_dir, FORMAT, [FORMAT_VERSION])
    model = allow_xla(keras.saving.load_model(model_dir / MODEL_FILE, safe_mode=True))
    return ArtworkModel(model, meta, load_array(model_dir, "embeddings"))
