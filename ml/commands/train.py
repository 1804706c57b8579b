"""`python -m ml train`: the hybrid (GRU, plus sentiment and artwork when given data)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ml.commands import CommandError, Subparsers, progress_bar
from ml.commands.baseline import check_size
from ml.commands.sequence import add_hyperparameters, hyperparameters
from ml.data import read_interactions, read_reviews
from ml.factors import FACTORS
from ml.item_features import read_item_features


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the hybrid recommender: GRU + sentiment (--reviews) + artwork (--artwork)",
    )
    parser.add_argument("--interactions", type=Path, required=True, help="I.csv")
    parser.add_argument("--reviews", type=Path, help="R.csv: user,item,text,rating")
    parser.add_argument("--artwork", type=Path, help="folder of item images (file stem = item id)")
    parser.add_argument("--labels", type=Path, help="labels.csv for --artwork: file,genres")
    parser.add_argument(
        "--items",
        type=Path,
        help="items.csv: item,title,genres,year (side information for EASE)",
    )
    parser.add_argument(
        "--factors",
        choices=FACTORS,
        default="auto",
        help="the co-occurrence part: EASE where the catalogue fits it, ALS beyond (auto), "
        "one of them, or none",
    )
    parser.add_argument("--out", type=Path, required=True, help="model directory to write")
    parser.add_argument("--seed", type=int, default=0)
    add_hyperparameters(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    if (args.artwork is None) != (args.labels is None):
        raise CommandError("--artwork and --labels go together")
    rows = read_interactions(args.interactions)
    reviews = read_reviews(args.reviews) if args.reviews else []
    if args.items:
        read_item_features(args.items)  # a bad file fails here, before any training
    if args.factors == "ease":
        check_size("ease", len({row.item for row in rows}))
    from ml import hybrid  # loads Keras: only once the input is known to be good

    with progress_bar("training") as report:
        result = hybrid.train(
            rows,
            args.out,
            reviews=reviews,
            artwork_dir=args.artwork,
            labels_csv=args.labels,
            items_csv=args.items,
            factors=args.factors,
            seed=args.seed,
            progress=report,
            sequence_hyper=hyperparameters(args),
        )
    print(json.dumps({"model": str(args.out), "validation": result}, indent=2))
