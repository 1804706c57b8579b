"""The API's JSON parser: bounded in size, strict, and never a server error on bad input.

DRF's own JSONParser reads the whole stream whatever its size (Django's upload limit only
guards form bodies) and lets a deeply nested document's RecursionError become a 500. The size
is the view's own (body_limits.limit_for), checked first by RequestBodyLimitMiddleware.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser

from .body_limits import limit_for, too_large_detail


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in JSON")


def loads(text: str) -> Any:
    """Strict JSON (no NaN or Infinity); ValueError for anything that is not."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def read_text(stream: IO[bytes] | None, limit: int | None = None) -> str:
    """The body as text, at most `limit` (by default DATA_UPLOAD_MAX_MEMORY_SIZE) bytes of
    UTF-8."""
    if limit is None:
        limit = int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise RequestTooLarge(too_large_detail(limit))
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"The body is not UTF-8: {exc}") from None


class BoundedJSONParser(BaseParser):
    media_type = "application/json"

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        request = (parser_context or {}).get("request")
        limit = limit_for(request) if request is not None else None
        try:
            return loads(read_text(stream, limit))
        except ValueError as exc:
            raise ParseError(f"JSON parse error: {exc}") from None
