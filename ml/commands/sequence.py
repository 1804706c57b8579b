"""`python -m ml sequence train|recommend`: the GRU alone."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ml.commands import Subparsers, positive_int, progress_bar
from ml.data import Recommendation, read_interactions, user_histories, write_recommendations


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("sequence", help="the GRU next-item model alone")
    actions = parser.add_subparsers(dest="action", required=True)

    train = actions.add_parser("train", help="train on I.csv, early-stopped on each last item")
    train.add_argument("--interactions", type=Path, required=True, help="I.csv")
    train.add_argument("--out", type=Path, required=True, help="model directory to write")
    train.add_argument("--seed", type=int, default=0)
    add_hyperparameters(train)
    train.set_defaults(handler=run_train)

    rec = actions.add_parser("recommend", help="top k for every user in I.csv (NumPy only)")
    rec.add_argument("--model", type=Path, required=True, help="a `sequence train` directory")
    rec.add_argument("--interactions", type=Path, required=True, help="I.csv")
    rec.add_argument("--k", type=positive_int, default=10)
    rec.add_argument("--out", type=Path, required=True, help="recs.csv to write")
    rec.set_defaults(handler=run_recommend)


def add_hyperparameters(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("GRU hyperparameters (defaults: ml.sequence.DEFAULTS)")
    group.add_argument("--epochs", type=positive_int)
    group.add_argument("--patience", type=positive_int)
    group.add_argument("--dim", type=positive_int, help="item embedding size")
    group.add_argument("--hidden", type=positive_int, help="GRU state size")
    group.add_argument("--max-len", type=positive_int, help="items of history read")
    group.add_argument("--batch-size", type=positive_int)
    group.add_argument("--learning-rate", type=float)
    group.add_argument("--dropout", type=float)
    group.add_argument(
        "--loss",
        choices=("full", "sampled"),
        help="full softmax, or sampled negatives for catalogues too large for it",
    )
    group.add_argument("--negatives", type=positive_int, help="sampled negatives per window")


def hyperparameters(args: argparse.Namespace) -> dict[str, object]:
    names = ("epochs", "patience", "dim", "hidden", "max_len", "batch_size", "learning_rate",
             "dropout", "loss", "negatives")  # fmt: skip
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def run_train(args: argparse.Namespace) -> None:
    from ml.sequence import train_sequence  # loads Keras: only for training

    read_interactions(args.interactions)  # bad input fails here, before Keras starts
    with progress_bar("training GRU") as report:
        result = train_sequence(
            args.interactions, args.out, seed=args.seed, progress=report, **hyperparameters(args)
        )
    print(json.dumps({"model": str(args.out), "validation": result}, indent=2))


def run_recommend(args: argparse.Namespace) -> None:
    from ml.serving import SequenceServer

    server = SequenceServer.load(args.model)
    histories = user_histories(read_interactions(args.interactions))
    users = list(histories)
    item_lists = [[r.item for r in histories[u]] for u in users]
    recs = server.recommend_many(item_lists, args.k)
    rows = (
        Recommendation(user, item, rank + 1, score, because(items, server.index))
        for user, items, top in zip(users, item_lists, recs, strict=True)
        for rank, (item, score) in enumerate(top)
    )
    count = write_recommendations(args.out, rows)
    print(f"wrote {count} recommendations for {len(users)} users to {args.out}")


def because(items: list[str], known: dict[str, int]) -> str:
    """The GRU reads the latest items most: name the latest one it knows."""
    for item in reversed(items):
        if item in known:
            return f"because you played {item}"
    return "popular with everyone"
