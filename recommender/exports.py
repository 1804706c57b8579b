"""The recommender's sections of a person's data export (registered in apps.ready)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from entertainment.accounts.export import register
from entertainment.catalogue.models import Item, Kind

from . import lists
from .models import ModelVersion


def recommendations(user: Any) -> list[dict[str, Any]]:
    """The person's own lists as they stand (computed from their history, kept nowhere but in
    the cache); none while personalisation is off or before they have any history."""
    found = lists.for_kinds(user, list(Kind.values), settings.RECOMMENDATIONS_PER_KIND)
    own = [f for f in found.values() if f.personalised]
    titles = dict(
        Item.objects.filter(pk__in={e.item_id for f in own for e in f.entries}).values_list(
            "pk", "title"
        )
    )
    return [
        {
            "kind": f.kind,
            "rank": rank,
            "item_id": e.item_id,
            "item__title": titles.get(e.item_id, ""),
            "score": e.score,
            "reason": e.reason,
            "model_version": f.model_version,
        }
        for f in own
        for rank, e in enumerate(f.entries, start=1)
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
