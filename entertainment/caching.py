"""The cache as the site uses it: a miss when Redis is down, never an error.

Everything kept here also lives in the database (or is computed from it), so a cache failure
costs speed, not answers.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache

from .cache import CacheDown

log = logging.getLogger(__name__)


def _traceback() -> bool:
    """Log the traceback of a real failure; a fast failure (CacheDown) was logged once already."""
    return not isinstance(sys.exc_info()[1], CacheDown)


def get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:
        log.warning("cache unavailable reading %s", key, exc_info=_traceback())
        return None


def get_many(keys: list[str]) -> dict[str, Any]:
    try:
        return cache.get_many(keys)
    except Exception:
        log.warning("cache unavailable reading %d keys", len(keys), exc_info=_traceback())
        return {}


def put(key: str, value: Any, ttl: int | None) -> None:
    """`ttl=None` keeps the value until it is replaced or deleted."""
    try:
        cache.set(key, value, ttl)
    except Exception:
        log.warning("cache unavailable writing %s", key, exc_info=_traceback())


def add(key: str, value: Any, ttl: int | None) -> bool:
    """Store `value` only where `key` holds nothing; whether it was stored."""
    try:
        return bool(cache.add(key, value, ttl))
    except Exception:
        log.warning("cache unavailable writing %s", key, exc_info=_traceback())
        return False


def put_many(values: dict[str, Any], ttl: int) -> None:
    try:
        cache.set_many(values, ttl)
    except Exception:
        log.warning("cache unavailable writing %d keys", len(values), exc_info=_traceback())


def delete(keys: Iterable[str]) -> None:
    keys = list(keys)
    try:
        cache.delete_many(keys)
    except Exception:
        # Erasure and privacy switches call this: say so loudly, the key outlives its TTL.
        log.error("cache unavailable deleting %s", keys, exc_info=_traceback())
