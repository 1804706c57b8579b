"""What the importers (MovieLens, Last.fm, Steam) share: reading files, and writing in bulk.

Every importer works in two phases. First it reads and checks every line of its files and
builds plain records in memory; a bad line stops it there with "file:line: message" and
nothing written. Then it writes everything in one transaction, in batches, against in-memory
maps of what is already stored (people by source id, items by external id), so a rerun
finds everything present and adds nothing.

Imported rows do not go through activity.recording: that path sends a signal per write (one
real-time update each), while an import is a bulk load the next training run picks up.
"""

from __future__ import annotations

import codecs
import csv
import io
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar, cast

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.text import slugify
from tqdm import tqdm

from entertainment.accounts.models import User
from entertainment.activity.models import MAX_STARS, MIN_STARS, Play, Rating

from .artwork import cleaned_artwork, inspect_artwork, set_artwork
from .models import ExternalId, Genre, Item

M = TypeVar("M", bound=models.Model)
T = TypeVar("T")

BATCH = 2000
TITLE_MAX = Item._meta.get_field("title").max_length or 300
EXTERNAL_ID_MAX = ExternalId._meta.get_field("value").max_length or 255


class LineError(CommandError):
    """A bad line in an input file: the message names the file and the line."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")


# --- Reading ----------------------------------------------------------------------------------


class Progress:
    """tqdm bars on stderr, or nothing at all (verbosity 0, tests)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def bar(self, total: int, desc: str, unit: str = "rows") -> tqdm[Any]:
        return tqdm(
            total=total,
            desc=desc,
            unit=unit,
            unit_scale=unit == "B",
            file=sys.stderr,
            disable=not self.enabled or total == 0,
            leave=False,
            dynamic_ncols=True,
        )


def checked_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise CommandError(f"Unknown text encoding {name!r} (try utf-8 or latin-1).") from None


def text_lines(
    path: Path, encoding: str, progress: Progress, *, keep_ends: bool = False
) -> Iterator[tuple[int, str]]:
    """(line number, text), decoding line by line to name a bad line.

    Lines end at b"\\n" only (the file is read as bytes), so \\x0c, \\x85, U+2028 and the like
    stay inside their line, as they are text. The line ending is dropped unless `keep_ends`.
    """
    with path.open("rb") as f, progress.bar(path.stat().st_size, path.name, "B") as bar:
        for number, raw in enumerate(f, start=1):
            bar.update(len(raw))
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise LineError(
                    path,
                    number,
                    f"byte 0x{raw[exc.start]:02x} at column {exc.start + 1} is not {encoding} "
                    "text; give the file's encoding with --encoding (e.g. latin-1)",
                ) from None
            if number == 1:
                text = text.removeprefix("\ufeff")
            yield number, text if keep_ends else text.removesuffix("\n").removesuffix("\r")


def split_records(
    path: Path,
    encoding: str,
    separator: str,
    columns: int | tuple[int, int],
    progress: Progress,
    header: Sequence[str] | None = None,
) -> Iterator[tuple[int, list[str]]]:
    """Records of a file whose fields are split by `separator` (no quoting), blank lines skipped.

    `columns` is the exact count or a (least, most) range; `header`, when given, must be the
    first line.
    """
    least, most = columns if isinstance(columns, tuple) else (columns, columns)
    expect_header = header is not None
    for number, text in text_lines(path, encoding, progress):
        fields = text.split(separator)
        if expect_header:
            expect_header = False
            if [f.strip().lower() for f in fields] != [h.lower() for h in header or ()]:
                raise LineError(
                    path, number, f"expected the header {separator.join(header or ())!r}"
                )
            continue
        if not text.strip():
            continue
        yield number, check_columns(path, number, fields, least, most, separator)


def csv_records(
    path: Path,
    encoding: str,
    columns: int | tuple[int, int],
    progress: Progress,
    header: Sequence[str] | None = None,
) -> Iterator[tuple[int, list[str]]]:
    """Records of a comma-separated file with optional quoting (titles hold commas).

    The csv reader gets each line with its own ending, as a file opened with newline="" gives
    them, so a quoted field keeps its line break exactly ("\\r\\n" stays "\\r\\n"). Strict: an
    unclosed quote is an error at the line it opens, not the rest of the file in one field.
    A record is numbered by the line it starts on.
    """
    least, most = columns if isinstance(columns, tuple) else (columns, columns)
    lines = text_lines(path, encoding, progress, keep_ends=True)
    reader = csv.reader((text for _, text in lines), strict=True)
    expect_header = header is not None
    number = 1
    try:
        for fields in reader:
            if expect_header:
                expect_header = False
                if [f.strip().lower() for f in fields] != [h.lower() for h in header or ()]:
                    raise LineError(path, number, f"expected the header {','.join(header or ())!r}")
                number = reader.line_num + 1
                continue
            if fields and "".join(fields).strip():
                yield number, check_columns(path, number, fields, least, most, ",")
            number = reader.line_num + 1
    except csv.Error as exc:
        raise LineError(path, number, f"malformed CSV: {exc}") from None


def check_columns(
    path: Path, number: int, fields: list[str], least: int, most: int, separator: str
) -> list[str]:
    if not least <= len(fields) <= most:
        wanted = str(least) if least == most else f"{least} to {most}"
        raise LineError(
            path,
            number,
            f"expected {wanted} fields separated by {separator!r}, found {len(fields)}",
        )
    return fields


def whole_number(path: Path, number: int, text: str, what: str, minimum: int = 0) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise LineError(path, number, f"{what} must be a whole number, got {text!r}") from None
    if value < minimum:
        raise LineError(path, number, f"{what} must be at least {minimum}, got {value}")
    return value


def decimal_number(path: Path, number: int, text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise LineError(path, number, f"{what} must be a number, got {text!r}") from None
    if not value.is_finite() or value < 0:
        raise LineError(path, number, f"{what} must be a finite number >= 0, got {text!r}")
    return value


def star_rating(path: Path, number: int, text: str) -> Decimal:
    value = decimal_number(path, number, text, "the rating")
    if not MIN_STARS <= value <= MAX_STARS or (value * 2) % 1 != 0:
        raise LineError(
            path, number, f"the rating must be 0.5 to 5 in half stars, got {text.strip()!r}"
        )
    return value.quantize(Decimal("0.1"))


def required_files(directory: Path, *names: str) -> list[Path]:
    paths = [directory / name for name in names]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise CommandError(f"{directory}: missing {', '.join(missing)}")
    return paths


# --- Writing ----------------------------------------------------------------------------------


@dataclass
class ItemRecord:
    """An item as a source describes it; `key` is its id in that source."""

    key: str
    title: str
    year: int | None = None
    genres: list[str] = field(default_factory=list)
    music_type: str = ""
    other_ids: dict[str, str] = field(default_factory=dict)


@dataclass
class Counts:
    """What one import did, for its closing line."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, what: str, n: int = 1) -> None:
        table: dict[str, int] = getattr(self, kind)
        table[what] = table.get(what, 0) + n

    def summary(self) -> str:
        def line(label: str, table: dict[str, int]) -> str:
            return f"{label}: " + (", ".join(f"{n} {w}" for w, n in table.items()) or "nothing")

        parts = [line("created", self.created)]
        for label in ("updated", "unchanged", "skipped"):
            table = getattr(self, label)
            if table:
                parts.append(line(label, table))
        return "; ".join(parts)


def batched(rows: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def bulk_create(model: type[M], rows: Sequence[M], progress: Progress, desc: str) -> list[M]:
    created: list[M] = []
    with progress.bar(len(rows), desc) as bar:
        for batch in batched(rows, BATCH):
            created.extend(model._default_manager.bulk_create(batch))
            bar.update(len(batch))
    return created


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    progress: Progress,
    desc: str,
) -> None:
    """Insert plain tuples (values for `columns`, by field name) with one executemany a batch.

    For the large tables whose new keys nobody needs back. Two reasons not to use
    bulk_create: it builds a model instance and compiles SQL for every value, which costs
    most of an import's time; and it calls each field's pre_save(), which overwrites
    auto_now/auto_now_add timestamps, while the source's times must survive (sequence models
    learn from the order of ratings). Values still go through each field's own conversion
    for this database, so every backend gets what it expects.
    """
    if not rows:
        return
    opts = model._meta
    fields = [cast("models.Field[Any, Any]", opts.get_field(name)) for name in columns]
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(opts.db_table),
        ", ".join(quote(str(f.column)) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    prepare = [f.get_db_prep_save for f in fields]
    # The wrapper itself, not the thread-local `connection` proxy: it is asked for per value.
    wrapper = connections[DEFAULT_DB_ALIAS]
    with wrapper.cursor() as cursor, progress.bar(len(rows), desc) as bar:
        for batch in batched(rows, BATCH):
            cursor.executemany(
                sql,
                [tuple(p(v, wrapper) for p, v in zip(prepare, row, strict=True)) for row in batch],
            )
            bar.update(len(batch))


def bulk_update(
    model: type[M], rows: Sequence[M], fields: list[str], progress: Progress, desc: str
) -> None:
    with progress.bar(len(rows), desc) as bar:
        for batch in batched(rows, BATCH):
            model._default_manager.bulk_update(batch, fields)
            bar.update(len(batch))


def imported_people(
    source: str, ids: Iterable[str], counts: Counts, progress: Progress
) -> dict[str, int]:
    """user pk by source id, creating accounts for ids not seen before.

    Imported accounts cannot log in (unusable password). Their usernames hold a colon, which
    sign-up refuses, so they never collide with a real person's.
    """
    known = dict(
        User.objects.filter(imported_from=source).values_list("imported_id", "pk").iterator()
    )
    wanted = list(dict.fromkeys(ids))
    new = [
        User(
            username=f"{source}:{source_id}"[:150],
            imported_from=source,
            imported_id=source_id,
            password=make_password(None),
        )
        for source_id in wanted
        if source_id not in known
    ]
    for user in bulk_create(User, new, progress, "people"):
        known[user.imported_id] = user.pk
    counts.add("created", "people", len(new))
    return known


def genre_ids(kind: str, names: Sequence[str], counts: Counts) -> dict[str, int]:
    """genre pk by name, matched on the slug within the kind, creating the missing ones."""
    by_slug = dict(Genre.objects.filter(kind=kind).values_list("slug", "pk"))
    result: dict[str, int] = {}
    new: dict[str, Genre] = {}
    for name in dict.fromkeys(names):
        slug = slugify(name)[:110] or "genre"
        if slug in by_slug:
            result[name] = by_slug[slug]
        elif slug not in new:
            new[slug] = Genre(kind=kind, name=name[:100], slug=slug)
    for genre in Genre.objects.bulk_create(list(new.values())):
        by_slug[genre.slug] = genre.pk
    counts.add("created", "genres", len(new))
    for name in names:
        result.setdefault(name, by_slug[slugify(name)[:110] or "genre"])
    return result


def ensure_items(
    kind: str, source: str, records: Sequence[ItemRecord], counts: Counts, progress: Progress
) -> dict[str, int]:
    """item pk by source key: existing items found by ExternalId, the others created.

    Existing items keep their title and fields (staff may have edited them); they gain any
    genres and other ids the source gives that they lack.
    """
    ids = dict(ExternalId.objects.filter(source=source).values_list("value", "item_id").iterator())
    new_records = [r for r in records if r.key not in ids]
    new_items = [
        Item(kind=kind, title=r.title[:TITLE_MAX], year=r.year, music_type=r.music_type)
        for r in new_records
    ]
    created = bulk_create(Item, new_items, progress, "items")
    for record, item in zip(new_records, created, strict=True):
        ids[record.key] = item.pk
    counts.add("created", "items", len(created))

    # External ids: the source's own, and other catalogues' where no other item holds them.
    other_sources = {s for r in records for s in r.other_ids}
    taken = set(ExternalId.objects.filter(source__in=other_sources).values_list("source", "value"))
    links = [(ids[r.key], source, r.key) for r in new_records]
    for record in records:
        for other, value in record.other_ids.items():
            if (other, value) in taken:
                continue
            taken.add((other, value))
            links.append((ids[record.key], other, value))
    insert_rows(ExternalId, ["item", "source", "value"], links, progress, "external ids")
    counts.add("created", "external ids", len(links))

    names = [g for r in records for g in r.genres]
    if names:
        genre_pk = genre_ids(kind, names, counts)
        through = Item.genres.through
        have = set(
            through.objects.filter(genre__kind=kind).values_list("item_id", "genre_id").iterator()
        )
        wanted = {(ids[r.key], genre_pk[g]) for r in records for g in r.genres}
        missing = sorted(wanted - have)
        insert_rows(through, ["item", "genre"], missing, progress, "genre links")
        counts.add("created", "genre links", len(missing))
    return ids


@dataclass(frozen=True)
class RatingRecord:
    user: int
    item: int
    value: Decimal
    at: datetime


def upsert_ratings(
    source: str, records: Sequence[RatingRecord], counts: Counts, progress: Progress
) -> None:
    """One rating per person and item: new ones inserted, changed values updated.

    Rows keep the source's time as created_at/updated_at, and are inserted in the order
    given (callers sort by time), so primary keys follow each person's rating order too.
    """
    existing = {
        (user, item): (pk, value)
        for pk, user, item, value in Rating.objects.filter(user__imported_from=source)
        .values_list("pk", "user_id", "item_id", "value")
        .iterator()
    }
    new: list[tuple[int, int, Decimal, datetime, datetime]] = []
    changed: list[Rating] = []
    for r in records:
        found = existing.get((r.user, r.item))
        if found is None:
            new.append((r.user, r.item, r.value, r.at, r.at))
        elif found[1] != r.value:
            # bulk_update() leaves auto_now alone, so the source's time is kept here too.
            changed.append(Rating(pk=found[0], value=r.value, updated_at=r.at))
    columns = ["user", "item", "value", "created_at", "updated_at"]
    insert_rows(Rating, columns, new, progress, "ratings")
    bulk_update(Rating, changed, ["value", "updated_at"], progress, "changed ratings")
    counts.add("created", "ratings", len(new))
    counts.add("updated", "ratings", len(changed))
    counts.add("unchanged", "ratings", len(records) - len(new) - len(changed))


@dataclass(frozen=True)
class PlayRecord:
    """Plays without times (counts, hours): one row per person and item, found again by
    a client event id derived from the source."""

    user: int
    item: int
    event_id: str
    play_count: int = 1
    seconds_played: int = 0


def upsert_plays(
    source: str, records: Sequence[PlayRecord], counts: Counts, progress: Progress
) -> None:
    existing = {
        (user, event): (pk, n, seconds)
        for pk, user, event, n, seconds in Play.objects.filter(
            user__imported_from=source, client_event_id__isnull=False
        )
        .values_list("pk", "user_id", "client_event_id", "play_count", "seconds_played")
        .iterator()
    }
    now = timezone.now()
    new: list[tuple[Any, ...]] = []
    changed: list[Play] = []
    for r in records:
        found = existing.get((r.user, r.event_id))
        if found is None:
            new.append(
                (r.user, r.item, r.event_id, now, None, r.seconds_played, False, r.play_count)
            )
        elif found[1:] != (r.play_count, r.seconds_played):
            changed.append(
                Play(pk=found[0], play_count=r.play_count, seconds_played=r.seconds_played)
            )
    columns = [
        "user",
        "item",
        "client_event_id",
        "created_at",
        "started_at",
        "seconds_played",
        "completed",
        "play_count",
    ]
    insert_rows(Play, columns, new, progress, "plays")
    bulk_update(Play, changed, ["play_count", "seconds_played"], progress, "changed plays")
    counts.add("created", "plays", len(new))
    counts.add("updated", "plays", len(changed))
    counts.add("unchanged", "plays", len(records) - len(new) - len(changed))


# --- Artwork from a folder -------------------------------------------------------------------

PICTURE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif")


def picture_files(directory: Path, option: str) -> list[Path]:
    """The pictures in a folder given by `option` (named in every error), sorted by name.

    Called before the data files are read, so a mistyped folder stops the import at once.
    """
    if not directory.exists():
        raise CommandError(f"{option} {directory}: no such folder")
    if not directory.is_dir():
        raise CommandError(f"{option} {directory}: not a folder")
    pictures = sorted(
        p
        for p in directory.iterdir()
        if p.suffix.lower() in PICTURE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )
    if not pictures:
        hint = ""
        for child in ("posters", "images", "artwork"):
            if (directory / child).is_dir():
                hint = f" (did you mean {directory / child}?)"
                break
        raise CommandError(
            f"{option} {directory}: no pictures in it (.jpg, .jpeg, .png, .webp or .gif){hint}"
        )
    return pictures


@dataclass(frozen=True)
class Picture:
    """A picture file for the item its source knows as `key`."""

    key: str
    path: Path


@dataclass(frozen=True)
class RefusedPicture(Picture):
    reason: str


@dataclass
class Pictures:
    """A folder's pictures after each was checked as an upload is."""

    accepted: list[Picture] = field(default_factory=list)
    refused: list[RefusedPicture] = field(default_factory=list)
    unmatched: list[Path] = field(default_factory=list)  # named for no known item

    def keys(self) -> set[str]:
        return {p.key for p in self.accepted} | {p.key for p in self.refused}


def check_pictures(
    paths: Sequence[Path], key_of: Callable[[str], str | None], progress: Progress
) -> Pictures:
    """Match each picture to an item by its file name's stem and check it like an upload.

    `key_of` turns a stem into an item's source key, or None when no item has it. A picture
    that fails the check (size, not an image, damaged, too many pixels) is refused with the
    check's own words; so are two pictures of one item (1.jpg and 1.png), since neither is
    clearly meant. Refusing one picture keeps the others: pictures are decoration, unlike a
    bad data line, which would change what is learned.
    """
    found = Pictures()
    by_key: dict[str, list[Path]] = {}
    for path in paths:
        key = key_of(path.stem)
        if key is None:
            found.unmatched.append(path)
        else:
            by_key.setdefault(key, []).append(path)
    with progress.bar(len(by_key), "checking pictures", "files") as bar:
        for key, same in by_key.items():
            bar.update(1)
            if len(same) > 1:
                names = " and ".join(p.name for p in same)
                found.refused.extend(
                    RefusedPicture(key, p, f"{names} are pictures of one item") for p in same
                )
                continue
            try:
                with same[0].open("rb") as f:
                    inspect_artwork(f)
            except ValidationError as exc:
                found.refused.append(RefusedPicture(key, same[0], " ".join(exc.messages)))
            except OSError as exc:
                reason = f"cannot be read ({exc.strerror or type(exc).__name__})"
                found.refused.append(RefusedPicture(key, same[0], reason))
            else:
                found.accepted.append(Picture(key, same[0]))
    return found


def _stored_bytes(field_file: FieldFile) -> bytes | None:
    try:
        with field_file.open("rb") as stored:
            return bytes(stored.read())
    except OSError:  # gone from storage: the picture is attached again
        return None


def attach_pictures(
    source: str, pictures: Sequence[Picture], items: Mapping[str, int], progress: Progress
) -> tuple[int, int]:
    """Give each item its picture as artwork unless it already has that very picture.

    Returns (attached, unchanged). Pictures go through artwork.set_artwork as uploads do:
    checked, cleaned (re-encoded without metadata), stored, with a fresh thumbnail. What is
    stored is the cleaned copy, so a picture is compared by cleaning it the same way first:
    the same file gives the same bytes and is left alone, and a rerun writes no file.

    Storage is not part of the transaction: files written here are deleted again if this
    step fails, and the originals it replaces are deleted only once the transaction commits.
    Call it last in an import's write phase.
    """
    field_storage = Item._meta.get_field("artwork").storage
    written: list[str] = []
    replaced: list[str] = []
    attached = unchanged = 0
    try:
        with progress.bar(len(pictures), "artwork", "files") as bar:
            for batch in batched(pictures, BATCH):
                by_pk = Item.objects.in_bulk([items[p.key] for p in batch])
                for picture in batch:
                    bar.update(1)
                    item = by_pk[items[picture.key]]
                    data = picture.path.read_bytes()
                    old = item.artwork.name or ""
                    if old:
                        cleaned = cleaned_artwork(io.BytesIO(data), picture.path.name).read()
                        if _stored_bytes(item.artwork) == cleaned:
                            unchanged += 1
                            continue
                    stem = f"{source}-{picture.key.replace(':', '-')}"
                    try:
                        set_artwork(item, data, stem + picture.path.suffix.lower())
                    except ValidationError as exc:  # changed since it was checked
                        raise CommandError(f"{picture.path}: {' '.join(exc.messages)}") from None
                    written += [item.artwork.name or "", item.artwork_thumbnail.name or ""]
                    if old:
                        replaced.append(old)
                    attached += 1
    except BaseException:
        for name in written:
            if name:
                field_storage.delete(name)
        raise

    def delete_replaced() -> None:
        # Never a file another item still shows (artwork copied from item to item).
        shown = set(Item.objects.filter(artwork__in=replaced).values_list("artwork", flat=True))
        for name in replaced:
            if name not in shown:
                field_storage.delete(name)

    if replaced:
        transaction.on_commit(delete_replaced)
    return attached, unchanged


# --- The command ------------------------------------------------------------------------------


class ImportCommand(BaseCommand):
    """Read and check everything, then write it all in one transaction."""

    source: str
    path_help = "the directory holding the files"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help=self.path_help)
        parser.add_argument(
            "--encoding",
            help="text encoding of the files (default: the format's own, usually utf-8)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        progress = Progress(options["verbosity"] >= 1)
        encoding = checked_encoding(options["encoding"]) if options["encoding"] else None
        started = time.monotonic()
        loaded = self.read(path, encoding, progress, options)
        counts = Counts()
        with transaction.atomic():
            self.write(loaded, counts, progress)
        self.stdout.write(f"{self.source}: {counts.summary()} ({time.monotonic() - started:.1f} s)")

    def read(self, path: Path, encoding: str | None, progress: Progress, options: Any) -> Any:
        raise NotImplementedError

    def write(self, loaded: Any, counts: Counts, progress: Progress) -> None:
        raise NotImplementedError
