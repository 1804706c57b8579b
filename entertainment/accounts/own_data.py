"""What the privacy pages and the privacy API both ask about a person's own data."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import FileResponse, Http404
from django.utils import timezone

from entertainment.activity.models import Play, Rating, Review
from entertainment.catalogue.models import Item

from .models import DataExport, ErasureRequest, User


class ExportGone(Exception):
    """The export existed but has expired (410 rather than 404)."""


def items_with_history(user: User) -> QuerySet[Item]:
    """Items the person rated, played or reviewed (subqueries: no row per event)."""
    return Item.objects.filter(
        Q(pk__in=Rating.objects.filter(user=user).values("item_id"))
        | Q(pk__in=Play.objects.filter(user=user).values("item_id"))
        | Q(pk__in=Review.objects.filter(user=user).values("item_id"))
    )


def retrain_deadline(erasure: ErasureRequest) -> datetime | None:
    """When the models will have stopped holding the erased data at the latest (None once
    they have: see `models_clean_at`)."""
    if erasure.models_clean_at is not None:
        return None
    return erasure.requested_at + timedelta(hours=settings.ERASURE_RETRAIN_WINDOW_H)


def is_expired(export: DataExport) -> bool:
    return export.expires_at is not None and export.expires_at <= timezone.now()


def download(user: User, export_id: int) -> FileResponse:
    """The person's own ready export as a ZIP attachment. Anybody else's, a missing one or
    one still building is 404; an expired one is ExportGone."""
    export = DataExport.objects.filter(pk=export_id, user=user).first()
    if export is None or export.status != DataExport.Status.READY or not export.archive:
        raise Http404("No such export.")
    if is_expired(export):
        raise ExportGone
    try:
        handle = export.archive.open("rb")
    except FileNotFoundError:
        raise Http404("No such export.") from None
    stamp = (export.finished_at or export.created_at).strftime("%Y-%m-%d")
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=f"encore-export-{user.get_username()}-{stamp}.zip",
        content_type="application/zip",
    )
    # Personal data: no shared cache may keep a copy.
    response["Cache-Control"] = "private, no-store"
    return response
