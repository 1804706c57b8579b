"""Fixed image descriptors and the linear genre head the artwork embedding reads from them.

A network trained from scratch on a few thousand images learns only part of what simple,
fixed measurements of an image carry. The descriptors: square-rooted 4x4x4 RGB histograms of the
whole image and of its four quadrants (layout of colour), magnitude-weighted histograms of
gradient orientation (8 bins, square-rooted) and the mean gradient magnitude in a 4x4 grid of
cells (layout of edges and texture), and the mean and spread of brightness and saturation.
A ridge regression from them (standardised) to the genres, fitted in closed form on the
catalogue's labelled images, gives one score per genre; the embedding mixes those scores beside the
network's blocks (ml.artwork.Mixer). On the real posters this head alone finds neighbours
sharing a genre about as often as the network does, and the two together more often than either
(ml/README.md, "Ninth pass").
"""

from __future__ import annotations

import numpy as np

COLOUR_LEVELS = 4
ORIENTATIONS = 8
GRADIENT_CELLS = 4
# Colour histograms of the whole and of 4 quadrants, 4x4 cells of orientations and magnitude,
# brightness and saturation.
WIDTH = 5 * COLOUR_LEVELS**3 + GRADIENT_CELLS**2 * (ORIENTATIONS + 1) + 4
CHUNK = 256

# Ridge penalty of the genre head, on standardised descriptors (chosen on held-out training
# posters, ml/README.md).
RIDGE = 300.0

# The saved arrays of a fitted head (a model directory's .npy files).
DESCRIPTOR_HEAD = ("descriptor_mean", "descriptor_scale", "descriptor_weights")


def _edges(size: int, parts: int) -> list[tuple[int, int]]:
    cuts = np.linspace(0, size, parts + 1).round().astype(int)
    return list(zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True))


def _colour_histograms(codes: np.ndarray) -> np.ndarray:
    """Square-rooted, normalised histograms of colour codes, (n, h, w) -> (n, levels^3)."""
    bins = COLOUR_LEVELS**3
    flat = codes.reshape(len(codes), -1)
    offsets = (np.arange(len(codes)) * bins)[:, None]
    counts = np.bincount((flat + offsets).ravel(), minlength=len(codes) * bins)
    counts = counts.reshape(len(codes), bins).astype(np.float64)
    return np.sqrt(counts / flat.shape[1])


def describe(images: np.ndarray) -> np.ndarray:
    """(n, 468) descriptors of uint8 RGB images (n, size, size, 3); size at least 8."""
    # In chunks: the float copies of a whole catalogue's pixels would not fit in memory.
    chunks = [_describe(images[i : i + CHUNK]) for i in range(0, len(images), CHUNK)]
    return np.concatenate(chunks) if chunks else np.zeros((0, WIDTH))


def _describe(images: np.ndarray) -> np.ndarray:
    n, height, width = images.shape[:3]
    pixels = images.astype(np.float64) / 255.0
    levels = np.minimum(images.astype(np.int64) * COLOUR_LEVELS // 256, COLOUR_LEVELS - 1)
    codes = (levels[..., 0] * COLOUR_LEVELS + levels[..., 1]) * COLOUR_LEVELS + levels[..., 2]
    parts = [_colour_histograms(codes)]
    for top, bottom in _edges(height, 2):
        for left, right in _edges(width, 2):
            parts.append(_colour_histograms(codes[:, top:bottom, left:right]))

    grey = pixels.mean(axis=-1)
    dx, dy = np.zeros_like(grey), np.zeros_like(grey)
    dx[:, :, 1:-1] = grey[:, :, 2:] - grey[:, :, :-2]
    dy[:, 1:-1] = grey[:, 2:] - grey[:, :-2]
    magnitude = np.hypot(dx, dy)
    # Orientation without sign (an edge from dark to light and back is one edge), in bins.
    orientation = np.minimum(
        ((np.arctan2(dy, dx) % np.pi) / np.pi * ORIENTATIONS).astype(np.int64), ORIENTATIONS - 1
    )
    offsets = (np.arange(n) * ORIENTATIONS)[:, None]
    for top, bottom in _edges(height, GRADIENT_CELLS):
        for left, right in _edges(width, GRADIENT_CELLS):
            cell = (slice(None), slice(top, bottom), slice(left, right))
            weights = magnitude[cell].reshape(n, -1)
            counts = np.bincount(
                (orientation[cell].reshape(n, -1) + offsets).ravel(),
                weights=weights.ravel(),
                minlength=n * ORIENTATIONS,
            ).reshape(n, ORIENTATIONS)
            parts.append(np.sqrt(counts / (counts.sum(axis=1, keepdims=True) + 1e-9)))
            parts.append(weights.mean(axis=1, keepdims=True))

    saturation = pixels.max(axis=-1) - pixels.min(axis=-1)
    parts.append(
        np.stack(
            [grey.mean((1, 2)), grey.std((1, 2)), saturation.mean((1, 2)), saturation.std((1, 2))],
            axis=1,
        )
    )
    return np.hstack(parts)


def fit_genre_head(
    descriptors: np.ndarray, truth: np.ndarray, ridge: float = RIDGE
) -> dict[str, np.ndarray]:
    """Ridge regression from standardised descriptors to centred genre indicators.

    Returns the saved arrays: the descriptors' means and scales and the (features, genres)
    weights. No intercept: the embedding centres each block on the catalogue anyway.
    """
    mean = descriptors.mean(axis=0)
    scale = descriptors.std(axis=0) + 1e-6
    x = (descriptors - mean) / scale
    y = truth.astype(np.float64) - truth.mean(axis=0)
    weights = np.linalg.solve(x.T @ x + ridge * np.eye(x.shape[1]), x.T @ y)
    return {"descriptor_mean": mean, "descriptor_scale": scale, "descriptor_weights": weights}


def genre_scores(descriptors: np.ndarray, head: dict[str, np.ndarray]) -> np.ndarray:
    """(n, genres) linear genre scores of descriptors under a fitted head."""
    x = (descriptors - head["descriptor_mean"]) / head["descriptor_scale"]
    return np.asarray(x @ head["descriptor_weights"])
