"""The artwork CNN learns from the folder's unlabelled images too: the contrastive loss pulls
two views of one image together, unlabelled rows add nothing to the genre loss, every image of
the folder is read (and hashed), the colour words start as a colour histogram, and a model
trained this way reloads and embeds as it was saved."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from ml.artwork import (
    DEFAULTS,
    ArtworkDataError,
    build_encoder,
    contrastive_loss,
    load_artwork,
    masked_binary_crossentropy,
    train_artwork,
)

from .test_artwork import COLOURS, make_folder, painting

TINY = {"image_size": 24, "filters": [8, 16], "epochs": 3, "patience": 3, "batch_size": 16,
        "learning_rate": 0.005, "pretrain_epochs": 2, "contrastive_weight": 0.5}  # fmt: skip


def add_unlabelled(folder, per_genre: int, seed: int) -> list[str]:
    """Images in the folder that labels.csv does not list."""
    rng = np.random.default_rng(seed)
    names = []
    for genre in COLOURS:
        for i in range(per_genre):
            name = f"unlisted-{genre}-{i}.png"
            painting(genre, rng).save(folder / name)
            names.append(name)
    return names


def test_contrastive_loss_is_low_when_views_match_their_partners():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(8, 16)).astype(np.float32)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    noisy = z + 0.05 * rng.normal(size=z.shape).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    loss = contrastive_loss(0.2)
    dummy = np.zeros((8, 1), np.float32)
    matched = np.asarray(loss(dummy, np.concatenate([z, noisy], axis=1)))
    shuffled = np.asarray(loss(dummy, np.concatenate([z, noisy[::-1]], axis=1)))
    assert matched.shape == (8,)
    assert matched.mean() < 0.5 < shuffled.mean()


def test_genre_loss_ignores_unlabelled_rows():
    truth = np.array([[1, 0], [0, 1], [-1, -1], [-1, -1]], np.float32)
    logits = np.array([[2, -2], [-1, 1], [9, -9], [-9, 9]], np.float32)
    per_image = np.asarray(masked_binary_crossentropy(truth, logits))
    labelled = np.asarray(masked_binary_crossentropy(truth[:2], logits[:2]))
    np.testing.assert_allclose(per_image[2:], 0.0, atol=1e-7)
    # The batch mean is the mean over its labelled images, however many unlabelled ones.
    np.testing.assert_allclose(per_image.mean(), labelled.mean(), rtol=1e-5)
    expected = np.mean(np.log1p(np.exp(-np.abs(logits[:2]))))
    np.testing.assert_allclose(labelled.mean(), expected, rtol=1e-5)


def test_colour_words_start_as_the_4x4x4_colour_histogram():
    import keras

    rng = np.random.default_rng(3)
    # Each image: its top half one random colour, its bottom quarter another.
    images = np.empty((6, 24, 24, 3), np.uint8)
    for image in images:
        image[:12] = rng.integers(0, 256, 3)
        image[12:] = rng.integers(0, 256, 3)
        image[18:] = rng.integers(0, 256, 3)
    images[0] = (224, 32, 32)  # a bin's centre: nearly all of it in bin (3, 0, 0)
    encoder = build_encoder({**DEFAULTS, "image_size": 24, "filters": [8, 16]})
    histogram = keras.Model(encoder.input, encoder.get_layer("colour_histogram").output)
    soft = np.asarray(histogram.predict(images.astype(np.float32) / 255, verbose=0))
    bins = images.astype(np.int64) // 64
    index = (bins[..., 0] * 16 + bins[..., 1] * 4 + bins[..., 2]).reshape(len(images), -1)
    hard = np.stack([np.bincount(row, minlength=64) / row.size for row in index])
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, atol=1e-5)
    assert soft[0, 3 * 16] > 0.9
    # Soft bins: a colour near a bin's edge is shared with the next bin, so compare the bins
    # each image mostly falls in, and the histograms as a whole.
    assert (soft.argmax(axis=1) == hard.argmax(axis=1)).mean() >= 5 / 6
    assert np.abs(soft - hard).sum(axis=1).mean() < 0.6


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    base = tmp_path_factory.mktemp("pretraining")
    labels = make_folder(base / "images", per_genre=6, seed=0)
    unlisted = add_unlabelled(base / "images", per_genre=6, seed=1)
    metrics = train_artwork(base / "images", labels, base / "model", seed=1, **TINY)
    return base, labels, unlisted, metrics


def test_unlabelled_images_of_the_folder_are_learned_from(pretrained):
    base, _, unlisted, metrics = pretrained
    assert metrics["unlabelled_images"] == len(unlisted) == 18
    assert metrics["pretraining_epochs"] == 2
    meta = json.loads((base / "model" / "meta.json").read_text())
    assert meta["examples"]["unlabelled"] == 18
    assert meta["hyperparameters"]["pretrain_epochs"] == 2
    # Only the listed images have genres and exported embeddings.
    assert len(meta["file_ids"]) == 18 and not any(
        f.startswith("unlisted") for f in meta["file_ids"]
    )
    assert np.load(base / "model" / "embeddings.npy").shape == (18, 64)


def test_pretrained_model_reloads_and_embeds_as_saved(pretrained):
    base, _, unlisted, _ = pretrained
    model = load_artwork(base / "model")
    again = model.embed([base / "images" / f for f in model.file_ids])
    np.testing.assert_allclose(again, model.embeddings, atol=1e-5)
    fresh = model.embed([base / "images" / f for f in unlisted])
    assert fresh.shape == (18, 64) and np.isfinite(fresh).all()
    np.testing.assert_allclose(np.linalg.norm(fresh, axis=1), 1.0, atol=1e-5)
    # The standardised embedding is not stuck in one orthant: some cosines are negative.
    assert (model.embeddings @ model.embeddings.T).min() < 0


def test_an_unlabelled_image_is_part_of_the_data_hash(pretrained, tmp_path):
    base, labels, unlisted, _ = pretrained
    first = json.loads((base / "model" / "meta.json").read_text())["data_hash"]
    folder = tmp_path / "images"
    folder.mkdir()
    for path in (base / "images").iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    Image.new("RGB", (24, 24), (5, 5, 5)).save(folder / unlisted[0])
    quick = {**TINY, "epochs": 1, "pretrain_epochs": 1}
    train_artwork(folder, folder / labels.name, tmp_path / "model", seed=1, **quick)
    assert json.loads((tmp_path / "model" / "meta.json").read_text())["data_hash"] != first


def test_a_corrupt_unlabelled_image_is_refused_by_name(tmp_path):
    labels = make_folder(tmp_path, per_genre=2, seed=1)
    (tmp_path / "stray.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(ArtworkDataError, match=r"stray.jpg: not a readable image"):
        train_artwork(tmp_path, labels, tmp_path / "model", **TINY)
    assert not (tmp_path / "model").exists()


def test_without_contrastive_learning_unlisted_images_are_not_read(tmp_path):
    labels = make_folder(tmp_path, per_genre=3, seed=1)
    (tmp_path / "stray.jpg").write_bytes(b"not a jpeg")  # would be refused if read
    quick = {**TINY, "epochs": 1, "pretrain_epochs": 0, "contrastive_weight": 0.0}
    metrics = train_artwork(tmp_path, labels, tmp_path / "model", **quick)
    assert metrics["unlabelled_images"] == 0
    meta = json.loads((tmp_path / "model" / "meta.json").read_text())
    assert meta["examples"] == {"train": 6, "held_out": 3, "unlabelled": 0}
