"""The fixed image descriptors see layout and edges that a colour histogram cannot, and the
ridge genre head learns genres from them on images it has not seen."""

from __future__ import annotations

import numpy as np
import pytest

from ml.descriptors import describe, fit_genre_head, genre_scores


def stripes(vertical: bool, rng: np.random.Generator, size: int = 32) -> np.ndarray:
    """Two colours in stripes of random width and phase: the same colours either way."""
    width = int(rng.integers(2, 5))
    phase = int(rng.integers(0, 2 * width))
    band = ((np.arange(size) + phase) // width) % 2
    mask = np.broadcast_to(band[None, :] if vertical else band[:, None], (size, size))
    image = np.where(mask[..., None] == 1, [200, 40, 40], [30, 30, 160])
    noise = rng.integers(-12, 12, (size, size, 3))
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def test_layout_and_edges_tell_apart_what_colours_alone_cannot():
    top_red = np.zeros((1, 16, 16, 3), np.uint8)
    top_red[:, :8] = (220, 20, 20)
    top_red[:, 8:] = (20, 20, 220)
    bottom_red = top_red[:, ::-1]
    first, second = describe(np.concatenate([top_red, bottom_red]))
    whole = slice(0, 64)  # the whole image's colour histogram comes first
    np.testing.assert_allclose(first[whole], second[whole])
    assert np.abs(first - second).max() > 0.5

    rng = np.random.default_rng(0)
    across = describe(np.stack([stripes(True, rng), stripes(False, rng)]))
    assert across.shape == (2, 468)
    assert np.abs(across[0] - across[1])[320:].max() > 0.3  # the gradients' part


@pytest.mark.parametrize("size", [16, 24, 64])
def test_descriptors_have_one_width_at_every_image_size(size):
    images = np.random.default_rng(size).integers(0, 256, (3, size, size, 3), dtype=np.uint8)
    described = describe(images)
    assert described.shape == (3, 468) and np.isfinite(described).all()


def test_genre_head_learns_stripe_direction_and_scores_unseen_images():
    rng = np.random.default_rng(1)
    vertical = np.arange(60) % 2 == 0
    images = np.stack([stripes(bool(v), rng) for v in vertical])
    truth = np.stack([vertical, ~vertical], axis=1).astype(np.float32)
    head = fit_genre_head(describe(images), truth, ridge=10.0)
    assert head["descriptor_weights"].shape == (468, 2)

    fresh_vertical = np.arange(20) % 3 == 0
    fresh = np.stack([stripes(bool(v), rng) for v in fresh_vertical])
    scores = genre_scores(describe(fresh), head)
    assert np.mean((scores[:, 0] > scores[:, 1]) == fresh_vertical) >= 0.95
