"""The client's address, derived one way for rate limits and the login lockout.

NUM_PROXIES says how many proxies of ours stand in front of the application, each appending
the address it received the request from to X-Forwarded-For. With none, the header is the
client's to write and is ignored: the address is the socket's (REMOTE_ADDR). With N, the
client is the N-th address from the end of the header (what our outermost proxy saw); the
entries before it are the client's own words and count for nothing, so rewriting them gives
no fresh rate-limit budget and escapes no lockout.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings


def client_ip(request: Any) -> str:
    meta = request.META
    remote = str(meta.get("REMOTE_ADDR") or "")
    proxies = int(settings.NUM_PROXIES)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if proxies == 0 or not forwarded:
        return remote
    addresses = [part.strip() for part in str(forwarded).split(",")]
    # Fewer entries than proxies: the request skipped a proxy; the earliest entry is the
    # nearest thing to the client any proxy of ours wrote.
    return addresses[-min(proxies, len(addresses))] or remote
