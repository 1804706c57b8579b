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

Clients are told apart by client_ip (NUM_PROXIES), the same address the login lockout uses.
`login_slowdown` spaces out password attempts on a username that many addresses failed on.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.deprecation import MiddlewareMixin
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from . import caching
from .cache import CacheDown, FailFastRedisCache
from .client_ip import client_ip

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

    def get_ident(self, request: Any) -> str:
        # Not DRF's: with NUM_PROXIES unset it keys on the raw X-Forwarded-For, so rewriting
        # the header bought a fresh budget.
        return client_ip(request)


class ResilientAnonRateThrottle(FailOpen, AnonRateThrottle):
    pass


class ResilientUserRateThrottle(FailOpen, UserRateThrottle):
    pass


class BulkIngestThrottle(ResilientUserRateThrottle):
    """Its own budget (REST_FRAMEWORK's "bulk" rate): one request may carry 10,000 events."""

    scope = "bulk"


def _now() -> float:
    return time.time()


class LoginSlowdown:
    """Failed password attempts per username, from any address; past
    LOGIN_USERNAME_SLOW_AFTER of them in the lockout's cool-off window, one attempt on that
    username every LOGIN_USERNAME_INTERVAL_S seconds.

    django-axes locks a username *and address* pair, so a stranger cannot lock anyone else
    out; this covers the other side, many addresses guessing one person's password, by
    slowing them rather than blocking: the real person waits seconds, never a lockout.
    """

    def _key(self, kind: str, username: str) -> str:
        digest = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()
        return f"login-{kind}:{digest}"

    def failed(self, username: str) -> None:
        window = max(1, int(float(settings.AXES_COOLOFF_TIME) * 3600))
        cache = caches["default"]
        key = self._key("failures", username)
        try:
            cache.add(key, 0, window)
            cache.incr(key)
        except Exception:
            log.warning("login slowdown: cache unavailable, failure not counted", exc_info=True)

    def wait(self, username: str | None) -> int:
        """Seconds to wait before trying `username` again; 0 to go ahead (and take the slot)."""
        if not username:
            return 0
        cache = caches["default"]
        interval = int(settings.LOGIN_USERNAME_INTERVAL_S)
        try:
            failures = cache.get(self._key("failures", username)) or 0
            if failures < settings.LOGIN_USERNAME_SLOW_AFTER:
                return 0
            now = _now()
            slot = self._key("slot", username)
            # The slot holds when the next attempt may start; it lives a little longer than the
            # interval so the comparison, not the cache's expiry, decides.
            if cache.add(slot, now + interval, interval + 60):
                return 0
            next_at = float(cache.get(slot) or 0)
            if next_at <= now:
                cache.set(slot, now + interval, interval + 60)
                return 0
            return math.ceil(next_at - now)
        except Exception:
            log.warning("login slowdown: cache unavailable, letting the attempt through")
            return 0


login_slowdown = LoginSlowdown()


def _count_failure(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
    username = credentials.get("username")
    if isinstance(username, str) and username:
        login_slowdown.failed(username)


# Every failed authenticate() (log-in page, admin, token endpoint) counts.
user_login_failed.connect(_count_failure, dispatch_uid="throttling.count_login_failure")


class LoginSlowdownMiddleware(MiddlewareMixin):  # process_view only
    """login_slowdown on the log-in pages (the API's token endpoint asks it itself): a 429
    page with Retry-After, before the password is checked. After RequestBodyLimitMiddleware,
    which bounds the form read here."""

    PAGES = frozenset({"accounts:login", "admin:login"})

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if request.method != "POST" or match is None or match.view_name not in self.PAGES:
            return None
        wait = login_slowdown.wait(request.POST.get("username"))
        if not wait:
            return None
        response = render(request, "accounts/slowed_down.html", {"wait": wait}, status=429)
        response["Retry-After"] = str(wait)
        return response
