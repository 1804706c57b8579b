"""Model versions: registration, the activation policy, activation and roll-back."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from entertainment.accounts.models import ErasureRequest

from .models import ModelVersion

# The metric each kind is judged by, higher is better.
MAIN_METRIC = {
    "sequence": "ndcg@10",
    "sentiment": "roc_auc",
    "artwork": "neighbour_genre_accuracy",
}


def active_version(kind: str) -> ModelVersion | None:
    return ModelVersion.objects.active().filter(kind=kind).first()


def passes_policy(candidate: ModelVersion, current: ModelVersion | None) -> bool:
    """A candidate replaces the active version unless its main metric is worse.

    `MODEL_ACTIVATION_TOLERANCE` (a fraction) allows a small drop; a version trained because
    someone erased their data must replace the old one whatever its metric, since the old one
    still holds that person's data.
    """
    if current is None or current.needs_retrain_since is not None:
        return True
    if candidate.main_metric_value is None or current.main_metric_value is None:
        return candidate.main_metric_value is not None
    floor = current.main_metric_value * (1.0 - settings.MODEL_ACTIVATION_TOLERANCE)
    return candidate.main_metric_value >= floor


class CannotActivate(Exception):
    """The version may not serve: its files are gone or it holds data someone erased."""


@transaction.atomic
def activate(version: ModelVersion) -> ModelVersion:
    """Make `version` the active one of its kind (staff activation and roll-back use this too)."""
    locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != ModelVersion.Status.ACTIVE:
        if locked.needs_retrain_since is not None:
            raise CannotActivate(f"{locked.label} was trained with data that has been erased")
        if not locked.path or not Path(locked.path, "meta.json").is_file():
            raise CannotActivate(f"{locked.label} has no model files")
    ModelVersion.objects.filter(kind=locked.kind, status=ModelVersion.Status.ACTIVE).exclude(
        pk=locked.pk
    ).update(status=ModelVersion.Status.RETIRED)
    locked.status = ModelVersion.Status.ACTIVE
    locked.activated_at = timezone.now()
    locked.save(update_fields=["status", "activated_at"])
    _settle_erasures()
    return locked


def _settle_erasures() -> None:
    """Erasures whose marked versions are all replaced now hold no trace in the models.

    A version counts as clean only when it is no longer active: rolling back to a version
    trained before the erasure would bring the data back, so such versions stay marked.
    """
    active = set(ModelVersion.objects.active().values_list("pk", flat=True))
    for erasure in ErasureRequest.objects.filter(models_clean_at=None):
        still = [pk for pk in erasure.pending_versions if pk in active]
        if still != erasure.pending_versions or not still:
            erasure.pending_versions = still
            erasure.models_clean_at = None if still else timezone.now()
            erasure.save(update_fields=["pending_versions", "models_clean_at"])


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
