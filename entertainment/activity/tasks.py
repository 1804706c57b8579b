"""Celery tasks of the activity app (the `cpu` queue): thin wrappers over plain functions."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

TRANSIENT = (OperationalError, InterfaceError, RedisConnectionError)


@shared_task(name="activity.flush_impressions", autoretry_for=TRANSIENT, max_retries=3)
def flush_impressions() -> int:
    """Write the buffered impressions (beat, and a buffer that filled up)."""
    from .impressions import flush

    return flush()


@shared_task(name="activity.expire_impressions")
def expire_impressions() -> int:
    from .impressions import expire

    return expire()
