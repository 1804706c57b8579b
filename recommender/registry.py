"""Model versions: registration, the activation policy, activation and roll-back."""

from __future__ import annotations

import shutil
from collections.abc import Collection
from datetime import timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from entertainment.accounts.models import ErasureRequest

from . import withdrawal
from .models import ModelVersion, TrainingRun

# The metric each kind is judged by, higher is better.
MAIN_METRIC = {
    "sequence": "ndcg@10",
    "sentiment": "roc_auc",
    "artwork": "neighbour_genre_accuracy",
}


def active_version(kind: str) -> ModelVersion | None:
    return ModelVersion.objects.active().filter(kind=kind).first()


def passes_policy(
    candidate: ModelVersion, current: ModelVersion | None, online: bool | None = None
) -> bool:
    """A candidate replaces the active version unless its main metric is worse.

    `MODEL_ACTIVATION_TOLERANCE` (a fraction) allows a small drop; a version trained because
    someone erased their data must replace the old one whatever its metric, since the old one
    still holds that person's data.

    `online`: the verdict of an online experiment on the candidate (recommender.experiments:
    True when its arm won on click-through per person, significantly, with at least
    EXPERIMENT_MIN_PEOPLE people in each arm). Where there is one it decides instead of the
    offline metric: live traffic measures what the offline split only estimates. A version
    just trained has none yet, so training activates by the offline metric.
    """
    if current is None or current.needs_retrain_since is not None:
        return True
    if online is not None:
        return online
    if candidate.main_metric_value is None or current.main_metric_value is None:
        return candidate.main_metric_value is not None
    floor = current.main_metric_value * (1.0 - settings.MODEL_ACTIVATION_TOLERANCE)
    return candidate.main_metric_value >= floor


class CannotActivate(Exception):
    """The version may not serve: its files are gone or it holds data someone erased."""


@transaction.atomic
def activate(version: ModelVersion, replacing_marked: bool = False) -> ModelVersion:
    """Make `version` the active one of its kind (staff activation and roll-back use this too).

    Holds the erasure clock, so an erasure either marked the version before (and it is
    refused) or sees it active afterwards (and lists it as pending). `replacing_marked`: a
    run's new version, holding rows erased while it trained, may replace an active version
    that holds erased data too (and is retrained within the window like it), never another.
    """
    withdrawal.hold_clock()
    locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != ModelVersion.Status.ACTIVE:
        current = active_version(locked.kind)
        allowed = replacing_marked and current is not None and current.needs_retrain_since
        if locked.needs_retrain_since is not None and not allowed:
            raise CannotActivate(f"{locked.label} was trained with data that has been erased")
        if not locked.path or not Path(locked.path, "meta.json").is_file():
            raise CannotActivate(f"{locked.label} has no model files")
    replaced = list(
        ModelVersion.objects.select_for_update()
        .filter(kind=locked.kind, status=ModelVersion.Status.ACTIVE)
        .exclude(pk=locked.pk)
    )
    ModelVersion.objects.filter(pk__in=[v.pk for v in replaced]).update(
        status=ModelVersion.Status.RETIRED
    )
    locked.status = ModelVersion.Status.ACTIVE
    locked.activated_at = timezone.now()
    locked.save(update_fields=["status", "activated_at"])
    for old in replaced:
        if old.needs_retrain_since is not None:
            # Replaced while holding erased data: it must never serve again.
            transaction.on_commit(partial(discard, old))
    settle_erasures()
    return locked


def settle_erasures(withdrawn: Collection[int] = ()) -> None:
    """Erasures whose pending versions and runs are all gone now hold no trace in the models.

    A version counts as clean only when it is no longer active: rolling back to a version
    trained before the erasure would bring the data back, so such versions stay marked. A run
    counts while it is live (withdrawal.run_token). `withdrawn`: versions just taken out of
    service at the deadline rather than replaced, which the erasure's status records.
    """
    active = set(ModelVersion.objects.active().values_list("pk", flat=True))
    live = {
        withdrawal.run_token(pk)
        for pk in TrainingRun.objects.filter(status__in=TrainingRun.LIVE).values_list(
            "pk", flat=True
        )
    }
    now = timezone.now()
    for erasure in ErasureRequest.objects.filter(models_clean_at=None):
        pending = erasure.pending_versions
        still = [p for p in pending if p in active or p in live]
        if still == pending and still:
            continue
        fields: dict[str, object] = {"pending_versions": still}
        if not still:
            fields["models_clean_at"] = now
        if set(pending) & set(withdrawn):
            fields["models_withdrawn_at"] = now
        ErasureRequest.objects.filter(pk=erasure.pk).update(**fields)


def discard(version: ModelVersion) -> None:
    """Delete a version's files for good (it holds erased data); the row stays as history."""
    if version.path:
        shutil.rmtree(version.path, ignore_errors=True)
    ModelVersion.objects.filter(pk=version.pk).exclude(status=ModelVersion.Status.ACTIVE).update(
        status=ModelVersion.Status.RETIRED, path=""
    )


def previous_version(kind: str) -> ModelVersion | None:
    """The most recently active version before the current one that may serve again."""
    return (
        ModelVersion.objects.filter(
            kind=kind, status=ModelVersion.Status.RETIRED, needs_retrain_since=None
        )
        .exclude(activated_at=None)
        .exclude(path="")
        .order_by("-activated_at")
        .first()
    )


def due_for_erasure_retrain() -> list[str]:
    """Kinds whose active version was marked by an erasure long enough ago to retrain now.

    The beat checks hourly, so a version is retrained once it is within an hour of its window.
    """
    window = timedelta(hours=settings.ERASURE_RETRAIN_WINDOW_H)
    cutoff = timezone.now() - window + timedelta(hours=1)
    return sorted(
        set(
            ModelVersion.objects.active()
            .filter(needs_retrain_since__lte=cutoff)
            .values_list("kind", flat=True)
        )
    )


@transaction.atomic
def withdraw(version: ModelVersion) -> ModelVersion | None:
    """Take a marked active version out of service: its erasure deadline passed and no retrain
    replaced it. The last clean version of its kind serves again, or none (the popular lists).
    Returns the version that serves now."""
    withdrawal.hold_clock()
    locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != ModelVersion.Status.ACTIVE:
        return active_version(locked.kind)
    locked.status = ModelVersion.Status.RETIRED
    locked.save(update_fields=["status"])
    settle_erasures(withdrawn=[locked.pk])  # first: activating the fallback settles too
    fallback = previous_version(locked.kind)
    serving = activate(fallback) if fallback is not None else None
    transaction.on_commit(partial(discard, locked))
    return serving


def withdraw_overdue() -> list[ModelVersion]:
    """The hourly check: every active version marked longer than ERASURE_RETRAIN_WINDOW_H ago
    stops serving, whether or not a retrain is still trying (it replaces the fallback later,
    by policy). Returns the versions withdrawn."""
    deadline = timezone.now() - timedelta(hours=settings.ERASURE_RETRAIN_WINDOW_H)
    overdue = list(ModelVersion.objects.active().filter(needs_retrain_since__lte=deadline))
    for version in overdue:
        withdraw(version)
    return overdue
