"""API rate limits: a counter per client and window, failing open when the cache is down.

DRF's throttles keep every request's timestamp in a list that each request reads, unpickles,
extends and writes back: two cache round trips and, for a client near its limit (1,200 a
minute), a 10 KB list each way. These count instead: one INCR a request on Redis, the window
starting at a client's first request (so a client may send up to twice its rate across the
boundary of two windows, the usual price of fixed windows). Other caches (the demo's files,
tests' memory) count with add + incr.

The counter's round trip also reads the cache keys the view will read (ReadsCache): the
recommendations API then makes one round trip to Redis a request, not two.

Rate limiting is a protection, not a reason to refuse service: while Redis is away requests
are let through and the outage is logged.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from django.core.cache import caches
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from . import caching
from .cache import CacheDown, FailFastRedisCache

log = logging.getLogger(__name__)


def hit(key: str, window_s: int, reads: list[str]) -> tuple[int, int, dict[str, Any]]:
    """(hits so far, seconds until the window resets, what the cache holds of `reads`) after
    counting one more at `key`."""
    cache = caches["default"]
    if isinstance(cache, FailFastRedisCache):
        return cache.hit(key, window_s, reads)
    cache.add(key, 0, window_s)
    return cache.incr(key), window_s, cache.get_many(reads) if reads else {}


class ReadsCache(Protocol):
    """A view that reads the same cache keys on every request names them here; the rate limit
    reads them in its own round trip, and the view finds them in `cache_read` (see read_for).
    Called after authentication and permissions; must not raise (an invalid request names
    none, and the view answers it)."""

    cache_read: dict[str, Any] | None

    def cache_reads(self, request: Any) -> list[str]: ...


def read_for(view: ReadsCache, request: Any) -> dict[str, Any]:
    """What the cache holds of view.cache_reads(request): read by the rate limit already, or
    now (no rate limit applies, or the cache was down when it counted)."""
    if view.cache_read is not None:
        return view.cache_read
    keys = view.cache_reads(request)
    return caching.get_many(keys) if keys else {}


class FailOpen(SimpleRateThrottle):
    num_requests: int  # parsed from the rate by DRF
    duration: int
    resets_in: int | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        # The first rate limit to count reads what the view will read, if it says.
        reading = hasattr(view, "cache_reads") and getattr(view, "cache_read", None) is None
        try:
            hits, self.resets_in, found = hit(
                key, self.duration, view.cache_reads(request) if reading else []
            )
        except Exception as exc:
            # A fast failure (CacheDown) repeats an outage the cache logged once already.
            log.warning(
                "throttle cache unavailable; letting the request through",
                exc_info=not isinstance(exc, CacheDown),
            )
            return True
        if reading:
            view.cache_read = found
        return hits <= self.num_requests

    def wait(self) -> float | None:
        return self.resets_in


class ResilientAnonRateThrottle(FailOpen, AnonRateThrottle):
    pass


class ResilientUserRateThrottle(FailOpen, UserRateThrottle):
    pass


class BulkIngestThrottle(ResilientUserRateThrottle):
    """Its own budget (REST_FRAMEWORK's "bulk" rate): one request may carry 10,000 events."""

    scope = "bulk"
