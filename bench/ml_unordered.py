"""Feedback without order: the hybrid against tuned item-kNN, EASE and ALS on ml-latest-small.

The timestamp-less variant (issue 13): every rating with its timestamp empty and the rating as
its weight, so the protocol (ml.evaluation) holds out each person's test and validation items at
random with the seed, and the GRU reads a history ordered by weight. The timed variant is the
same ratings with their timestamps (the protocol of bench/ml_sequence.py, weight = rating).

item-kNN, EASE and ALS are tuned on the validation items (grids in ml.factors), and the hybrid's
ratio is to the best of them (and Markov, timed only: the issue's targets); the hybrid is
ml.hybrid.evaluate_split (its blend tuned on the same validation items), or with `--cli` the
path a user takes: `python -m ml train` on the training part plus validation items, then
`python -m ml recommend` (whose own validation is each history's last item). "hybrid+ease" is
the same GRU with EASE (as tuned above) in the blend (ml.hybrid.evaluate_split(..., ease=)): its
weight and its recency decay (`ease_decay`) tuned with the others. "ease-recency" is that part
alone (the tuned EASE's lists, as the hybrid keeps them, each history item's row weighted by
decay^age, the decay chosen on validation): not one of the issue's peers, printed so that the
hybrid's gain over its own strongest part shows too.

The hybrid is given the catalogue's titles, genres and years (movies.csv as `--items` items.csv,
as the site passes its catalogue's), side information for its EASE part (ml.item_features);
`--no-items` trains it without. "ease+side" is that part alone: EASE with the side information,
its weight tuned on validation with the tuned l2 (not one of the issue's peers, which see
interactions only).

`--cli --factors auto,als` also trains the hybrid with the ALS part instead of EASE (`python -m
ml train --factors als`), as a catalogue beyond EASE's size (ml.factors.EASE_MAX_ITEMS) gets it;
its ratio is printed to the best of item-kNN and ALS too, the peers that exist at that size.

Run: .venv/bin/python bench/ml_unordered.py [--variant unordered|timed|both] [--no-hybrid] [--cli]
     [--no-items] [--seed N] [--factors auto,als]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from ml_sequence import data_dir  # noqa: E402  (the same data set, found the same way)

from ml import baselines  # noqa: E402
from ml.csvfiles import read_rows, write_rows  # noqa: E402
from ml.data import Interaction, write_interactions  # noqa: E402
from ml.evaluation import (  # noqa: E402
    Split,
    evaluate,
    exclude_seen,
    five_core,
    leave_one_out,
    metrics,
    top_k,
)
from ml.factors import EASE  # noqa: E402
from ml.item_features import COLUMNS  # noqa: E402


def ratings(path: Path, timed: bool) -> list[Interaction]:
    """ratings.csv as interactions weighted by the rating, with or without their timestamps."""
    records = read_rows(path, ValueError)
    _, header = next(records)
    at = {name: header.index(name) for name in ("userId", "movieId", "rating", "timestamp")}
    return [
        Interaction(
            row[at["userId"]],
            row[at["movieId"]],
            float(row[at["timestamp"]]) if timed else None,
            float(row[at["rating"]]),
        )
        for _, row in records
    ]


def item_rows(movies: Path) -> list[list[str]]:
    """movies.csv as items.csv rows: the movie id, its title without the year it ends with,
    its genres, that year."""
    rows = []
    with movies.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            genres = [g for g in row["genres"].split("|") if g != "(no genres listed)"]
            year = re.search(r"\s*\((\d{4})\)\s*$", row["title"])
            title = row["title"][: year.start()] if year else row["title"]
            rows.append([row["movieId"], title, "|".join(genres), year.group(1) if year else ""])
    return rows


def side_ease(split: Split, ease: EASE, items_csv: Path) -> tuple[dict[str, float], str]:
    """The tuned EASE with the catalogue's side information, its weights tuned on validation."""
    from ml.hybrid import tuned_ease
    from ml.item_features import Side, read_item_features

    side = Side.of(read_item_features(items_csv), split.train.items)
    histories, targets = split.validation()
    tuned = tuned_ease(split.train, histories, targets, side)
    assert tuned is not None
    found = evaluate(tuned.model, *split.testing(), split.train.n_items)
    return found, f"({json.dumps(tuned.params)} valid {tuned.ndcg:.4f}; plain l2 {ease.l2:g})"


def line(name: str, result: dict[str, float], extra: str = "") -> None:
    print(
        f"  {name:<11} HR@10 {result['hr@10']:.4f}  NDCG@10 {result['ndcg@10']:.4f}  "
        f"coverage@10 {result['coverage@10']:.4f}  {extra}",
        flush=True,
    )


def recency_ease(split: Split, ease: EASE) -> tuple[dict[str, float], str]:
    """The hybrid's EASE part alone: its lists, each row weighted by decay^age, decay tuned."""
    from ml.hybrid import GRID, EaseLists, list_length

    lists, n_items = EaseLists.from_model(ease), split.train.n_items

    def ranked(histories: list[list[int]], decay: float) -> np.ndarray:
        return top_k(exclude_seen(lists.part(histories, n_items, decay), histories), 10)

    histories, targets = split.validation()
    found = [
        (metrics(ranked(histories, d), targets, n_items)["ndcg@10"], -n, d)
        for n, d in enumerate(GRID["ease_decay"])
    ]
    valid, _, decay = max(found)
    histories, targets = split.testing()
    extra = f"({list_length(n_items)} weights per item, decay {decay}, valid {valid:.4f})"
    return metrics(ranked(histories, decay), targets, n_items), extra


def hybrid_in_process(split: Split, seed: int, ease: EASE | None) -> dict[str, tuple[dict, str]]:
    """The hybrid as trained today, and with the EASE part in its blend (the same GRU)."""
    from ml import hybrid, sequence

    start = time.monotonic()
    model, summary = sequence.fit(split.train, split.valid, seed=seed)
    trained = time.monotonic() - start
    out = {}
    for name, part in (("hybrid", None), ("hybrid+ease", ease)):
        if name == "hybrid+ease" and part is None:
            continue
        result = hybrid.evaluate_split(split, model, summary["hyperparameters"], seed, ease=part)
        out[name] = (result["metrics"], f"(GRU {trained:.0f} s; blend {result['weights']})")
    return out


def hybrid_cli(
    split: Split,
    rows: Sequence[Interaction],
    seed: int,
    items_csv: Path | None,
    factors: str = "auto",
) -> dict[str, tuple[dict, str]]:
    """`python -m ml train` on everything but the test items, `recommend`, scored on them.
    `factors`: train's co-occurrence part (`--factors`; auto: EASE here)."""
    test = {
        (split.train.users[u], split.train.items[int(split.test[u])])
        for u in np.flatnonzero(split.test >= 0)
    }
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        write_interactions(Path(tmp) / "I.csv", [r for r in rows if (r.user, r.item) not in test])
        start = time.monotonic()
        for command in (
            [
                "train",
                "--out",
                f"{tmp}/model",
                "--seed",
                str(seed),
                "--factors",
                factors,
                *(["--items", str(items_csv)] if items_csv else []),
            ],
            ["recommend", "--model", f"{tmp}/model", "--k", "10", "--out", f"{tmp}/recs.csv"],
        ):
            subprocess.run(
                [sys.executable, "-m", "ml", *command, "--interactions", f"{tmp}/I.csv"],
                check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        spent = time.monotonic() - start
        ranked: dict[str, list[str]] = {}
        records = read_rows(Path(tmp) / "recs.csv", ValueError)
        next(records)
        for _, (user, item, *_rest) in records:
            ranked.setdefault(user, []).append(item)
    index = split.train.item_index()
    users = np.flatnonzero(split.test >= 0)
    matrix = np.full((len(users), 10), -1, dtype=np.int64)
    for row, u in enumerate(users):
        found = [index.get(i, -1) for i in ranked.get(split.train.users[u], [])][:10]
        matrix[row, : len(found)] = found
    result = metrics(matrix, split.test[users], split.train.n_items)
    name = "hybrid (cli)" if factors == "auto" else f"hybrid+{factors} (cli)"
    return {name: (result, f"(train + recommend {spent:.0f} s)")}


def run(
    variant: str,
    hybrid: bool,
    cli: bool,
    seed: int,
    items_csv: Path | None,
    factors: Sequence[str] = ("auto",),
) -> None:
    rows = five_core(ratings(data_dir() / "ratings.csv", timed=variant == "timed"))
    split = leave_one_out(rows, seed=seed)
    histories, targets = split.testing()
    n_items = split.train.n_items
    print(
        f"ml-latest-small {variant}, after 5-core: {len(rows)} interactions, "
        f"{len(split.train.users)} users, {n_items} items; test users {len(targets)}",
        flush=True,
    )
    best = ("", 0.0)
    # Beyond EASE's catalogue size only item-kNN and ALS are peers: the ALS part's measure.
    beyond = ("", 0.0)
    ease = None
    for method in ("popularity", "markov", "itemknn", "ease", "als"):
        if method == "markov" and variant == "unordered":
            continue  # no order: the chain is popularity
        start = time.monotonic()
        scorer: baselines.Baseline
        if method in baselines.TUNED:
            tuned = baselines.tune(method, split.train, split.valid, seed=seed)
            scorer, extra = tuned.model, f"tuned {json.dumps(tuned.params)} valid {tuned.ndcg:.4f}"
            if method == "ease":
                ease = tuned.model
        else:
            scorer, extra = baselines.fit(method, split.train), ""
        result = evaluate(scorer, histories, targets, n_items)
        line(method, result, f"{extra} ({time.monotonic() - start:.0f} s)")
        if method != "popularity" and result["ndcg@10"] > best[1]:
            best = (method, result["ndcg@10"])
        if method in ("itemknn", "als") and result["ndcg@10"] > beyond[1]:
            beyond = (method, result["ndcg@10"])
    own = None
    if ease is not None:
        start = time.monotonic()
        own, extra = recency_ease(split, ease)
        line("ease-recency", own, f"{extra} ({time.monotonic() - start:.0f} s)")
        if items_csv is not None:
            start = time.monotonic()
            found, extra = side_ease(split, ease, items_csv)
            line("ease+side", found, f"{extra} ({time.monotonic() - start:.0f} s)")
    if hybrid:
        results: dict[str, tuple[dict, str]] = {}
        if cli:
            for choice in factors:
                results.update(hybrid_cli(split, rows, seed, items_csv, choice))
        else:
            results = hybrid_in_process(split, seed, ease)
        for name, (found, extra) in results.items():
            line(name, found, extra)
        for name, (found, _) in results.items():
            print(
                f"  {name} / best of the others ({best[0]}): "
                f"{found['ndcg@10'] / best[1]:.3f} (target: 1.05 unordered, 1.3 timed)"
                + (f"; / ease-recency: {found['ndcg@10'] / own['ndcg@10']:.3f}" if own else "")
                + (
                    f"; / the best without EASE ({beyond[0]}, as beyond its catalogue size): "
                    f"{found['ndcg@10'] / beyond[1]:.3f}"
                    if "als" in name
                    else ""
                ),
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", choices=("unordered", "timed", "both"), default="unordered")
    parser.add_argument("--no-hybrid", action="store_true", help="only the baselines")
    parser.add_argument("--cli", action="store_true", help="the hybrid by train + recommend")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-items", action="store_true", help="no genres and years for EASE")
    parser.add_argument(
        "--factors",
        default="auto",
        help="with --cli: train's co-occurrence parts to run, comma-separated (auto,als,ease,none)",
    )
    args = parser.parse_args()
    print("(2 cores shared with teammates: timings are noisy)")
    with tempfile.TemporaryDirectory() as tmp:
        items_csv = None
        if not args.no_items:
            items_csv = Path(tmp) / "items.csv"
            write_rows(items_csv, COLUMNS, item_rows(data_dir() / "movies.csv"))
        for variant in ("unordered", "timed") if args.variant == "both" else (args.variant,):
            run(
                variant, not args.no_hybrid, args.cli, args.seed, items_csv,
                args.factors.split(","),
            )  # fmt: skip


if __name__ == "__main__":
    main()
