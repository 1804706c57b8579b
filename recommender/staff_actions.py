"""What staff can do to the pipeline: start training, activate a version, roll back.

The dashboard and the staff API both call these, so a button and an API call behave the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from entertainment import queueing
from entertainment.accounts.models import User

from . import registry
from .models import ModelVersion, TrainingRun
from .training import ALL_KINDS, request_training

ALL = "all"
TRAIN_CHOICES = [*ALL_KINDS, ALL]


class ActivationRefused(Exception):
    """Nothing was activated: the message says why, for staff to read."""


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


def activate_version(version: ModelVersion) -> ModelVersion:
    """Make `version` active for its kind, then refresh recommendations once it is committed."""
    if version.status == ModelVersion.Status.ACTIVE:
        return version
    from .tasks import after_activation  # tasks import the training module

    try:
        with transaction.atomic():
            active = registry.activate(version)
            queueing.send_on_commit(after_activation, active.pk)
    except registry.CannotActivate as exc:
        raise ActivationRefused(f"{exc}.") from exc
    return active


def roll_back(kind: str) -> ModelVersion:
    """Activate the version that was active before the current one."""
    previous = registry.previous_version(kind)
    if previous is None:
        raise ActivationRefused("There is no earlier version to roll back to.")
    return activate_version(previous)
