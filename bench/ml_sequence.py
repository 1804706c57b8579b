"""GRU vs popularity / item-kNN / Markov (and the hybrid) on MovieLens ml-latest-small, one run.

Protocol (ml.evaluation): 5-core, leave-one-out by time, full ranking without seen items.
Also times GRU training and `python -m ml sequence recommend` for every user.

Run: .venv/bin/python bench/ml_sequence.py [--loss sampled] [--epochs N] [--hybrid] [--hyper JSON]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ml import baselines  # noqa: E402
from ml.data import read_movielens, write_interactions  # noqa: E402
from ml.evaluation import evaluate, five_core, leave_one_out  # noqa: E402


def data_dir() -> Path:
    for candidate in (ROOT.parent / "shared" / "data", Path("/work/shared/data")):
        if (candidate / "movielens-latest-small" / "ratings.csv").is_file():
            return candidate / "movielens-latest-small"
    sys.exit("ml-latest-small not found under ../shared/data")


def row(name: str, result: dict[str, float], extra: str = "") -> None:
    print(
        f"{name:<13} HR@10 {result['hr@10']:.4f}  NDCG@10 {result['ndcg@10']:.4f}  "
        f"MRR@10 {result['mrr@10']:.4f}  coverage@10 {result['coverage@10']:.4f}  {extra}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loss", choices=("full", "sampled"), default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--hyper", default="{}", help="JSON of ml.sequence hyperparameters")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hybrid", action="store_true", help="also evaluate the hybrid")
    args = parser.parse_args()

    from ml import sequence
    from ml.serving import SequenceServer

    source = data_dir()
    interactions = five_core(read_movielens(source / "ratings.csv"))
    split = leave_one_out(interactions, seed=args.seed)
    histories, targets = split.testing()
    n_items = split.train.n_items
    print(
        f"ml-latest-small after 5-core: {len(interactions)} interactions, "
        f"{len(split.train.users)} users, {n_items} items; test users {len(targets)}"
    )
    print("(2 cores shared with teammates: timings are noisy)")
    for method in baselines.METHODS:
        row(method, evaluate(baselines.fit(method, split.train), histories, targets, n_items))

    hyper = json.loads(args.hyper)
    if args.loss:
        hyper["loss"] = args.loss
    if args.epochs:
        hyper["epochs"] = args.epochs
    start = time.monotonic()
    model, summary = sequence.fit(
        split.train,
        split.valid,
        seed=args.seed,
        progress=lambda f, stage: print(f"  {time.monotonic() - start:5.0f}s {stage}", flush=True),
        **hyper,
    )
    trained = time.monotonic() - start
    hp = summary["hyperparameters"]
    server = SequenceServer(sequence.export_arrays(model), split.train.items, hp["max_len"])
    row(
        "gru",
        evaluate(server, histories, targets, n_items),
        f"(trained {trained:.0f} s, best epoch {summary['best_epoch']}/{summary['epochs_run']})",
    )
    print("  hyperparameters:", json.dumps(hp, sort_keys=True))
    valid_histories, valid_targets = split.validation()
    row(
        "gru (valid)",
        evaluate(server, valid_histories, valid_targets, n_items),
        "early-stopping set",
    )

    weights = None
    if args.hybrid:
        from ml import hybrid

        result = hybrid.evaluate_split(split, model, hp, seed=args.seed)
        weights = result["weights"]
        row("hybrid", result["metrics"], f"(weights {weights})")

    # `python -m ml sequence recommend` (and the hybrid's `recommend`) for every user, timed.
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        model_dir.mkdir()
        sequence.save(model, model_dir / "sequence", split.train.items, "bench", summary, {})
        write_interactions(Path(tmp) / "I.csv", interactions)
        commands = {
            "sequence recommend": ["sequence", "recommend", "--model", model_dir / "sequence"]
        }
        if weights is not None:
            from ml import hybrid

            hybrid.write_blend(model_dir, split.train, weights, {}, {}, "bench")
            commands["recommend (hybrid)"] = ["recommend", "--model", model_dir]
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
        for name, command in commands.items():
            start = time.monotonic()
            subprocess.run(
                [sys.executable, "-m", "ml", *map(str, command), "--interactions",
                 str(Path(tmp) / "I.csv"), "--k", "10", "--out", str(Path(tmp) / "recs.csv")],
                check=True, cwd=ROOT, env=env,
            )  # fmt: skip
            print(f"python -m ml {name}, all users: {time.monotonic() - start:.1f} s")


if __name__ == "__main__":
    main()
