"""How large a request body each view reads, checked before anything reads it.

Every view reads at most REQUEST_BODY_MAX_BYTES; REQUEST_BODY_LIMITS names the views, by URL
name, that need more (bulk ingestion, artwork uploads) or much less (the anonymous token and
session endpoints); DATA_UPLOAD_MAX_MEMORY_SIZE caps them all. A larger body is answered 413
before a parser runs: as JSON (`{"detail": ...}`, the API's error shape) under /api/, as a
plain page elsewhere.

Content-Length is enough to decide: Django never reads past it (a body without one reads as
empty), and the parsers bound what they read again (entertainment.parsers.read_text).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.deprecation import MiddlewareMixin


def limit_for(request: Any) -> int:
    """The most bytes of body the view answering `request` reads."""
    match = getattr(request, "resolver_match", None)
    name = match.view_name if match is not None else ""
    limit = settings.REQUEST_BODY_LIMITS.get(name, settings.REQUEST_BODY_MAX_BYTES)
    return int(min(limit, settings.DATA_UPLOAD_MAX_MEMORY_SIZE))


def too_large_detail(limit: int) -> str:
    return f"The request body is larger than {limit} bytes, the most this endpoint accepts."


class RequestBodyLimitMiddleware(MiddlewareMixin):  # process_view only
    """Before CsrfViewMiddleware, whose process_view reads a form body."""

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads such a body as empty
        limit = limit_for(request)
        if length <= limit:
            return None
        detail = too_large_detail(limit)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": detail}, status=413)
        return HttpResponse(detail, status=413, content_type="text/plain; charset=utf-8")
