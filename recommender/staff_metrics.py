"""Which of a model's metrics staff may see: an allow-list, never a deny-list.

A trainer that starts storing a new metric shows nothing of it to staff until it is named
here, so a new count of people (the sequence trainer's `gru_users` slipped past the old
deny-list) cannot reach the dashboard, the staff API or the admin unnoticed. Counts of people
are shown only for groups of at least PRIVACY_MIN_GROUP_SIZE.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

# Quality measures (rates and scores between 0 and 1) of the three trainers.
QUALITY = frozenset(
    {
        # sequence: the hybrid's ranking, then the GRU alone
        "ndcg@10",
        "gru_hr@10",
        "gru_ndcg@10",
        "gru_mrr@10",
        "gru_coverage@10",
        # sentiment
        "accuracy",
        "f1",
        "roc_auc",
        # artwork
        "micro_f1",
        "macro_f1",
        "neighbour_genre_accuracy",
        "chance_micro_f1",
        "chance_macro_f1",
        "chance_neighbour_genre_accuracy",
    }
)
# How long training ran (a model's own figure, about no one): "epochs_trained", "bag_epochs",
# "lstm_0_epochs", ...
_EPOCHS = re.compile(r"epochs_trained|bag_epochs|lstm_\d{1,2}_epochs")
# Counts of people: shown only for a big enough group.
PEOPLE_COUNTS = frozenset({"users", "gru_users", "people"})


def at_least_k(count: int) -> int | None:
    """`count` if the group is big enough to show, else None (shown as "fewer than k")."""
    return count if count >= settings.PRIVACY_MIN_GROUP_SIZE else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def shown_metrics(metrics: dict[str, Any]) -> dict[str, float | int | None]:
    """The metrics staff may see, by name; a people count of a small group maps to None.

    Unknown names and values that are not numbers are left out.
    """
    shown: dict[str, float | int | None] = {}
    for name, value in sorted(metrics.items()):
        if not _is_number(value):
            continue
        if name in PEOPLE_COUNTS:
            shown[name] = at_least_k(int(value))
        elif name in QUALITY or _EPOCHS.fullmatch(name):
            shown[name] = value
    return shown


def api_metrics(metrics: dict[str, Any]) -> dict[str, float | int]:
    """For the staff API: what staff may see, a hidden count left out altogether."""
    return {name: value for name, value in shown_metrics(metrics).items() if value is not None}


# The artwork trainer's F1s judge its genre head at a fixed 0.5 threshold (ml/artwork.py). On
# a small catalogue with many rare genres the head's probabilities stay below 0.5, it names no
# genre, and both F1s are exactly 0 while the embedding that serves ("Looks similar", cold
# items) is fine (neighbour accuracy 0.88): a bare "0.0000" reads as a broken model.
_THRESHOLD_F1 = frozenset({"micro_f1", "macro_f1"})


def metrics_text(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """For pages: (name, text) pairs, a hidden count written "< k". A measure with a chance
    level (`chance_<name>`) shows it beside its value instead of on a row of its own; an F1 of
    the artwork's genre head that is 0 says why."""
    rows = []
    shown = shown_metrics(metrics)
    for name, value in shown.items():
        chance = shown.get(f"chance_{name}")
        if name.startswith("chance_") and name.removeprefix("chance_") in shown:
            continue
        if name in _THRESHOLD_F1 and value == 0:
            text = "0 (no genre right at the head's 0.5 threshold; the embedding serves)"
            rows.append((name, f"{text}, chance {chance:.4f}" if chance is not None else text))
            continue
        if value is None:
            text = f"< {settings.PRIVACY_MIN_GROUP_SIZE}"
        elif name in PEOPLE_COUNTS:
            text = str(int(value))
        elif isinstance(value, float):
            text = f"{value:.4f}"
        else:
            text = str(value)
        if chance is not None:
            text = f"{text} (chance {chance:.4f})"
        rows.append((name, text))
    return rows
