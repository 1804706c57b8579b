"""JSON Lines request parsers for bulk ingestion (a JSON array uses the API's JSON parser).

They read at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes, like entertainment.parsers. A body with
broken lines still parses: each broken line becomes a `MalformedLine` in its place, so the
ingestion reports every bad line at once, by line number, alongside the other per-event
errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from rest_framework.parsers import BaseParser

from entertainment.parsers import loads, read_text


@dataclass(frozen=True)
class MalformedLine:
    """A JSON Lines line that is not valid JSON."""

    message: str


class ParsedLines(list[Any]):
    """Parsed events, with the line number (from 1) each one came from."""

    def __init__(self, events: list[Any], lines: list[int]) -> None:
        super().__init__(events)
        self.lines = lines


class JSONLinesParser(BaseParser):
    """JSON Lines (https://jsonlines.org): one JSON value per line, lines separated by "\n"
    (optionally "\r\n"); blank lines are skipped."""

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
        # Lines end at "\n" only ("\r\n" leaves a "\r", which JSON reads as whitespace).
        # str.splitlines() would also end a line at U+2028, U+2029, U+0085 or a form feed,
        # splitting a valid event whose text holds one and shifting every line number after.
        for number, line in enumerate(read_text(stream).split("\n"), start=1):
            if not line.strip():
                continue
            try:
                events.append(loads(line))
            except ValueError as exc:
                events.append(MalformedLine(f"Line {number} is not valid JSON: {exc}"))
            lines.append(number)
        return ParsedLines(events, lines)


class NDJSONParser(JSONLinesParser):
    """The same format under its other common name."""

    media_type = "application/x-ndjson"
