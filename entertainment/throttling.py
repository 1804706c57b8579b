"""API throttles that fail open when the cache (Redis) is down.

The counters live in the cache; without it DRF's throttles raise and every API request would
be a 500. Rate limiting is a protection, not a reason to refuse service: while Redis is away
requests are let through and the outage is logged.
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from .cache import CacheDown

log = logging.getLogger(__name__)


class FailOpen(SimpleRateThrottle):
    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception as exc:
            # A fast failure (CacheDown) needs no traceback: the backend logged the outage.
            log.warning(
                "throttle cache unavailable; letting the request through",
                exc_info=not isinstance(exc, CacheDown),
            )
            return True


class ResilientAnonRateThrottle(FailOpen, AnonRateThrottle):
    pass


class ResilientUserRateThrottle(FailOpen, UserRateThrottle):
    pass


class BulkIngestThrottle(ResilientUserRateThrottle):
    """Its own budget (REST_FRAMEWORK's "bulk" rate): one request may carry 10,000 events."""

    scope = "bulk"
