"""Generated artwork of known genres, for the artwork CNN benchmark.

Each genre has its own palette, shape kind and texture; an image has one genre, or two (then
both genres' shapes share the canvas). Noise keeps it from being trivial: palette colours are
jittered, a third of the shapes come from a random other genre's style, the background is a
random gradient, and pixel noise and blur vary per image.
"""

from __future__ import annotations

import csv
import math
import multiprocessing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


@dataclass(frozen=True)
class Style:
    palette: tuple[tuple[int, int, int], ...]
    shape: str  # circle | square | triangle | line | ring | star
    texture: str  # none | stripes | dots | checks


GENRES: dict[str, Style] = {
    "action": Style(((200, 40, 30), (240, 140, 20), (60, 60, 60)), "triangle", "stripes"),
    "comedy": Style(((250, 210, 40), (250, 120, 170), (90, 200, 250)), "circle", "dots"),
    "drama": Style(((70, 50, 90), (140, 110, 160), (200, 190, 210)), "square", "none"),
    "horror": Style(((20, 20, 20), (120, 0, 0), (80, 90, 70)), "line", "checks"),
    "romance": Style(((230, 90, 130), (250, 190, 200), (180, 40, 80)), "ring", "none"),
    "sci-fi": Style(((20, 200, 220), (40, 60, 180), (180, 250, 250)), "star", "checks"),
    "documentary": Style(((120, 140, 90), (190, 170, 120), (90, 110, 140)), "square", "stripes"),
    "animation": Style(((60, 200, 70), (250, 150, 40), (150, 80, 220)), "circle", "checks"),
}


def _colour(rng: np.random.Generator, style: Style, jitter: float) -> tuple[int, int, int]:
    base = np.array(style.palette[rng.integers(len(style.palette))], dtype=float)
    return tuple(int(c) for c in np.clip(base + rng.normal(0, jitter, 3), 0, 255))  # type: ignore[return-value]


def _shape(draw: ImageDraw.ImageDraw, rng: np.random.Generator, style: Style, size: int) -> None:
    colour = _colour(rng, style, 30)
    cx, cy = rng.uniform(0, size, 2)
    r = rng.uniform(0.06, 0.2) * size
    box = (cx - r, cy - r, cx + r, cy + r)
    if style.shape == "circle":
        draw.ellipse(box, fill=colour)
    elif style.shape == "square":
        draw.rectangle(box, fill=colour)
    elif style.shape == "ring":
        draw.ellipse(box, outline=colour, width=max(2, int(r / 3)))
    elif style.shape == "triangle":
        angle = rng.uniform(0, 2 * math.pi)
        points = [
            (
                cx + r * math.cos(angle + k * 2 * math.pi / 3),
                cy + r * math.sin(angle + k * 2 * math.pi / 3),
            )
            for k in range(3)
        ]
        draw.polygon(points, fill=colour)
    elif style.shape == "star":
        angle = rng.uniform(0, 2 * math.pi)
        points = [
            (
                cx + (r if k % 2 == 0 else r / 2.5) * math.cos(angle + k * math.pi / 5),
                cy + (r if k % 2 == 0 else r / 2.5) * math.sin(angle + k * math.pi / 5),
            )
            for k in range(10)
        ]
        draw.polygon(points, fill=colour)
    else:  # line
        angle = rng.uniform(0, math.pi)
        dx, dy = 2 * r * math.cos(angle), 2 * r * math.sin(angle)
        draw.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=colour, width=max(2, size // 40))


def _texture(image: Image.Image, rng: np.random.Generator, style: Style) -> Image.Image:
    if style.texture == "none":
        return image
    size = image.size[0]
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    colour = (*_colour(rng, style, 20), int(rng.uniform(50, 110)))
    step = int(rng.uniform(0.06, 0.12) * size) + 2
    if style.texture == "stripes":
        for offset in range(-size, size, step):
            draw.line((offset, 0, offset + size, size), fill=colour, width=max(1, step // 3))
    elif style.texture == "dots":
        for x in range(0, size, step):
            for y in range(0, size, step):
                draw.ellipse((x, y, x + step / 3, y + step / 3), fill=colour)
    else:  # checks
        for x in range(0, size, step):
            for y in range(0, size, step):
                if (x // step + y // step) % 2 == 0:
                    draw.rectangle((x, y, x + step - 1, y + step - 1), fill=colour)
    return Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")


def artwork(genres: list[str], rng: np.random.Generator, size: int = 128) -> Image.Image:
    """One image whose look follows `genres` (one or two names from GENRES), with noise."""
    styles = [GENRES[g] for g in genres]
    others = list(GENRES.values())
    top, bottom = (_colour(rng, styles[rng.integers(len(styles))], 60) for _ in range(2))
    ramp = np.linspace(0, 1, size)[:, None, None]
    background = (1 - ramp) * np.array(top) + ramp * np.array(bottom)
    image = Image.fromarray(np.repeat(background, size, axis=1).astype(np.uint8), "RGB")
    image = _texture(image, rng, styles[rng.integers(len(styles))])
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(4, 10))):
        # a third of the shapes are drawn in a random genre's style: clutter, not signal
        style = (
            others[rng.integers(len(others))]
            if rng.random() < 0.33
            else styles[rng.integers(len(styles))]
        )
        _shape(draw, rng, style, size)
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.0)))
    pixels = np.asarray(image, dtype=float) + rng.normal(0, rng.uniform(5, 25), (size, size, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _write(job: tuple[Path, int, list[str], int, int]) -> None:
    path, seed, genres, index, size = job
    # One generator per image, so the images do not depend on how many processes draw them.
    artwork(genres, np.random.default_rng([seed, index]), size).save(path)


def generate(
    out_dir: Path, count: int, *, size: int = 128, seed: int = 0, two_genres: float = 0.3
) -> Path:
    """Write `count` PNG images and `labels.csv` (file,genres) into out_dir; return the CSV."""
    rng = np.random.default_rng(seed)
    names = list(GENRES)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = []
    rows = []
    for index in range(count):
        k = 2 if rng.random() < two_genres else 1
        genres = sorted(rng.choice(names, size=k, replace=False).tolist())
        name = f"art{index:05d}.png"
        jobs.append((out_dir / name, seed, genres, index, size))
        rows.append([name, "|".join(genres)])
    with multiprocessing.Pool() as pool:
        pool.map(_write, jobs, chunksize=64)
    labels = out_dir / "labels.csv"
    with labels.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "genres"])
        writer.writerows(rows)
    return labels
