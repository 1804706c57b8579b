"""`python -m ml recommend`: the hybrid's top k, with a reason, for every user in I.csv."""

from __future__ import annotations

import argparse
from pathlib import Path

from ml.commands import Subparsers, positive_int
from ml.data import read_interactions, read_reviews, write_recommendations


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("recommend", help="the hybrid's recommendations (recs.csv)")
    parser.add_argument("--model", type=Path, required=True, help="a `train` directory")
    parser.add_argument("--interactions", type=Path, required=True, help="I.csv")
    parser.add_argument("--reviews", type=Path, help="R.csv: reviews weigh the feedback")
    parser.add_argument("--k", type=positive_int, default=10)
    parser.add_argument("--out", type=Path, required=True, help="recs.csv to write")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    from ml import hybrid

    rows = read_interactions(args.interactions)
    reviews = read_reviews(args.reviews) if args.reviews else []
    recs = hybrid.recommend(args.model, rows, reviews, args.k)
    count = write_recommendations(args.out, recs)
    print(f"wrote {count} recommendations for {len({r.user for r in rows})} users to {args.out}")
