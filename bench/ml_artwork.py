"""Artwork CNN on generated artwork of known genres.

    .venv/bin/python bench/ml_artwork.py [--images 5000] [--size 128] [--seed 0] [--set k=v ...]

Generates the images (bench/artwork_generator.py: genre decides palette, shape and texture,
30% of images have two genres, with clutter and noise), trains the CNN on them (it holds out
20% itself) and prints the held-out micro/macro F1 of genres and the genre accuracy of each
held-out image's nearest neighbour in embedding space, beside their chance levels, and the
training time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from artwork_generator import generate  # noqa: E402

from ml.artwork import load_artwork, train_artwork  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", nargs="*", default=[], help="hyperparameter overrides k=v")
    parser.add_argument("--data", type=Path, help="reuse (or create) the generated images here")
    args = parser.parse_args()
    hyper = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.data or Path(tmp) / "art"
        labels = folder / "labels.csv"
        if not labels.is_file():
            started = time.perf_counter()
            generate(folder, args.images, size=args.size, seed=args.seed)
            print(
                f"generated {args.images} images of {args.size} px in "
                f"{time.perf_counter() - started:.1f} s"
            )
        started = time.perf_counter()
        metrics = train_artwork(folder, labels, Path(tmp) / "model", seed=args.seed, **hyper)
        seconds = time.perf_counter() - started
        model = load_artwork(Path(tmp) / "model")
        print(
            f"trained in {seconds:.1f} s on {os.cpu_count()} cores "
            f"({metrics['epochs_trained']:.0f} epochs, hyperparameters "
            f"{json.dumps(model.meta['hyperparameters'])})"
        )
        print(f"embedding: {model.embeddings.shape[1]}-d for {model.embeddings.shape[0]} images")
        for name in ("micro_f1", "macro_f1", "neighbour_genre_accuracy"):
            print(f"  {name:26s} {metrics[name]:.3f}   chance {metrics['chance_' + name]:.3f}")


if __name__ == "__main__":
    main()
