"""`python -m ml baseline recommend --method popularity|itemknn|markov|ease|als ...`

item-kNN, EASE and ALS are tuned on one item per user held out of I.csv, then refitted on all
of it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ml import baselines
from ml.commands import CommandError, Subparsers, positive_int
from ml.data import Recommendation, encode, read_interactions, write_recommendations
from ml.evaluation import recommend
from ml.factors import EASE_MAX_ITEMS


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "baseline", help="popularity, item-kNN, Markov, EASE and ALS baselines"
    )
    actions = parser.add_subparsers(dest="action", required=True)
    rec = actions.add_parser("recommend", help="top k for every user in I.csv")
    rec.add_argument("--method", choices=baselines.METHODS, required=True)
    rec.add_argument("--interactions", type=Path, required=True, help="I.csv")
    rec.add_argument("--k", type=positive_int, default=10)
    rec.add_argument("--seed", type=int, default=0, help="the tuning hold-out's draw")
    rec.add_argument("--out", type=Path, required=True, help="recs.csv to write")
    rec.set_defaults(handler=run_recommend)


REASONS = {
    "popularity": "popular with everyone",
    "itemknn": "often watched with what you have",
    "markov": "often comes next after your last one",
    "ease": "often watched with what you have",
    "als": "liked by people with your taste",
}


def check_size(method: str, n_items: int) -> None:
    if method == "ease" and n_items > EASE_MAX_ITEMS:
        raise CommandError(
            f"ease: {n_items} items is more than its items x items matrix allows "
            f"({EASE_MAX_ITEMS}); use als"
        )


def run_recommend(args: argparse.Namespace) -> None:
    seqs = encode(read_interactions(args.interactions))
    check_size(args.method, seqs.n_items)
    scorer = baselines.fit(args.method, seqs, seed=args.seed)
    ranked, scores = recommend(scorer, seqs.histories, args.k)
    rows = (
        Recommendation(user, seqs.items[item], rank + 1, float(score), REASONS[args.method])
        for user, items, values in zip(seqs.users, ranked, scores, strict=True)
        for rank, (item, score) in enumerate(zip(items, values, strict=True))
        if score > float("-inf")
    )
    count = write_recommendations(args.out, rows)
    print(f"wrote {count} recommendations for {len(seqs.users)} users to {args.out}")
