"""`python -m ml sentiment train|predict`: the review sentiment model on its own."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ml.commands import CommandError, Subparsers, positive_int, progress_bar
from ml.csvfiles import write_rows
from ml.sentiment import read_labelled, read_texts


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("sentiment", help="review sentiment LSTM")
    actions = parser.add_subparsers(dest="action", required=True)

    train = actions.add_parser(
        "train",
        help="train on text,label (0/1) or text,rating CSV, or UCI sentence<TAB>label text",
    )
    train.add_argument("--data", type=Path, required=True, help="labelled.csv")
    train.add_argument("--out", type=Path, required=True, help="model directory to write")
    train.add_argument(
        "--unlabelled",
        type=Path,
        help="CSV with a text column: the site's review texts without labels (word vectors "
        "are pre-trained on them)",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--epochs", type=positive_int)
    train.add_argument("--patience", type=positive_int)
    train.add_argument("--batch-size", type=positive_int)
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--embedding-dim", type=positive_int)
    train.add_argument("--lstm-units", type=positive_int)
    train.add_argument("--dropout", type=float)
    train.set_defaults(handler=run_train)

    predict = actions.add_parser("predict", help="score texts: writes text,label,probability")
    predict.add_argument("--model", type=Path, required=True, help="model directory")
    predict.add_argument(
        "--in", dest="inp", type=Path, required=True, help="CSV with a text column"
    )
    predict.add_argument("--out", type=Path, required=True, help="preds.csv to write")
    predict.set_defaults(handler=run_predict)


def run_train(args: argparse.Namespace) -> None:
    from ml.sentiment import train_sentiment  # loads Keras: only for training

    texts, labels = read_labelled(args.data)  # bad input fails here, before Keras starts
    positives = int(labels.sum())
    if positives == 0 or positives == len(labels):
        raise CommandError(f"{args.data}: needs both positive and negative examples")
    names = ("epochs", "patience", "batch_size", "learning_rate", "embedding_dim", "lstm_units",
             "dropout")  # fmt: skip
    hyper = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    unlabelled = read_texts(args.unlabelled) if args.unlabelled else []
    with progress_bar("training sentiment") as report:
        metrics = train_sentiment(texts, labels, args.out, unlabelled=unlabelled, seed=args.seed,
                                  progress=report, **hyper)  # fmt: skip
    print(json.dumps({"model": str(args.out), "examples": len(texts),
                      "unlabelled": len(unlabelled), "validation": metrics},
                     indent=2))  # fmt: skip


def run_predict(args: argparse.Namespace) -> None:
    from ml.sentiment import load_sentiment

    texts = read_texts(args.inp)
    probabilities = load_sentiment(args.model).predict(texts)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_rows(
        args.out,
        ["text", "label", "probability"],
        (
            [text, int(p >= 0.5), f"{p:.6f}"]
            for text, p in zip(texts, probabilities.tolist(), strict=True)
        ),
    )
    print(f"wrote {len(texts)} predictions to {args.out}")
