"""`python -m ml evaluate --interactions I.csv [--methods ...]`: the protocol's metrics as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ml import baselines
from ml.commands import CommandError, Subparsers, positive_int, progress_bar
from ml.commands.baseline import check_size
from ml.commands.sequence import add_hyperparameters, hyperparameters
from ml.data import read_interactions
from ml.evaluation import evaluate, five_core, leave_one_out
from ml.factors import FACTORS

METHODS = (*baselines.METHODS, "sequence", "hybrid")
# The quick ones; EASE and ALS are tuned over grids (a minute each on ml-latest-small).
DEFAULT_METHODS = ("popularity", "itemknn", "markov")


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="leave-one-out metrics (HR, NDCG, MRR, coverage) as JSON",
        description="5-core filtering, leave-one-out by time, full ranking without seen items.",
    )
    parser.add_argument("--interactions", type=Path, required=True, help="I.csv")
    parser.add_argument(
        "--methods",
        default=",".join(DEFAULT_METHODS),
        help=f"comma-separated, from {', '.join(METHODS)} (default: {','.join(DEFAULT_METHODS)}); "
        "sequence and hybrid train a GRU on the training part first",
    )
    parser.add_argument(
        "--factors",
        choices=FACTORS,
        default="auto",
        help="the hybrid's co-occurrence part, as `train --factors`: EASE where the catalogue "
        "fits it, ALS beyond (auto)",
    )
    parser.add_argument("--k", type=positive_int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    add_hyperparameters(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> None:
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise CommandError(f"--methods: unknown {unknown}; choose from {', '.join(METHODS)}")
    rows = five_core(read_interactions(args.interactions))
    if not rows:
        raise CommandError(f"{args.interactions}: no user and item left after 5-core filtering")
    split = leave_one_out(rows, seed=args.seed)
    histories, targets = split.testing()
    results: dict[str, dict[str, float]] = {}
    for method in methods:
        check_size(method, split.train.n_items)
    if "hybrid" in methods and args.factors == "ease":
        check_size("ease", split.train.n_items)
    for method in methods:
        if method in baselines.TUNED:
            # Tuned on the validation items, never on the test items.
            tuned = baselines.tune(method, split.train, split.valid, seed=args.seed)
            results[method] = evaluate(tuned.model, histories, targets, split.train.n_items, args.k)
            print(
                f"{method}: tuned {json.dumps(tuned.params)}, validation NDCG@10 {tuned.ndcg:.4f}",
                file=sys.stderr,
            )
        elif method in baselines.METHODS:
            scorer = baselines.fit(method, split.train)
            results[method] = evaluate(scorer, histories, targets, split.train.n_items, args.k)
    if {"sequence", "hybrid"} & set(methods):
        from ml import hybrid, sequence
        from ml.serving import SequenceServer

        with progress_bar("training GRU") as report:
            model, summary = sequence.fit(
                split.train, split.valid, seed=args.seed, progress=report, **hyperparameters(args)
            )
        hp = summary["hyperparameters"]
        if "sequence" in methods:
            server = SequenceServer(sequence.export_arrays(model), split.train.items, hp["max_len"])
            results["sequence"] = evaluate(server, histories, targets, split.train.n_items, args.k)
        if "hybrid" in methods:
            # The product's hybrid: with the co-occurrence part `train` would give it, tuned on
            # the validation items like the blend.
            ease, als = hybrid.tuned_parts(
                args.factors, split.train, *split.validation(), seed=args.seed
            )
            results["hybrid"] = hybrid.evaluate_split(
                split, model, hp, seed=args.seed, k=args.k,
                ease=ease.model if ease is not None else None,
                als=als.model if als is not None else None,
            )["metrics"]  # fmt: skip
    json.dump(results, sys.stdout, indent=2)
    print()
