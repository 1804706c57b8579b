"""Celery tasks of personal imports (the `cpu` queue): thin wrappers over importing.py."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="personal_imports.run_import", acks_late=True, time_limit=1800)
def run_import(import_id: int) -> str | None:
    """Run one import; its row says how it went (the status, or None when it ran already)."""
    from .importing import run

    job = run(import_id)
    return None if job is None else job.status
