"""Artwork CNN: multi-label genres from item artwork, and a 64-d "looks like" embedding.

A small convolutional network trained from scratch (no downloaded weights) on random views of
the images, with a colour histogram that the network computes (and tunes) beside its
convolutions. The embedding mixes the network's genre logits, its colour histogram, a little
of its penultimate layer and the genre scores of a linear head on fixed image descriptors
(ml.descriptors; each block centred on the catalogue, unit length, weighted: MIX_WEIGHTS),
rotated into 64 dimensions and L2-normalised: cosine similarity between items' artwork, used
for "looks like Y" and for items with no plays. Optionally (off by default: too slow for its
gain on two CPU cores), a SimCLR contrastive loss learns from every image of the
folder, listed or not, before and beside the genres.

Input: a folder of images and a `file,genres` CSV (genres '|'-separated, file relative to the
folder). Images are decoded with Pillow, converted to RGB and resized to `image_size` square;
a file that is not a readable image is refused with its name. Training holds out a part of the
images (stratified by first genre) for early stopping and for the metrics: micro/macro F1 of
the genres at a 0.5 threshold and the genre accuracy of each held-out image's nearest training
neighbour in embedding space (a hit when they share a genre), each beside its chance level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ml.artefacts import hash_files, load_array, read_meta, save_arrays, write_meta, writing
from ml.csvfiles import read_rows
from ml.data import DataError
from ml.descriptors import DESCRIPTOR_HEAD, describe, fit_genre_head, genre_scores
from ml.progress import Progress, keras_callback, scaled

FORMAT = "encore.artwork"
FORMAT_VERSION = 1
MODEL_FILE = "model.keras"
EMBEDDING_DIM = 64
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"})

DEFAULTS: dict[str, Any] = {
    # Larger images help on posters once the weights are averaged and decayed (without those,
    # 64 px gained nothing over 48), for about twice the training time (ml/README.md).
    "image_size": 64,
    "filters": [24, 48, 96],
    "dropout": 0.3,
    "learning_rate": 2e-3,
    "batch_size": 64,
    # Early stopping ends the posters' runs after 21-23 epochs (the best near 15). Patience 6
    # (3 epochs before each halving of the step) was slightly ahead of 4 on held-out training
    # films, by less than the noise between runs (two seeds, ml/README.md).
    "epochs": 32,
    "patience": 6,
    # Early stopping only judges from this epoch on (and restores the best epoch from here):
    # on real artwork the held-out loss is noisy and its first minimum comes too early.
    "min_epochs": 8,
    "validation_fraction": 0.2,
    # Soft colour histogram beside the convolutions (0: none); a cube starts as an RGB grid.
    "colour_bins": 64,
    # Scales translation, zoom, contrast and brightness of the random views (1: the default).
    "augmentation": 1.0,
    # Epochs of contrastive learning alone on every image of the folder, before the genres.
    "pretrain_epochs": 0,
    # Weight of the contrastive loss beside the genre loss while learning genres (0: none).
    "contrastive_weight": 0.0,
    "temperature": 0.2,
    # The weights validated and kept are an exponential moving average of the trained ones
    # over about this many epochs (0: the last step's). With `weight_decay` (AdamW's, times
    # the step) and 64 px, three seeds' held-out training films found neighbours sharing a
    # genre 0.733 -> 0.742 of the time on posters (ml/README.md, "Fourth pass").
    "ema_epochs": 2.5,
    "weight_decay": 0.05,
}

# The embedding mixes blocks of the trained network, each centred on the catalogue and of unit
# length, with these weights: the genre logits, the square root of the network's own colour
# histogram, a little of the penultimate layer, and the genre scores of a ridge regression from
# fixed image descriptors (ml.descriptors); then rotated into 64 dimensions (principal axes
# over the catalogue). Chosen on held-out training films (ml/README.md, "Artwork CNN").
MIX_WEIGHTS: dict[str, float] = {
    "logits": 1.0,
    "colours": 1.0,
    "penultimate": 0.25,
    "descriptors": 1.0,
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


def colour_centres(bins: int) -> np.ndarray:
    """(bins, 3) starting colours of the colour words: the cells of an n x n x n RGB grid when
    bins is a cube (64 = the 4x4x4 histogram), else colours drawn with a fixed seed."""
    side = round(bins ** (1 / 3))
    if side**3 == bins:
        grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3)
        return ((grid + 0.5) / side).astype(np.float32)
    rng = np.random.default_rng(0)
    return rng.random((bins, 3)).astype(np.float32)


def build_encoder(hyper: dict[str, Any]) -> Any:
    """Pixels in [0, 1] → features (the penultimate layer, 64 ReLU units).

    Convolutions see shapes and textures; beside them, `colour_bins` "colour words" (a 1x1
    convolution and a softmax over the words, started as a hard 4x4x4 colour histogram) give
    each image a soft colour histogram that training may move. Both go into the penultimate
    layer, so the genres are read from shapes and colour statistics together.
    """
    import keras
    from keras import layers

    size = hyper["image_size"]
    pixels = keras.Input((size, size, 3), name="pixels")
    # A strided stem halves the image at once: on two CPU cores the full-resolution layers
    # would cost most of the training time for little gain on artwork-scale features.
    x = layers.Conv2D(hyper["filters"][0], 5, strides=2, padding="same", use_bias=False)(pixels)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    for filters in hyper["filters"]:
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D()(x)
    # Mean and max pooling: colour and texture are global, a shape may be small and local.
    parts = [layers.GlobalAveragePooling2D()(x), layers.GlobalMaxPooling2D()(x)]
    if hyper["colour_bins"]:
        words = layers.Conv2D(hyper["colour_bins"], 1, name="colour_words")(pixels)
        words = layers.Softmax(axis=-1)(words)
        parts.append(layers.GlobalAveragePooling2D(name="colour_histogram")(words))
    x = layers.Concatenate()(parts)
    x = layers.Dropout(hyper["dropout"])(x)
    features = layers.Dense(EMBEDDING_DIM, activation="relu", name="penultimate")(x)
    encoder = keras.Model(pixels, features, name="encoder")
    if hyper["colour_bins"]:
        # Logits -beta * |pixel - centre|^2 up to a per-pixel constant: nearly hard bins.
        centres = colour_centres(hyper["colour_bins"])
        beta = 60.0
        encoder.get_layer("colour_words").set_weights(
            [(2 * beta * centres.T)[None, None], -beta * (centres**2).sum(axis=1)]
        )
    return encoder


def augmenter(hyper: dict[str, Any], name: str) -> Any:
    """Random views of an image (training only). Colour is left nearly alone: on artwork it
    is much of the signal, so only brightness and contrast move, and a little."""
    import keras
    from keras import layers

    size = hyper["image_size"]
    strength = hyper["augmentation"]
    return keras.Sequential(
        [
            keras.Input((size, size, 3)),
            layers.RandomFlip("horizontal"),
            layers.RandomTranslation(0.1 * strength, 0.1 * strength, fill_mode="reflect"),
            layers.RandomZoom((-0.15 * strength, 0.15 * strength), fill_mode="reflect"),
            layers.RandomContrast(min(0.2 * strength, 0.9)),
            layers.RandomBrightness(min(0.1 * strength, 0.9), value_range=(0.0, 1.0)),
        ],
        name=name,
    )


def build_models(genre_count: int, hyper: dict[str, Any]) -> tuple[Any, Any]:
    """The trainer and the served model, sharing their layers.

    The trainer takes uint8 images and outputs `{"genres": logits}` for one augmented view,
    plus `{"views": [z1 | z2]}` (two views' projections, for the contrastive loss) when
    contrastive learning is on. The served model outputs `[genre probabilities, embedding]`
    from one pass over the plain image; it has no random layers and is never fitted itself.
    """
    import keras
    from keras import layers

    size = hyper["image_size"]
    inputs = keras.Input((size, size, 3), dtype="uint8", name="image")
    pixels = layers.Rescaling(1 / 255)(inputs)
    encoder = build_encoder(hyper)
    genres = layers.Dense(genre_count, name="genres")
    contrastive = bool(hyper["pretrain_epochs"]) or hyper["contrastive_weight"] > 0

    features = encoder(augmenter(hyper, "view_1")(pixels))
    outputs = {"genres": genres(features)}
    if contrastive:
        # SimCLR's projection head: the loss acts on its output, so the features below keep
        # what the contrastive task would otherwise discard.
        hidden = layers.Dense(128, activation="relu", name="projection_hidden")
        project = layers.Dense(64, name="projection")
        unit = layers.UnitNormalization()
        other = encoder(augmenter(hyper, "view_2")(pixels))
        outputs["views"] = layers.Concatenate(name="views")(
            [unit(project(hidden(features))), unit(project(hidden(other)))]
        )
    trainer = allow_xla(keras.Model(inputs, outputs, name="artwork_trainer"))

    logits = genres(encoder(pixels))
    probabilities = layers.Activation("sigmoid", name="probabilities")(logits)
    # The embedding is the image's genre logits less their catalogue mean (set after training:
    # the layer never runs in training mode), placed in 64 dimensions by a fixed map that
    # keeps cosines. On posters, neighbours by centred logits share genres more often than
    # neighbours by the penultimate layer (ml/README.md, "Artwork CNN"). This output is the
    # embedding of models saved before the mixed one (Mixer), which reads the layers below.
    centred = layers.BatchNormalization(center=False, scale=False, name="centre")(logits)
    placed = layers.Dense(
        EMBEDDING_DIM, use_bias=False, trainable=False, name="place",
        kernel_initializer=keras.initializers.Constant(placement(genre_count)),
    )(centred)  # fmt: skip
    embedding = layers.UnitNormalization(name="embedding")(placed)
    served = keras.Model(inputs, [probabilities, embedding], name="artwork")
    return trainer, allow_xla(served)


def placement(genre_count: int) -> np.ndarray:
    """(genres, 64) map of genre logits into the embedding: orthonormal rows (cosines kept
    exactly) for up to 64 genres, a fixed random projection (kept nearly) beyond."""
    if genre_count <= EMBEDDING_DIM:
        return np.eye(genre_count, EMBEDDING_DIM, dtype=np.float32)
    rng = np.random.default_rng(0)
    return (rng.normal(size=(genre_count, EMBEDDING_DIM)) / np.sqrt(EMBEDDING_DIM)).astype(
        np.float32
    )


def masked_binary_crossentropy(truth: Any, logits: Any) -> Any:
    """Per-image binary cross-entropy over genres, from logits; a row of -1 is an unlabelled
    image and adds nothing. Scaled so a batch's loss is the mean over its labelled images."""
    from keras import ops

    labelled = ops.cast(ops.min(truth, axis=-1) >= 0, logits.dtype)
    target = ops.maximum(ops.cast(truth, logits.dtype), 0.0)
    per_genre = ops.maximum(logits, 0.0) - logits * target + ops.log1p(ops.exp(-ops.abs(logits)))
    share = ops.maximum(ops.mean(labelled), 1.0 / ops.cast(ops.shape(labelled)[0], logits.dtype))
    return ops.mean(per_genre, axis=-1) * labelled / share


def contrastive_loss(temperature: float) -> Any:
    """NT-Xent (SimCLR): each image's two views must find each other among the batch's views.
    The model's output is `[z1 | z2]`, unit rows; the target is unused."""
    import keras
    from keras import ops

    def nt_xent(_: Any, views: Any) -> Any:
        half = ops.shape(views)[-1] // 2
        n = ops.shape(views)[0]
        z = ops.concatenate([views[:, :half], views[:, half:]], axis=0)
        similarity = ops.matmul(z, ops.transpose(z)) / temperature
        similarity = similarity - 1e9 * ops.eye(2 * n, dtype=similarity.dtype)
        partner = ops.concatenate([ops.arange(n) + n, ops.arange(n)], axis=0)
        loss = keras.losses.sparse_categorical_crossentropy(partner, similarity, from_logits=True)
        return (loss[:n] + loss[n:]) / 2

    return nt_xent


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
        # The random layers sit inside the augmentation models: walk the nested layers too.
        pending = list(model.layers)
        while pending:
            layer = pending.pop()
            pending.extend(getattr(layer, "layers", []))
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
    """Train on the images of a folder and write the model directory.

    The images listed in labels_csv teach genres. With `pretrain_epochs` or
    `contrastive_weight` (both off by default: on posters they taught less than the labels,
    ml/README.md), every image of the folder (listed or not, and the held-out ones without
    their genres) also teaches looks without labels: two random views of each must embed close
    together (contrastive pre-training, then mixed with the genre loss). Also writes
    `embeddings.npy` (one L2-normalised row per listed image, in CSV order) with the file names
    as `file_ids` in meta.json, so serving can find look-alikes in NumPy.
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
    contrastive = bool(hp["pretrain_epochs"]) or hp["contrastive_weight"] > 0
    listed = set(files)
    unlabelled = [p for p in image_files(images_dir) if p.name not in listed] if contrastive else []

    paths = [images_dir / name for name in files]
    report(0.0, f"reading {len(files)} images and {len(unlabelled)} unlabelled ones")
    images = load_images(paths, hp["image_size"])
    extra = load_images(unlabelled, hp["image_size"])

    keras.utils.set_random_seed(seed)
    train_at, held_at = _split(genre_lists, hp["validation_fraction"], seed)
    trainer, served = build_models(len(genres), hp)
    # Start each genre's output at its base rate, so early epochs learn looks, not frequencies.
    prior = np.clip(truth[train_at].mean(axis=0), 1e-3, 1 - 1e-3)
    trainer.get_layer("genres").bias.assign(np.log(prior / (1 - prior)).astype(np.float32))

    # What the trainer sees: the training images with their genres; for the contrastive loss
    # also the held-out and the unlabelled images, with unknown (-1) genres.
    if contrastive:
        inputs = np.concatenate([images[train_at], images[held_at], extra])
        unknown_genres = np.full((len(held_at) + len(extra), len(genres)), -1, np.float32)
        order = np.random.default_rng(seed).permutation(len(inputs))
        inputs = inputs[order]
        # The contrastive loss ignores its target: zeros stand in for it.
        targets = {
            "genres": np.concatenate([truth[train_at], unknown_genres])[order],
            "views": np.zeros((len(inputs), 1), np.float32),
        }
        validation = (
            images[held_at],
            {"genres": truth[held_at], "views": np.zeros((len(held_at), 1), np.float32)},
        )
    else:
        inputs, targets = images[train_at], {"genres": truth[train_at]}
        validation = (images[held_at], {"genres": truth[held_at]})
    losses: dict[str, Any] = {"genres": masked_binary_crossentropy}
    if contrastive:
        losses["views"] = contrastive_loss(hp["temperature"])
    total = hp["pretrain_epochs"] + hp["epochs"]
    pretraining = min(0.9, 0.05 + 0.85 * hp["pretrain_epochs"] / total)

    if hp["pretrain_epochs"]:
        trainer.compile(
            optimizer=keras.optimizers.Adam(hp["learning_rate"]),
            loss=losses,
            loss_weights={"genres": 0.0, "views": 1.0},
        )
        trainer.fit(
            inputs,
            targets,
            epochs=hp["pretrain_epochs"],
            batch_size=hp["batch_size"],
            callbacks=[keras_callback(progress, hp["pretrain_epochs"], 0.05, pretraining)],
            verbose=0,
        )

    averaged = hp["ema_epochs"] > 0
    steps_per_epoch = -(-len(inputs) // hp["batch_size"])
    horizon = max(1.0, steps_per_epoch * hp["ema_epochs"])
    trainer.compile(
        optimizer=keras.optimizers.Adam(
            hp["learning_rate"],
            weight_decay=hp["weight_decay"] or None,
            use_ema=averaged,
            # The average's horizon in steps, so a small catalogue's few steps an epoch are
            # not averaged with its untrained start (Keras's average has no bias correction).
            ema_momentum=1.0 - 1.0 / horizon,
        ),
        loss=losses,
        loss_weights={
            "genres": 1.0,
            **({"views": hp["contrastive_weight"]} if contrastive else {}),
        },
    )
    monitor = "val_genres_loss" if contrastive else "val_loss"
    stop = keras.callbacks.EarlyStopping(
        monitor=monitor,
        mode="min",
        patience=hp["patience"],
        restore_best_weights=True,
        start_from_epoch=min(hp["min_epochs"], hp["epochs"] - 1),
    )
    trainer.fit(
        inputs,
        targets,
        validation_data=validation,
        epochs=hp["epochs"],
        batch_size=hp["batch_size"],
        callbacks=[
            # Averaged weights are the ones validated, so early stopping keeps the best of them.
            *([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if averaged else []),
            stop,
            # Halve the step when validation stalls: the noisy generated art plateaus early.
            keras.callbacks.ReduceLROnPlateau(
                monitor=monitor,
                mode="min",
                factor=0.5,
                patience=max(1, hp["patience"] // 2),
                # At most two halvings: a noisy held-out loss would otherwise stall it.
                min_lr=hp["learning_rate"] / 4,
            ),
            keras_callback(progress, hp["epochs"], pretraining, 0.9),
        ],
        verbose=0,
    )

    scaled(progress, 0.9, 1.0)(0.0, "evaluating")
    catalogue = np.concatenate([images, extra])
    centre_embeddings(served, catalogue)
    # The held-out images judge the whole embedding: for the metrics, the descriptors' genre
    # head learns from the images the network trained on; the head served then learns from
    # every listed image (a closed-form fit with a fixed penalty gains from every label:
    # ml/README.md, "Ninth pass").
    # The catalogue is read once (the network's pass and the descriptors) and mixed twice.
    descriptors = describe(catalogue)
    looks = replace(Mixer(served).read(catalogue), descriptors=descriptors)
    listed_looks, labelled = looks[: len(images)], descriptors[: len(images)]
    mixer = Mixer(served, head=fit_genre_head(labelled[train_at], truth[train_at]))
    all_probabilities, embeddings = mixer.infer(listed_looks, mixer.fit(looks))
    metrics = evaluate(
        all_probabilities[held_at],
        truth[held_at],
        embeddings[held_at],
        embeddings[train_at],
        truth[train_at],
        seed,
    )
    head = fit_genre_head(labelled, truth)
    mixer = Mixer(served, head=head)
    mix = mixer.fit(looks)
    embeddings = mixer.infer(listed_looks, mix)[1]
    metrics["epochs_trained"] = float(stop.stopped_epoch or hp["epochs"])
    metrics["pretraining_epochs"] = float(hp["pretrain_epochs"])
    metrics["unlabelled_images"] = float(len(unlabelled))

    with writing(out_dir) as tmp:
        served.save(tmp / MODEL_FILE)
        save_arrays(tmp, embeddings=embeddings, **mix, **head)
        write_meta(
            tmp,
            FORMAT,
            FORMAT_VERSION,
            data_hash=hash_files([labels_csv, *paths, *unlabelled]),
            hyperparameters={**hp, "seed": seed},
            metrics=metrics,
            genres=genres,
            file_ids=files,
            embedding_dim=EMBEDDING_DIM,
            embedding_mix=mixer.weights,
            examples={
                "train": len(train_at),
                "held_out": len(held_at),
                "unlabelled": len(unlabelled),
            },
        )
    report(1.0, "done")
    return metrics


def centre_embeddings(served: Any, images: np.ndarray) -> None:
    """Set the embedding's centre to the mean genre logits over the catalogue's images.

    The logits are read back from the served model's probabilities (clipped where float32
    saturates) rather than from a second model, which would compile again on JAX.
    """
    probabilities, _ = infer(served, images)
    p = np.clip(probabilities.astype(np.float64), 1e-7, 1 - 1e-7)
    logits = np.log(p / (1 - p))
    centre = served.get_layer("centre")
    # Variance 1 - epsilon: the layer divides by sqrt(variance + epsilon), that is by 1.
    centre.set_weights([logits.mean(axis=0), np.full(logits.shape[1], 1 - centre.epsilon)])


@dataclass(frozen=True)
class Looks:
    """What the embedding is mixed from, read once from a set of images: the network's genre
    probabilities and blocks (logits, square-rooted colour histogram, penultimate layer), and
    the images' descriptors (None when no genre head reads them)."""

    probabilities: np.ndarray
    network: list[np.ndarray]
    descriptors: np.ndarray | None

    def __getitem__(self, rows: Any) -> Looks:
        return Looks(
            self.probabilities[rows],
            [block[rows] for block in self.network],
            None if self.descriptors is None else self.descriptors[rows],
        )


class Mixer:
    """The embedding from the trained network's blocks (genre logits, colour histogram,
    penultimate layer) and the descriptors' genre head (ml.descriptors): `read` the images
    once (one pass through the served model's own layers), then `fit` the mix or `infer`."""

    def __init__(
        self,
        served: Any,
        weights: dict[str, float] | None = None,
        head: dict[str, np.ndarray] | None = None,
    ) -> None:
        import keras

        encoder = served.get_layer("encoder")
        names = ["penultimate"]
        if any(layer.name == "colour_histogram" for layer in encoder.layers):
            names.append("colour_histogram")
        self._probe = keras.Model(encoder.input, [encoder.get_layer(n).output for n in names])
        self._kernel, self._bias = (
            w.astype(np.float64) for w in served.get_layer("genres").get_weights()
        )
        self._head = head
        wanted = weights or MIX_WEIGHTS
        # A model saved before a block existed has no weight for it: the block is left out.
        self.weights = {k: float(wanted.get(k, 0.0)) for k in MIX_WEIGHTS}
        if len(names) == 1:
            self.weights["colours"] = 0.0
        if head is None:
            self.weights["descriptors"] = 0.0

    def read(self, images: np.ndarray) -> Looks:
        """The network's outputs for uint8 images, and their descriptors if a head reads them."""
        if len(images) == 0:
            return Looks(np.zeros((0, self._kernel.shape[1]), np.float32), [], None)
        pixels = images.astype(np.float32) * np.float32(1 / 255)
        out = self._probe.predict(pixels, batch_size=256, verbose=0)
        parts = [np.asarray(o, np.float64) for o in (out if isinstance(out, list) else [out])]
        penultimate = parts[0]
        logits = penultimate @ self._kernel + self._bias
        colours = np.sqrt(np.maximum(parts[1], 0.0)) if len(parts) > 1 else penultimate[:, :0]
        probabilities = (1 / (1 + np.exp(-logits))).astype(np.float32)
        descriptors = describe(images) if self._head is not None else None
        return Looks(probabilities, [logits, colours, penultimate], descriptors)

    def _blocks(self, looks: Looks) -> list[np.ndarray]:
        """[logits, colours, penultimate, the head's genre scores] (the last empty without)."""
        if self._head is None or looks.descriptors is None:
            scores = looks.network[0][:, :0]
        else:
            scores = genre_scores(looks.descriptors, self._head)
        return [*looks.network, scores]

    def _combine(self, blocks: list[np.ndarray], centre: np.ndarray) -> np.ndarray:
        out, start = [], 0
        for block, weight in zip(blocks, self.weights.values(), strict=True):
            width = block.shape[1]
            part = block - centre[start : start + width]
            start += width
            if weight and width:
                norms = np.linalg.norm(part, axis=1, keepdims=True)
                out.append(weight * part / np.maximum(norms, 1e-12))
        return np.hstack(out)

    def fit(self, looks: Looks) -> dict[str, np.ndarray]:
        """The catalogue's block means and the rotation into 64 dimensions (saved arrays)."""
        blocks = self._blocks(looks)
        centre = np.concatenate([b.mean(axis=0) for b in blocks])
        mixed = self._combine(blocks, centre)
        if mixed.shape[1] <= EMBEDDING_DIM:
            projection = np.eye(mixed.shape[1], EMBEDDING_DIM)
        else:
            # Fewer images than 64 give fewer axes: the other columns stay zero.
            _, _, axes = np.linalg.svd(mixed, full_matrices=False)
            projection = np.zeros((mixed.shape[1], EMBEDDING_DIM))
            kept = axes[:EMBEDDING_DIM].T
            projection[:, : kept.shape[1]] = kept
        return {"mix_centre": centre, "mix_projection": projection}

    def infer(self, looks: Looks, mix: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(genre probabilities, L2-normalised 64-d embeddings) of the images read."""
        if not looks.network:
            return looks.probabilities, np.zeros((0, EMBEDDING_DIM), np.float32)
        placed = self._combine(self._blocks(looks), mix["mix_centre"]) @ mix["mix_projection"]
        norms = np.maximum(np.linalg.norm(placed, axis=1, keepdims=True), 1e-12)
        return looks.probabilities, (placed / norms).astype(np.float32)


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

    def __init__(
        self,
        model: Any,
        meta: dict[str, Any],
        embeddings: np.ndarray,
        mix: dict[str, np.ndarray] | None = None,
        head: dict[str, np.ndarray] | None = None,
    ) -> None:
        self._model = model
        self.meta = meta
        self.genres: list[str] = list(meta["genres"])
        self.file_ids: list[str] = list(meta["file_ids"])
        self.embeddings = embeddings
        self.image_size = int(meta["hyperparameters"]["image_size"])
        self.version = f"{meta['created_at']}-{str(meta.get('data_hash', ''))[:8]}"
        # Models saved before the mixed embedding have no mix arrays: their embedding is the
        # served model's second output (centred genre logits); those saved before the
        # descriptors' genre head mix the network's blocks alone.
        self._mix = mix
        self._mixer = Mixer(model, meta.get("embedding_mix"), head) if mix else None

    @property
    def network(self) -> Any:
        """The served Keras model (genre probabilities and the centred-logit embedding)."""
        return self._model

    def infer(self, paths: Sequence[Path | str]) -> tuple[np.ndarray, np.ndarray]:
        """(genre probabilities (n, genres), L2-normalised embeddings (n, 64)) in one pass."""
        if not paths:
            return (
                np.zeros((0, len(self.genres)), np.float32),
                np.zeros((0, EMBEDDING_DIM), np.float32),
            )
        images = load_images([Path(p) for p in paths], self.image_size)
        if self._mixer is not None and self._mix is not None:
            return self._mixer.infer(self._mixer.read(images), self._mix)
        return infer(self._model, images)

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
    mix = head = None
    if (model_dir / "mix_projection.npy").is_file():
        mix = {name: load_array(model_dir, name) for name in ("mix_centre", "mix_projection")}
    if (model_dir / "descriptor_weights.npy").is_file():
        head = {name: load_array(model_dir, name) for name in DESCRIPTOR_HEAD}
    return ArtworkModel(model, meta, load_array(model_dir, "embeddings"), mix, head)
