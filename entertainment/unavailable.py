"""The database unreachable: a 503 to retry shortly, not a 500.

While PostgreSQL restarts (or SQLite is locked past its timeout) every query raises an
OperationalError or InterfaceError. That is an outage, not a bug in the request: the answer is
503 with `Retry-After`, as JSON (`{"detail": ...}`, like every API error) under /api/ and as a
small page elsewhere. The page is rendered without the request: context processors and the
user lookup would query the database again.

Two ways in, both needed:
- DatabaseUnavailableMiddleware.process_exception catches it from views (DRF re-raises the
  exceptions its handler leaves alone) and from rendering, before Django logs a 500;
- views.server_error asks `response_for_current_exception` for the rest: a query made by a
  middleware (a session saved on the way out) never reaches process_exception.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
API_DETAIL = "The service is briefly unavailable. Please retry in a few seconds."


def is_database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def unavailable_response(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/api/") or request.path == "/healthz":  # machines read JSON
        response = JsonResponse({"detail": API_DETAIL}, status=503)
    else:
        try:
            page = loader.get_template("503.html").render()
        except Exception:  # the page must not fail in its turn (a missing static manifest)
            log.exception("could not render 503.html")
            page = "<!doctype html><title>Encore</title><p>Back in a moment. Please retry.</p>"
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_S)
    return response


def response_for(request: HttpRequest, exc: BaseException | None) -> HttpResponse | None:
    """The 503 when `exc` says the database is unreachable, else None."""
    if not is_database_unavailable(exc):
        return None
    log.error(
        "database unavailable answering %s %s: %s", request.method, _loggable(request.path), exc
    )
    return unavailable_response(request)


def response_for_current_exception(request: HttpRequest) -> HttpResponse | None:
    """For the 500 handler, which Django calls while handling the exception."""
    return response_for(request, sys.exc_info()[1])


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if settings.DEBUG:
            return None  # Django's debug page says more (a missing migration is one too)
        return response_for(request, exc)


def _loggable(path: str) -> str:
    """The path with a webhook's secret left out: /hooks/<service>/<secret>/ is a credential."""
    if path.startswith("/hooks/"):
        service = path.split("/")[2] if path.count("/") > 2 else ""
        return f"/hooks/{service}/<secret>/"
    return path
