"""The artwork CNN learns genres planted as colours, its embedding groups look-alikes, it
round-trips, refuses unknown formats, and names the bad file or line."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ml.artefacts import ArtefactError
from ml.artwork import (
    MIX_WEIGHTS,
    ArtworkDataError,
    Mixer,
    f1_scores,
    load_artwork,
    load_images,
    read_labels,
    train_artwork,
)
from ml.cli import main
from ml.descriptors import DESCRIPTOR_HEAD

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (40, 60, 230)}
TINY = {"image_size": 24, "filters": [8, 16], "epochs": 20, "patience": 5, "batch_size": 16,
        "learning_rate": 0.005}  # fmt: skip


def painting(genre: str, rng: np.random.Generator, size: int = 32) -> Image.Image:
    """Grey noise with blobs of the genre's colour: the colour is the only signal."""
    pixels = rng.integers(60, 160, (size, size, 1)).repeat(3, axis=2).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(3):
        x, y = rng.integers(0, size - 8, 2)
        r = int(rng.integers(5, 10))
        jitter = rng.integers(-25, 25, 3)
        colour = tuple(int(c) for c in np.clip(np.add(COLOURS[genre], jitter), 0, 255))
        draw.ellipse((int(x), int(y), int(x) + r, int(y) + r), fill=colour)
    return image


def make_folder(folder, per_genre: int, seed: int):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for genre in COLOURS:
        for i in range(per_genre):
            name = f"{genre}-{i}.png"
            painting(genre, rng).save(folder / name)
            rows.append((name, genre))
    labels = folder / "labels.csv"
    with labels.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "genres"])
        writer.writerows(rows)
    return labels


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("artwork")
    labels = make_folder(base / "images", per_genre=40, seed=0)
    metrics = train_artwork(base / "images", labels, base / "model", seed=2, **TINY)
    return base, metrics


@pytest.mark.slow
def test_learns_planted_colours_and_embeds_look_alikes(trained, tmp_path):
    base, metrics = trained
    # Chance is about 0.33 for each on three balanced genres.
    assert metrics["micro_f1"] >= 0.8
    assert metrics["neighbour_genre_accuracy"] >= 0.8
    assert metrics["chance_neighbour_genre_accuracy"] < 0.6

    model = load_artwork(base / "model")
    fresh = tmp_path / "fresh"
    make_folder(fresh, per_genre=6, seed=77)
    paths = sorted(fresh.glob("*.png"))
    truth = [p.name.split("-")[0] for p in paths]
    predicted = model.predict_genres(paths)
    assert np.mean([t in g for t, g in zip(truth, predicted, strict=True)]) >= 0.8

    embeddings = model.embed(paths)
    assert embeddings.shape == (len(paths), 64)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    # Each fresh image's nearest catalogue artwork has its colour.
    nearest = np.argmax(embeddings @ model.embeddings.T, axis=1)
    neighbour_genres = [model.file_ids[i].split("-")[0] for i in nearest]
    assert np.mean(np.array(neighbour_genres) == np.array(truth)) >= 0.8


def test_round_trip_reproduces_the_exported_embeddings(trained):
    base, metrics = trained
    model = load_artwork(base / "model")
    meta = json.loads((base / "model" / "meta.json").read_text())
    assert meta["format"] == "encore.artwork" and meta["genres"] == sorted(COLOURS)
    assert meta["metrics"] == metrics and len(meta["file_ids"]) == 120
    again = model.embed([base / "images" / f for f in model.file_ids[:10]])
    np.testing.assert_allclose(again, model.embeddings[:10], atol=1e-5)
    assert model.embed([]).shape == (0, 64)


def test_embedding_mixes_blocks_and_older_directories_keep_theirs(trained, tmp_path):
    base, _ = trained
    meta = json.loads((base / "model" / "meta.json").read_text())
    assert meta["embedding_mix"] == MIX_WEIGHTS
    projection = np.load(base / "model" / "mix_projection.npy")
    assert projection.shape[1] == 64 and np.load(base / "model" / "mix_centre.npy").ndim == 1
    assert np.load(base / "model" / "descriptor_weights.npy").shape == (468, len(COLOURS))
    model = load_artwork(base / "model")
    paths = [base / "images" / f for f in model.file_ids[:6]]
    mixed_probabilities, mixed = model.infer(paths)

    # A directory saved before the descriptors' head mixes the network's blocks alone.
    before_head = tmp_path / "before-head"
    shutil.copytree(base / "model", before_head)
    for name in DESCRIPTOR_HEAD:
        (before_head / f"{name}.npy").unlink()
    network_only = {k: v for k, v in MIX_WEIGHTS.items() if k != "descriptors"}
    mixer = Mixer(model.network, network_only)
    images = load_images([base / "images" / f for f in model.file_ids], TINY["image_size"])
    for name, array in mixer.fit(mixer.read(images)).items():
        np.save(before_head / f"{name}.npy", array)
    meta["embedding_mix"] = network_only
    (before_head / "meta.json").write_text(json.dumps(meta))
    probabilities, embeddings = load_artwork(before_head).infer(paths)
    np.testing.assert_allclose(probabilities, mixed_probabilities, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    assert np.abs(embeddings - mixed).max() > 1e-3

    # A directory saved before the mix (no mix arrays) embeds with the served model's output.
    old = tmp_path / "old"
    shutil.copytree(base / "model", old)
    for name in ("mix_centre.npy", "mix_projection.npy"):
        (old / name).unlink()
    probabilities, embeddings = load_artwork(old).infer(paths)
    assert embeddings.shape == (6, 64)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(mixed_probabilities, probabilities, atol=1e-5)


def test_unknown_format_version_is_refused(trained):
    base, _ = trained
    meta_path = base / "model" / "meta.json"
    original = meta_path.read_text()
    try:
        meta_path.write_text(json.dumps({**json.loads(original), "format_version": 2}))
        with pytest.raises(ArtefactError, match="format version 2"):
            load_artwork(base / "model")
    finally:
        meta_path.write_text(original)


def test_f1_scores():
    truth = np.array([[1, 0], [0, 1], [1, 1]])
    predicted = np.array([[1, 0], [1, 0], [1, 1]])
    scores = f1_scores(truth, predicted)
    assert scores["micro_f1"] == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    assert scores["macro_f1"] == pytest.approx((4 / 5 + 2 / 3) / 2)


def test_reads_multi_genre_labels(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("file,genres\na.png,horror|comedy\nb.png,\n")
    assert read_labels(labels) == (["a.png", "b.png"], [["comedy", "horror"], []])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("file,genres\na.png,red\nb.png,red,extra\n", "line 3"),
        ("name,tags\na.png,red\n", "line 1: expected the header"),
        ("file,genres\na.png,red\na.png,blue\n", "line 3: 'a.png' is listed twice"),
    ],
)
def test_bad_labels_name_the_line(tmp_path, content, message):
    labels = tmp_path / "labels.csv"
    labels.write_text(content)
    with pytest.raises(ArtworkDataError, match=message):
        read_labels(labels)


@pytest.mark.parametrize("bad", ["notes.txt", "broken.png"])
def test_non_image_and_corrupt_files_are_refused_by_name(tmp_path, bad):
    labels = make_folder(tmp_path, per_genre=2, seed=1)
    (tmp_path / bad).write_bytes(b"\x89PNG\r\n\x1a\n not really" if bad.endswith("png") else b"hi")
    with labels.open("a") as handle:
        handle.write(f"{bad},red\n")
    with pytest.raises(ArtworkDataError, match=rf"{bad}: not a readable image"):
        train_artwork(tmp_path, labels, tmp_path / "model", **TINY)
    assert not (tmp_path / "model").exists()


@pytest.mark.slow
def test_cli_trains_and_embeds(tmp_path, capsys):
    images = tmp_path / "images"
    labels = make_folder(images, per_genre=8, seed=3)
    model = tmp_path / "model"
    assert main(["artwork", "train", "--images", str(images), "--labels", str(labels),
                    "--out", str(model), "--epochs", "2", "--image-size", "24"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out)["images"] == 24

    out = tmp_path / "embeddings.csv"
    cmd = ["artwork", "embed", "--model", str(model), "--images", str(images), "--out", str(out)]
    assert main(cmd) == 0
    assert "labels.csv" in capsys.readouterr().err  # skipped, and said so
    rows = list(csv.reader(out.open()))
    assert rows[0][:3] == ["file", "genres", "e0"] and len(rows[0]) == 2 + 64
    assert sorted(r[0] for r in rows[1:]) == sorted(p.name for p in images.glob("*.png"))
    vectors = np.array([[float(v) for v in r[2:]] for r in rows[1:]])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)

    (images / "corrupt.jpg").write_bytes(b"not a jpeg")
    assert main(cmd) == 2
    assert "corrupt.jpg: not a readable image" in capsys.readouterr().err


def test_cli_refuses_missing_files(tmp_path):
    labels = make_folder(tmp_path / "images", per_genre=2, seed=1)
    with labels.open("a") as handle:
        handle.write("ghost.png,red\n")
    cmd = ["artwork", "train", "--images", str(tmp_path / "images"), "--labels", str(labels),
           "--out", str(tmp_path / "model")]  # fmt: skip
    assert main(cmd) == 2
    assert not (tmp_path / "model").exists()


@pytest.mark.slow
def test_same_seed_same_model(tmp_path):
    labels = make_folder(tmp_path / "images", per_genre=4, seed=5)
    quick = {**TINY, "epochs": 2}
    first = train_artwork(tmp_path / "images", labels, tmp_path / "a", seed=3, **quick)
    second = train_artwork(tmp_path / "images", labels, tmp_path / "b", seed=3, **quick)
    assert first == second
    a = load_artwork(tmp_path / "a").embeddings
    np.testing.assert_allclose(a, load_artwork(tmp_path / "b").embeddings, atol=1e-6)
