"""What staff can do to the pipeline: start training, activate a version, roll back.

The dashboard and the staff API both call these, so a button and an API call behave the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from entertainment.accounts.models import User

from . import registry
from .models import ModelVersion, TrainingRun
from .training import ALL_KINDS, request_training

ALL = "all"
TRAIN_CHOICES = [*ALL_KINDS, ALL]


class ActivationRefused(Exception):
    """The version cannot serve: the message says why, for staff to read."""


@dataclass(frozen=True)
class Started:
    run: TrainingRun
    # False when the kind already had a live run, which is returned instead of a new one.
    new: bool


def start_training(kind: str, requested_by: User | None) -> list[Started]:
    """Queue a run of `kind` (or of every kind for "all"); a kind with a live run keeps it."""
    if kind not in TRAIN_CHOICES:
        raise ValueError(f"unknown model kind {kind!r}")
    kinds = list(ALL_KINDS) if kind == ALL else [kind]
    live_before = set(
        TrainingRun.objects.filter(kind__in=kinds, status__in=TrainingRun.LIVE).values_list(
            "pk", flat=True
        )
    )
    runs = request_training(kinds, trigger=TrainingRun.Trigger.MANUAL, requested_by=requested_by)
    return [Started(run, run.pk not in live_before) for run in runs]


def _check_can_serve(version: ModelVersion) -> None:
    if version.needs_retrain_since is not None:
        # Serving it again would bring back data that someone has erased.
        raise ActivationRefused(
            f"{version.label} was trained on data a person has since erased; "
            "train a new version instead."
        )
    if not Path(version.path).is_dir():
        raise ActivationRefused(f"{version.label} cannot serve: its model files are missing.")


def activate_version(version: ModelVersion) -> ModelVersion:
    """Make `version` active for its kind, then refresh recommendations once it is committed."""
    if version.status == ModelVersion.Status.ACTIVE:
        return version
    _check_can_serve(version)
    from .tasks import after_activation  # tasks import the training module

    with transaction.atomic():
        active = registry.activate(version)
        transaction.on_commit(lambda: after_activation.delay(active.pk))
    return active


def roll_back(kind: str) -> ModelVersion:
    """Activate the version that was active before the current one."""
    previous = registry.previous_version(kind)
    if previous is None:
        raise ActivationRefused("There is no earlier version to roll back to.")
    return activate_version(previous)
