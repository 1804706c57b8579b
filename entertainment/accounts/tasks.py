"""Celery tasks of the accounts app (the `cpu` queue): thin wrappers over plain functions."""

from __future__ import annotations

import traceback

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from .models import DataExport


@shared_task(
    name="accounts.build_export",
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    max_retries=3,
    retry_backoff=5,
)
def build_export(export_id: int) -> int | None:
    from .export import build

    claimed = DataExport.objects.filter(
        pk=export_id, status__in=[DataExport.Status.PENDING, DataExport.Status.BUILDING]
    ).update(status=DataExport.Status.BUILDING)
    if not claimed:
        return None
    export = DataExport.objects.select_related("user").filter(pk=export_id).first()
    if export is None:  # erased since it was claimed
        return None

    def progress(percent: int) -> None:
        DataExport.objects.filter(pk=export_id).update(progress=percent)

    try:
        built = build(export, progress)
    except Exception as exc:
        DataExport.objects.filter(pk=export_id).update(
            status=DataExport.Status.FAILED,
            error="".join(traceback.format_exception_only(exc)).strip(),
            finished_at=timezone.now(),
        )
        raise
    return None if built is None else export_id


@shared_task(name="accounts.purge_expired_exports")
def purge_expired_exports() -> int:
    """Expired exports, and files under EXPORT_ROOT that no export owns."""
    from .export import purge_expired, sweep_orphans

    return purge_expired() + sweep_orphans()


@shared_task(name="accounts.purge_expired_sessions")
def purge_expired_sessions() -> int:
    from .sessions import purge_expired

    return purge_expired()
