"""`python -m ml artwork train|embed`: the artwork CNN on its own."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ml.artwork import IMAGE_EXTENSIONS, ArtworkDataError, image_files, read_labels
from ml.commands import Subparsers, positive_int, progress_bar
from ml.csvfiles import write_rows


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("artwork", help="artwork CNN: genres and look-alike embeddings")
    actions = parser.add_subparsers(dest="action", required=True)

    train = actions.add_parser("train", help="train on a folder of images and file,genres CSV")
    train.add_argument("--images", type=Path, required=True, help="folder of images")
    train.add_argument("--labels", type=Path, required=True, help="labels.csv: file,genres")
    train.add_argument("--out", type=Path, required=True, help="model directory to write")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--epochs", type=positive_int)
    train.add_argument("--patience", type=positive_int)
    train.add_argument("--batch-size", type=positive_int)
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--image-size", type=positive_int, help="pixels the images are resized to")
    train.set_defaults(handler=run_train)

    embed = actions.add_parser("embed", help="write file,genres,e0..e63 for every image")
    embed.add_argument("--model", type=Path, required=True, help="model directory")
    embed.add_argument("--images", type=Path, required=True, help="folder of images")
    embed.add_argument("--out", type=Path, required=True, help="embeddings.csv to write")
    embed.set_defaults(handler=run_embed)


def run_train(args: argparse.Namespace) -> None:
    from ml.artwork import train_artwork  # loads Keras: only for training

    files, _ = read_labels(args.labels)  # bad input fails here, before Keras starts
    missing = [f for f in files if not (args.images / f).is_file()]
    if missing:
        raise ArtworkDataError(f"{args.images / missing[0]}: no such file "
                               f"({len(missing)} listed in {args.labels} are missing)")  # fmt: skip
    names = ("epochs", "patience", "batch_size", "learning_rate", "image_size")
    hyper = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    with progress_bar("training artwork CNN") as report:
        metrics = train_artwork(
            args.images, args.labels, args.out, seed=args.seed, progress=report, **hyper
        )
    print(json.dumps({"model": str(args.out), "images": len(files), "held_out": metrics},
                     indent=2))  # fmt: skip


def run_embed(args: argparse.Namespace) -> None:
    from ml.artwork import load_artwork

    paths = image_files(args.images)
    skipped = sorted(
        p.name for p in args.images.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() not in IMAGE_EXTENSIONS
    )  # fmt: skip
    if skipped:
        print(f"skipped {len(skipped)} files that are not images by name: "
              f"{', '.join(skipped[:5])}", file=sys.stderr)  # fmt: skip
    if not paths:
        raise ArtworkDataError(f"{args.images}: no image files")
    model = load_artwork(args.model)
    probabilities, embeddings = model.infer(paths)
    genres = model.genres_of(probabilities)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_rows(
        args.out,
        ["file", "genres", *(f"e{i}" for i in range(embeddings.shape[1]))],
        (
            [path.name, "|".join(gs), *(f"{v:.6f}" for v in row)]
            for path, row, gs in zip(paths, embeddings.tolist(), genres, strict=True)
        ),
    )
    print(f"wrote {len(paths)} embeddings to {args.out}")
