"""Generated cover art whose look follows the genre, for the demo world.

Each genre of each kind has a style: a palette, a kind of shape and a texture. An item's
cover is painted in its first genre's style, with a smaller overlay in its second genre's
shape and accent colour, so the artwork CNN has both a main label and secondary ones to find.
Colours, positions, sizes and counts vary per item and noise is added, so no two covers are
the same; everything is drawn from a generator seeded by (world seed, item key), so the same
seed paints the same bytes.
"""

from __future__ import annotations

import functools
import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

ARTWORK_SIZE = 256
Canvas = np.ndarray  # float32, (size, size, 3), 0-255


@dataclass(frozen=True)
class Style:
    background: tuple[str, str]  # gradient from top to bottom, "#rrggbb"
    accents: tuple[str, ...]  # one set of shapes per colour
    shape: str
    texture: str
    noise: float


STYLES: dict[tuple[str, str], Style] = {
    ("film", "Action"): Style(("#280a05", "#e65a14"), ("#ffc828", "#141414"), "rays", "grain", 14),
    ("film", "Comedy"): Style(
        ("#ffec5a", "#ff96be"), ("#28bee6", "#ffffff"), "circles", "smooth", 4
    ),
    ("film", "Drama"): Style(
        ("#46556e", "#a0aab4"), ("#282d3c", "#d2c8b9"), "blocks", "vignette", 6
    ),
    ("film", "Horror"): Style(
        ("#050508", "#46050a"), ("#aa0a14", "#dcdcd2"), "triangles", "speckle", 10
    ),
    ("film", "Science Fiction"): Style(
        ("#050a28", "#0a5a6e"), ("#3cffe6", "#c850ff"), "rings", "scanlines", 6
    ),
    ("film", "Romance"): Style(
        ("#ffd2dc", "#c8466e"), ("#fff5eb", "#96143c"), "diamonds", "smooth", 3
    ),
    ("film", "Thriller"): Style(
        ("#0f2319", "#5a6e64"), ("#e6d228", "#0a0a0a"), "stripes", "grain", 12
    ),
    ("film", "Animation"): Style(
        ("#5ac8ff", "#ffffc8"), ("#ff4646", "#3cc850"), "dots", "smooth", 3
    ),
    ("music", "Rock"): Style(
        ("#0f0f0f", "#961414"), ("#f5f5f5", "#c81e1e"), "stripes", "grain", 16
    ),
    ("music", "Electronic"): Style(
        ("#0a001e", "#3c005a"), ("#ff28c8", "#28f0ff"), "waves", "scanlines", 5
    ),
    ("music", "Jazz"): Style(
        ("#0f1946", "#283c78"), ("#e1b43c", "#f0e6c8"), "circles", "grain", 10
    ),
    ("music", "Hip-Hop"): Style(
        ("#140f0a", "#6e3c96"), ("#f0c828", "#fafafa"), "blocks", "speckle", 8
    ),
    ("music", "Classical"): Style(
        ("#f5ebd2", "#d2be96"), ("#781428", "#b48c32"), "rings", "vignette", 4
    ),
    ("music", "Folk"): Style(
        ("#785a32", "#c8b482"), ("#3c6e32", "#f0e6c8"), "waves", "crosshatch", 7
    ),
    ("music", "Pop"): Style(("#ff78c8", "#78dcff"), ("#fffa78", "#ffffff"), "dots", "smooth", 3),
    ("music", "Metal"): Style(
        ("#000000", "#3c3c41"), ("#bebec8", "#780000"), "triangles", "grain", 18
    ),
    ("game", "Action"): Style(
        ("#1e3250", "#f0781e"), ("#fae63c", "#141e28"), "diamonds", "grain", 12
    ),
    ("game", "Role-playing"): Style(
        ("#280a3c", "#144628"), ("#e6be50", "#b478ff"), "rays", "vignette", 6
    ),
    ("game", "Strategy"): Style(
        ("#6e6e3c", "#c8b482"), ("#28468c", "#8c1e1e"), "blocks", "crosshatch", 6
    ),
    ("game", "Puzzle"): Style(
        ("#e6f0ff", "#c8e6dc"), ("#7896ff", "#ffa078"), "triangles", "smooth", 3
    ),
    ("game", "Platformer"): Style(
        ("#64beff", "#6ed25a"), ("#ffdc28", "#e63c32"), "circles", "smooth", 4
    ),
    ("game", "Racing"): Style(
        ("#96969b", "#1e1e23"), ("#e61414", "#fafafa"), "stripes", "speckle", 9
    ),
    ("game", "Simulation"): Style(
        ("#aadcff", "#78be6e"), ("#ffffff", "#c8783c"), "blocks", "smooth", 4
    ),
    ("game", "Survival Horror"): Style(
        ("#0a140a", "#3c4628"), ("#8ca05a", "#780a0a"), "waves", "vignette", 14
    ),
}
# An item whose genre has no style (a genre added later) still gets a cover.
FALLBACK = Style(("#3c3c3c", "#a0a0a0"), ("#e6e6e6", "#1e1e1e"), "circles", "grain", 8)


def style_for(kind: str, genre: str) -> Style:
    return STYLES.get((kind, genre), FALLBACK)


def _rng(seed: int, key: str) -> np.random.Generator:
    # hashlib, not hash(): Python salts str hashes per process.
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _jitter(rng: np.random.Generator, colour: str, amount: float = 18.0) -> np.ndarray:
    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float32)
    return np.clip(rgb + rng.normal(0, amount, 3), 0, 255)


def _paint(canvas: Canvas, mask: np.ndarray, colour: np.ndarray, alpha: float) -> None:
    # Only the covered pixels: most shapes cover a small part of the canvas.
    canvas[mask] = canvas[mask] * (1 - alpha) + colour * alpha


# Shapes: each paints `count` instances on the canvas; `scale` shrinks them for overlays.
ShapeFn = Callable[[Canvas, np.random.Generator, np.ndarray, int, float], None]


@functools.cache
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / size
    # Shared between calls: read-only so no shape can change it for the next.
    xs.flags.writeable = False
    ys.flags.writeable = False
    return xs, ys


def _circles(canvas: Canvas, rng: np.random.Generator, colour: np.ndarray, n: int, s: float):
    xs, ys = _grid(canvas.shape[0])
    for _ in range(n):
        cx, cy = rng.uniform(0, 1, 2)
        r = rng.uniform(0.05, 0.22) * s
        _paint(canvas, (xs - cx) ** 2 + (ys - cy) ** 2 < r * r, colour, rng.uniform(0.6, 0.95))


def _rings(canvas: Canvas, rng: np.random.Generator, colour: np.ndarray, n: int, s: float):
    xs, ys = _grid(canvas.shape[0])
    for _ in range(max(1, n // 3)):
        cx, cy = rng.uniform(0.2, 0.8, 2)
        dist = np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2)
        freq = rng.uniform(40, 70)
        mask = (np.sin(dist * freq) > 0.5) & (dist < rng.uniform(0.25, 0.5) * s)
        _paint(canvas, mask, colour, 0.85)


def _stripes(canvas: Canvas, rng: np.random.Generator, colour: np.ndarray, n: int, s: float):
    xs, ys = _grid(canvas.shape[0])
    angle = rng.uniform(0.5, 1.1)  # always diagonal, one way
    along = xs * np.cos(angle) + ys * np.sin(angle)
    mask = np.sin(along * (10 + n * 2) / s + rng.uniform(0, 6.3)) > rng.uniform(0.2, 0.6)
    if s < 1:
        # An overlay keeps its stripes to one band.
        centre = rng.uniform(0.3, 0.7)
        mask &= np.abs(ys - centre) < 0.15
    _paint(canvas, mask, colour, 0.8)


def _triangles(canvas: Canvas, rng: np.random.Generator, colour: np.ndarray, n: int, s: float):
    xs, ys = _grid(canvas.shape[0])
    for _ in range(n):
        centre = rng.uniform(0, 1, 2)
        points = centre + rng.normal(0, 0.18 * s, (3, 2))
        (x1, y1), (x2, y2), (x3, y3) = points
        d1 = (xs - x2) * (y1 - y2) - (x1 - x2) * (ys - y2)
        d2 = (xs - x3) * (y2 - y3) - (x2 - x3) * (ys - y3)
        d3 = (xs - x1) * (y3 - y1) - (x3 - x1) * (ys - y1)
        negative = (d1 < 0) | (d2 < 0) | (d3 < 0)
        positive = (d1 > 0) | (d2 > 0) | (d3 > 0)
        _paint(canvas, ~(negative & positive), colour, rng.uniform(0.7, 0.95))


def _blocks(canvas: Canvas, rng: np.random.Generator, colour: np.ndarray, n: int, s: float):
    size = canvas.shape[0]
    for _ in range(n):
        w, h = (rng.uniform(0.08, 0.35, 2) * s * size).astype(int) + 2
        x, y = rng.integers(0, size - 1, 2)
        mask = np.zeros((size, size), dtype=bool)
        mask[y : y + h, x : x + w] = True
        _paint(canvas, mask, colour, rng.uniform(0.6, 0.9))


def _waves(canvas: Canvas, rng: np.random.Generator, colour: np.ndarray, n: int, s: float):
    xs, ys = _grid(canvas.shape[0])
    for _ in range(max(2, n // 2)):
        base = rng.uniform(0.1, 0.9)
        amp = rng.uniform(0.03, 0.12) * s
        curve = base + amp * np.sin(xs * rng.uniform(8, 20) + rng.uniform(0, 6.3))
        _paint(canvas, np.abs(ys - curve) < 0.02 + 0.02 * s, colour, 0.85)


def _rays(canvas: Canvas, rng: np.random.Generator, colour: np.ndarray, n: int, s: float):
    xs, ys = _grid(canvas.shape[0])
    cx, cy = rng.uniform(0.2, 0.8, 2)
    angle = np.arctan2(ys - cy, xs - cx)
    dist = np.sqrt((xs - cx) ** 2 + (ys - cy) ** 2)
    mask = np.sin(angle * (6 + n) + rng.uniform(0, 6.3)) > 0.3
    _paint(canvas, mask & (dist < 0.9 * s), colour, 0.7)


def _dots(canvas: Canvas, rng: np.random.Generator, colour: np.ndarray, n: int, s: float):
    xs, ys = _grid(canvas.shape[0])
    pitch = rng.uniform(0.06, 0.1)
    fx, fy = (xs / pitch) % 1 - 0.5, (ys / pitch) % 1 - 0.5
    radius = 0.15 + 0.25 * ys if rng.random() < 0.5 else 0.15 + 0.25 * xs
    mask = fx**2 + fy**2 < radius**2
    if s < 1:
        cx, cy = rng.uniform(0.2, 0.8, 2)
        mask &= (xs - cx) ** 2 + (ys - cy) ** 2 < (0.3 * s) ** 2
    _paint(canvas, mask, colour, 0.85)


def _diamonds(canvas: Canvas, rng: np.random.Generator, colour: np.ndarray, n: int, s: float):
    xs, ys = _grid(canvas.shape[0])
    for _ in range(n):
        cx, cy = rng.uniform(0, 1, 2)
        r = rng.uniform(0.06, 0.2) * s
        _paint(canvas, np.abs(xs - cx) + np.abs(ys - cy) < r, colour, rng.uniform(0.6, 0.95))


SHAPES: dict[str, ShapeFn] = {
    "circles": _circles,
    "rings": _rings,
    "stripes": _stripes,
    "triangles": _triangles,
    "blocks": _blocks,
    "waves": _waves,
    "rays": _rays,
    "dots": _dots,
    "diamonds": _diamonds,
}


def _texture(canvas: Canvas, rng: np.random.Generator, texture: str) -> None:
    size = canvas.shape[0]
    xs, ys = _grid(size)
    if texture == "grain":
        canvas += rng.standard_normal((size, size, 1), dtype=np.float32) * 14
    elif texture == "scanlines":
        canvas[::3] *= 0.55
    elif texture == "speckle":
        spots = rng.random((size, size)) < 0.02
        canvas[spots] = 255 - canvas[spots]
    elif texture == "crosshatch":
        hatch = np.sin((xs + ys) * size * 0.8) * np.sin((xs - ys) * size * 0.8)
        canvas += (hatch * 18)[..., None]
    elif texture == "vignette":
        dist = np.sqrt((xs - 0.5) ** 2 + (ys - 0.5) ** 2)
        canvas *= np.clip(1.15 - dist * 1.3, 0.25, 1)[..., None]
    # "smooth" adds nothing: flat colour is its texture.


def render_canvas(
    kind: str, genres: Sequence[str], key: str, seed: int, size: int = ARTWORK_SIZE
) -> np.ndarray:
    """The cover as a uint8 (size, size, 3) array."""
    rng = _rng(seed, key)
    style = style_for(kind, genres[0] if genres else "")
    xs, ys = _grid(size)
    angle = rng.uniform(1.2, 1.9)  # near-vertical gradients, varied per item
    t = np.clip(xs * np.cos(angle) + ys * np.sin(angle), 0, 1)[..., None]
    top, bottom = (_jitter(rng, c) for c in style.background)
    canvas = (top * (1 - t) + bottom * t).astype(np.float32)

    shape = SHAPES[style.shape]
    for colour in style.accents:
        shape(canvas, rng, _jitter(rng, colour), int(rng.integers(3, 9)), 1.0)
    if len(genres) > 1:
        second = style_for(kind, genres[1])
        overlay = SHAPES[second.shape]
        overlay(canvas, rng, _jitter(rng, second.accents[0]), int(rng.integers(2, 4)), 0.5)

    _texture(canvas, rng, style.texture)
    canvas += rng.standard_normal(canvas.shape, dtype=np.float32) * style.noise
    return np.clip(canvas, 0, 255).astype(np.uint8)


def render_png(
    kind: str, genres: Sequence[str], key: str, seed: int, size: int = ARTWORK_SIZE
) -> bytes:
    """The cover as PNG bytes: the same arguments give the same bytes."""
    buffer = io.BytesIO()
    Image.fromarray(render_canvas(kind, genres, key, seed, size), "RGB").save(
        buffer, format="PNG", compress_level=1
    )
    return buffer.getvalue()
