"""Command groups of `python -m ml`; each module exposes `register(subparsers)`.

Helpers shared by the commands live here: the progress bar and the error every command raises
for bad input (the CLI turns it into exit code 2 and a one-line message).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import Any

from ml.progress import Progress


class CommandError(Exception):
    """Bad input or arguments: printed as one line, exit code 2."""


Subparsers = Any  # argparse's _SubParsersAction is private; register() only calls add_parser.


@contextlib.contextmanager
def progress_bar(description: str) -> Iterator[Progress]:
    """A tqdm bar on stderr fed by a trainer's (fraction, stage) reports."""
    from tqdm import tqdm

    with tqdm(total=1000, desc=description, unit="‰", leave=False) as bar:

        def report(fraction: float, stage: str) -> None:
            bar.n = round(1000 * min(max(fraction, 0.0), 1.0))
            bar.set_postfix_str(stage[:60], refresh=False)
            bar.refresh()

        yield report


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value
