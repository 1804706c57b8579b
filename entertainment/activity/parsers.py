"""Request parsers for bulk ingestion: a JSON array, or JSON Lines (one event per line).

Both read at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes (Django enforces that limit for forms
only, and DRF reads the raw stream). A JSON Lines body with broken lines still parses: each
broken line becomes a `MalformedLine` in its place, so the ingestion reports every bad line
at once, by line number, alongside the other per-event errors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


@dataclass(frozen=True)
class MalformedLine:
    """A JSON Lines line that is not valid JSON."""

    message: str


class ParsedLines(list[Any]):
    """Parsed events, with the line number (from 1) each one came from."""

    def __init__(self, events: list[Any], lines: list[int]) -> None:
        super().__init__(events)
        self.lines = lines


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed in JSON")


def _read_text(stream: IO[bytes] | None) -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise RequestTooLarge(f"The request body is larger than {limit} bytes.")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"The body is not UTF-8: {exc}") from None


class BoundedJSONParser(BaseParser):
    """A JSON body of limited size; NaN and Infinity are refused as in strict JSON."""

    media_type = "application/json"

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        text = _read_text(stream)
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except ValueError as exc:
            raise ParseError(f"JSON parse error: {exc}") from None


class JSONLinesParser(BaseParser):
    """JSON Lines (https://jsonlines.org): one JSON value per line; blank lines are skipped."""

    media_type = "application/jsonl"

    # DRF's stubs expect a mapping; DRF itself takes any parsed value, a list included.
    def parse(  # type: ignore[override]
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> ParsedLines:
        events: list[Any] = []
        lines: list[int] = []
        for number, line in enumerate(_read_text(stream).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                events.append(json.loads(line, parse_constant=_reject_constant))
            except ValueError as exc:
                events.append(MalformedLine(f"Line {number} is not valid JSON: {exc}"))
            lines.append(number)
        return ParsedLines(events, lines)


class NDJSONParser(JSONLinesParser):
    """The same format under its other common name."""

    media_type = "application/x-ndjson"
