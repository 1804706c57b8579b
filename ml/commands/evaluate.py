"""`python -m ml evaluate --interactions I.csv [--methods ...]`: the protocol's metrics as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ml import baselines
from ml.commands import CommandError, Subparsers, positive_int
from ml.data import read_interactions
from ml.evaluation import evaluate, five_core, leave_one_out

METHODS = (*baselines.METHODS,)


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="leave-one-out metrics (HR, NDCG, MRR, coverage) as JSON",
        description="5-core filtering, leave-one-out by time, full ranking without seen items.",
    )
    parser.add_argument("--interactions", type=Path, required=True, help="I.csv")
    parser.add_argument(
        "--methods",
        default=",".join(METHODS),
        help=f"comma-separated, from {', '.join(METHODS)} (default: all)",
    )
    parser.add_argument("--k", type=positive_int, default=10)
    parser.add_argument("--seed", type=int, default=0)
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
    results = {}
    for method in methods:
        scorer = baselines.fit(method, split.train)
        results[method] = evaluate(scorer, histories, targets, split.train.n_items, args.k)
    json.dump(results, sys.stdout, indent=2)
    print()
