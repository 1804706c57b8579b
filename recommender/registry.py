"""Model versions: registration, the activation policy, activation and roll-back."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

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


@transaction.atomic
def activate(version: ModelVersion) -> ModelVersion:
    """Make `version` the active one of its kind (staff activation and roll-back use this too)."""
    locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
    ModelVersion.objects.filter(kind=locked.kind, status=ModelVersion.Status.ACTIVE).exclude(
        pk=locked.pk
    ).update(status=ModelVersion.Status.RETIRED)
    locked.status = ModelVersion.Status.ACTIVE
    locked.activated_at = timezone.now()
    locked.save(update_fields=["status", "activated_at"])
    return locked


def previous_version(kind: str) -> ModelVersion | None:
    """The most recently active version before the current one: the roll-back target."""
    return (
        ModelVersion.objects.filter(kind=kind, status=ModelVersion.Status.RETIRED)
        .exclude(activated_at=None)
        .order_by("-activated_at")
        .first()
    )
