"""Every CSV file ml/ reads or writes goes through here, so any text survives the trip.

Files are opened with `newline=""`, as the csv module requires: the reader alone decides where
a record ends, so a quoted field keeps its line breaks ("Loved it.\\nWould watch again", a
lone "\\r", "\\r\\n") and nothing splits on the characters that `str.splitlines()` also treats
as line ends (\\x0b, \\x0c, \\x1c-\\x1e, \\x85, \\u2028, \\u2029), which are ordinary text
inside a CSV field. Quotes, commas, tabs, surrounding spaces and NUL round-trip too (the csv
module has accepted NUL since Python 3.11; the database never holds one, but a file made
elsewhere may).

Text is UTF-8. Reading accepts a leading byte order mark (spreadsheets write one) and drops
it; writing never adds one. Records are numbered by the line they start on, so a message
about a review that spans three lines names its first.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

ENCODING = "utf-8"
# utf-8-sig reads plain UTF-8 unchanged and drops a byte order mark at the very start only.
READ_ENCODING = "utf-8-sig"


def read_rows(
    path: Path | str, error: type[Exception] = ValueError
) -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, its fields) for every record, the header first.

    Blank lines are skipped. A file that cannot be opened or decoded, or malformed CSV, raises
    `error` with a message that names the file (and the line where one is known).
    """
    path = Path(path)
    try:
        handle = path.open(newline="", encoding=READ_ENCODING)
    except OSError as exc:
        raise error(f"{path}: cannot open ({exc.strerror})") from None
    with handle:
        reader = csv.reader(handle, strict=True)
        start = 1
        try:
            for row in reader:
                if row:
                    yield start, row
                start = reader.line_num + 1
        except csv.Error as exc:
            raise error(f"{path}, line {start}: malformed CSV ({exc})") from None
        except UnicodeDecodeError as exc:
            raise error(f"{path}: not UTF-8 text ({exc.reason})") from None


def write_rows(path: Path | str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write a header and rows (values are written as str() gives them); the count of rows."""
    count = 0
    with Path(path).open("w", newline="", encoding=ENCODING) as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count
