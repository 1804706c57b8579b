"""API rate limits: a counter per client and window, failing open when the cache is down.

DRF's throttles keep every request's timestamp in a list that each request reads, unpickles,
extends and writes back: two cache round trips and, for a client near its limit (1,200 a
minute), a 10 KB list each way. These count instead: one INCR a request on Redis, the window
starting at a client's first request (so a client may send up to twice its rate across the
boundary of two windows, the usual price of fixed windows). Other caches (the demo's files,
tests' memory) count with add + incr.

Rate limiting is a protection, not a reason to refuse service: while Redis is away requests
are let through and the outage is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import caches
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from .cache import CacheDown, FailFastRedisCache

log = logging.getLogger(__name__)


def hit(key: str, window_s: int) -> tuple[int, int]:
    """(hits so far, seconds until the window resets) after counting one more at `key`."""
    cache = caches["default"]
    if isinstance(cache, FailFastRedisCache):
        return cache.hit(key, window_s)
    cache.add(key, 0, window_s)
    return cache.incr(key), window_s


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
        try:
            hits, self.resets_in = hit(key, self.duration)
        except Exception as exc:
            # A fast failure (CacheDown) repeats an outage the cache logged once already.
            log.warning(
                "throttle cache unavailable; letting the request through",
                exc_info=not isinstance(exc, CacheDown),
            )
            return True
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
