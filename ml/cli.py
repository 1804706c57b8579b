"""`python -m ml`: files in, files out. Each command group lives in ml/commands/<name>.py.

Bad input (a malformed file, an unusable model directory, bad arguments) ends with a one-line
message naming the file and line, and exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ml.artefacts import ArtefactError
from ml.artwork import ArtworkDataError
from ml.commands import (
    CommandError,
    artwork,
    baseline,
    evaluate,
    recommend,
    sentiment,
    sequence,
    train,
)
from ml.data import DataError
from ml.sentiment import LabelledDataError

COMMANDS = (train, recommend, sequence, baseline, sentiment, artwork, evaluate)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m ml", description="Encore's models: train, recommend, evaluate."
    )
    subparsers = root.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(subparsers)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.handler(args)
    except (DataError, LabelledDataError, ArtworkDataError, ArtefactError, CommandError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
