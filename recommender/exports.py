"""The recommender's sections of a person's data export (registered in apps.ready)."""

from __future__ import annotations

from typing import Any

from entertainment.accounts.export import register

from .models import ModelVersion, Recommendation


def recommendations(user: Any) -> list[dict[str, Any]]:
    rows = Recommendation.objects.filter(user=user).order_by("kind", "rank")
    return [
        dict(row)
        for row in rows.values(
            "kind",
            "rank",
            "item_id",
            "item__title",
            "score",
            "reason",
            "model_version",
            "created_at",
        )
    ]


def model_versions(user: Any) -> list[dict[str, Any]]:
    """The model versions trained on a snapshot that held this person's data."""
    versions = ModelVersion.objects.filter(snapshot__members__user=user).distinct().order_by("pk")
    return [
        {
            "version": v.label,
            "kind": v.kind,
            "status": v.status,
            "trained_at": v.created_at,
            "snapshot_taken_at": v.snapshot.created_at if v.snapshot else None,
            "marked_for_retraining_since": v.needs_retrain_since,
        }
        for v in versions.select_related("snapshot")
    ]


def register_sections() -> None:
    register("recommendations", recommendations)
    register("model_versions_trained_with_my_data", model_versions)
