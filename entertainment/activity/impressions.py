"""Impressions: what each person was shown, recorded without slowing what showed it.

A request appends one compact record per list it showed (`note`) to a buffer: a Redis list
when the cache is Redis (one RPUSH), files under IMPRESSION_SPOOL_DIR with the embedded file
cache, the process's memory with any other cache (tests). `flush`, run by the `cpu` queue
every IMPRESSION_FLUSH_INTERVAL_S (and as soon as a Redis buffer holds IMPRESSION_FLUSH_AT
lists), writes them with bulk_create and attributes the outcomes that came first.

Consent is checked twice: by the request (signed in, history not paused, measurement on),
and by the flush, under the lock of each person's privacy row, so a person who switched
measurement off, paused their history or erased it after the list was shown gets nothing
written: a record shown before their latest erasure or switch-off is dropped too.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.redis import RedisCache
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from entertainment import caching
from entertainment.accounts.models import ErasureRequest, PrivacySettings, SettingChange
from entertainment.catalogue.models import Item

from . import outcomes, tasks
from .models import Click, Impression, ListName

log = logging.getLogger(__name__)

BUFFER_KEY = "impressions:buffer"
# Lists taken from the buffer per database transaction.
BATCH = 2000
MAX_ROUNDS = 50
# A cached copy of whether a person may be measured, read by the API in its one round trip.
MEASURE_TTL_S = 300
MODEL_VERSION_MAX = 40


def measure_key(user_id: int) -> str:
    return f"impr:measure:{user_id}"


def measuring(privacy: PrivacySettings) -> bool:
    return bool(privacy.measure_recommendations and not privacy.history_paused)


def may_measure(user: Any, cached: dict[str, Any] | None = None) -> bool:
    """Whether what this person is shown may be recorded, from `cached` (read already, with
    measure_key among the keys) or the cache, else the database (then cached)."""
    if not getattr(user, "is_authenticated", False):
        return False
    key = measure_key(user.pk)
    found = cached.get(key) if cached is not None else caching.get(key)
    if isinstance(found, bool):
        return found
    allowed = measuring(user.privacy)
    caching.put(key, allowed, MEASURE_TTL_S)
    return allowed


def forget_consent(user_id: int) -> None:
    """The person's settings changed or they erased: drop the cached answer."""
    caching.delete([measure_key(user_id)])


@dataclass(frozen=True)
class Shown:
    """One list as one person saw it: items in rank order (rank 1 first), or at `ranks`
    (an API answer interleaves the lists of several kinds)."""

    user_id: int
    list: str
    kind: str
    model_version: str
    item_ids: Sequence[int]
    experiment_id: int | None = None
    arm: str = ""
    at: float = 0.0  # epoch seconds; 0: now
    ranks: Sequence[int] | None = None

    def encode(self) -> str:
        at = self.at or time.time()
        return json.dumps(
            [
                self.user_id,
                self.list,
                self.kind,
                self.model_version[:MODEL_VERSION_MAX],
                self.experiment_id,
                self.arm,
                round(at, 3),
                list(self.item_ids),
                list(self.ranks) if self.ranks is not None else None,
            ],
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, raw: str | bytes) -> Shown | None:
        try:
            user_id, list_name, kind, version, experiment, arm, at, items, ranks = json.loads(raw)
            if list_name not in ListName.values or (ranks is not None and len(ranks) != len(items)):
                return None
            return cls(
                int(user_id),
                str(list_name),
                str(kind),
                str(version),
                [int(i) for i in items],
                int(experiment) if experiment is not None else None,
                str(arm)[:1],
                float(at),
                [int(r) for r in ranks] if ranks is not None else None,
            )
        except (ValueError, TypeError):
            log.warning("dropping a malformed impression record: %.200r", raw)
            return None


# --- Buffers --------------------------------------------------------------------------------


class _RedisBuffer:
    def __init__(self, cache: RedisCache) -> None:
        self.cache = cache
        self.key = cache.make_key(BUFFER_KEY)
        self.ident = f"redis:{self.key}"

    def _call(self, name: str, *args: Any) -> Any:
        wrapper = self.cache._cache
        client = wrapper.get_client(write=True)
        call = getattr(client, name)
        # The fail-fast client (entertainment/cache.py) refuses at once while Redis is down.
        guarded = getattr(wrapper, "_call", None)
        return guarded(call, *args) if guarded is not None else call(*args)

    def push(self, records: list[str]) -> int:
        return int(self._call("rpush", self.key, *records))

    def take(self, n: int) -> list[str]:
        wrapper = self.cache._cache
        client = wrapper.get_client(write=True)

        def run() -> list[Any]:
            with client.pipeline(transaction=True) as pipe:
                pipe.lrange(self.key, 0, n - 1)
                pipe.ltrim(self.key, n, -1)
                return pipe.execute()

        guarded = getattr(wrapper, "_call", None)
        taken = guarded(run) if guarded is not None else run()
        return [r.decode() if isinstance(r, bytes) else r for r in taken[0]]

    def put_back(self, records: list[str]) -> None:
        if records:
            self._call("lpush", self.key, *reversed(records))


class _FileBuffer:
    """Lines appended to one file; a flush renames it away and reads it once every writer
    that opened it before has finished (each holds an exclusive lock while it writes, and
    checks under the lock that its file is still the current one)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.current = folder / "current.jsonl"
        self.ident = f"file:{folder}"

    def push(self, records: list[str]) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = "".join(f"{r}\n" for r in records).encode()
        for _ in range(5):
            fd = os.open(self.current, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    same = os.fstat(fd).st_ino == os.stat(self.current).st_ino
                except FileNotFoundError:
                    same = False
                if same:
                    os.write(fd, data)
                    return 0
            finally:
                os.close(fd)
        return 0

    def take(self, n: int) -> list[str]:
        """Everything spooled (`n` is a Redis batch size; a spool file is one batch)."""
        taken: list[str] = []
        self.folder.mkdir(parents=True, exist_ok=True)
        # Two flushes at once: the second waits, then finds the files gone.
        with open(self.folder / ".flush.lock", "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            if self.current.exists():
                moving = self.folder / f"flushing-{uuid.uuid4().hex}.jsonl"
                with contextlib.suppress(FileNotFoundError):
                    os.rename(self.current, moving)
            for path in sorted(self.folder.glob("flushing-*.jsonl")):
                with open(path, "rb") as handle:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                    taken.extend(line.decode() for line in handle.read().splitlines() if line)
                path.unlink()
        return taken

    def put_back(self, records: list[str]) -> None:
        if records:
            path = self.folder / f"flushing-{uuid.uuid4().hex}.jsonl"
            path.write_text("".join(f"{r}\n" for r in records))


_memory: dict[str, list[str]] = {}
_memory_lock = threading.Lock()


class _MemoryBuffer:
    """The process's own list (a per-process cache: tests, or a single process)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ident = f"memory:{name}"

    def push(self, records: list[str]) -> int:
        with _memory_lock:
            found = _memory.setdefault(self.name, [])
            found.extend(records)
            return len(found)

    def take(self, n: int) -> list[str]:
        with _memory_lock:
            found = _memory.setdefault(self.name, [])
            taken, found[:] = found[:n], found[n:]
            return taken

    def put_back(self, records: list[str]) -> None:
        with _memory_lock:
            _memory.setdefault(self.name, [])[:0] = records


def buffer() -> _RedisBuffer | _FileBuffer | _MemoryBuffer:
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        return _RedisBuffer(cache)
    if isinstance(cache, FileBasedCache):
        return _FileBuffer(Path(settings.IMPRESSION_SPOOL_DIR))
    location = str(settings.CACHES["default"].get("LOCATION", ""))
    return _MemoryBuffer(location)


Buffer = _RedisBuffer | _FileBuffer | _MemoryBuffer
# Records a process holds before one push (IMPRESSION_BATCH_S), by buffer.
_pending: dict[str, tuple[Buffer, list[str]]] = {}
_pending_lock = threading.Lock()
_timer: list[threading.Timer] = []
PENDING_MAX = 200


def note(shown: Iterable[Shown]) -> None:
    """Append what was shown to the buffer. Never raises: a lost impression costs a figure.

    With IMPRESSION_BATCH_S (1 s by default), a process gathers its requests' records and
    pushes them together, at most that long later (or once it holds PENDING_MAX lists): a
    request pays for encoding its records, not for a round trip to Redis. A process that dies
    loses at most that second of impressions."""
    if not settings.RECORD_IMPRESSIONS:
        return
    records = [s.encode() for s in shown if s.item_ids]
    if not records:
        return
    try:
        store = buffer()
    except Exception:
        log.warning("impressions not recorded: buffer unavailable", exc_info=True)
        return
    delay = settings.IMPRESSION_BATCH_S
    if delay <= 0:
        _push(store, records)
        return
    with _pending_lock:
        held = _pending.setdefault(store.ident, (store, []))[1]
        held.extend(records)
        full = len(held) >= PENDING_MAX
        if not full and not _timer:
            timer = threading.Timer(delay, drain)
            timer.daemon = True
            _timer.append(timer)
            timer.start()
    if full:
        drain()


def drain() -> None:
    """Push what this process holds (the timer, a full batch, a flush, the process's exit)."""
    with _pending_lock:
        taken = list(_pending.values())
        _pending.clear()
        for timer in _timer:
            timer.cancel()
        _timer.clear()
    for store, records in taken:
        _push(store, records)


atexit.register(drain)


def _push(store: Buffer, records: list[str]) -> None:
    try:
        length = store.push(records)
    except Exception:
        log.warning("impressions not recorded: buffer unavailable", exc_info=True)
        return
    threshold = settings.IMPRESSION_FLUSH_AT
    # Only the push that fills the buffer past the threshold asks for a flush.
    if length >= threshold > length - len(records):
        try:
            tasks.flush_impressions.apply_async(expires=300)
        except Exception:
            log.warning("could not queue an impression flush", exc_info=True)


# --- Flush ----------------------------------------------------------------------------------


def _chunks(values: list[int], size: int = 900) -> list[list[int]]:
    """Ids per `IN` query: below SQLite's historical limit of 999 bound variables."""
    return [values[start : start + size] for start in range(0, len(values), size)]


def _moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _cutoffs(user_ids: list[int]) -> dict[int, datetime]:
    """Per person, the moment before which nothing shown may be written: their latest
    erasure, or their latest switch of measurement off or of history to paused."""
    found: dict[int, datetime] = {}
    erasures = (
        ErasureRequest.objects.filter(user_id__in=user_ids)
        .order_by()
        .values("user_id")
        .annotate(at=Max("requested_at"))
    )
    switches = (
        SettingChange.objects.filter(user_id__in=user_ids)
        .filter(setting__in=["measure_recommendations", "history_paused"])
        .order_by()
        .values("user_id")
        .annotate(at=Max("changed_at"))
    )
    for row in [*erasures, *switches]:
        at = row["at"]
        if at is not None and (row["user_id"] not in found or at > found[row["user_id"]]):
            found[row["user_id"]] = at
    return found


def _write(records: list[Shown]) -> int:
    """Write one batch in one transaction; returns the impressions written."""
    user_ids = sorted({r.user_id for r in records})
    with transaction.atomic():
        # Locked in order until commit: a privacy change or erasure of these people waits,
        # and one that committed first is seen.
        allowed: set[int] = set()
        cutoffs: dict[int, datetime] = {}
        for chunk in _chunks(user_ids):
            allowed.update(
                user_id
                for user_id, measure, paused in PrivacySettings.objects.select_for_update()
                .filter(user_id__in=chunk)
                .order_by("user_id")
                .values_list("user_id", "measure_recommendations", "history_paused")
                if measure and not paused
            )
            cutoffs.update(_cutoffs([u for u in chunk if u in allowed]))
        items: set[int] = set()
        for chunk in _chunks(
            sorted({i for r in records if r.user_id in allowed for i in r.item_ids})
        ):
            items.update(Item.objects.filter(pk__in=chunk).values_list("pk", flat=True))
        rows: list[Impression] = []
        for record in records:
            if record.user_id not in allowed:
                continue
            at = _moment(record.at)
            cutoff = cutoffs.get(record.user_id)
            if cutoff is not None and at <= cutoff:
                continue
            rows.extend(
                Impression(
                    user_id=record.user_id,
                    item_id=item_id,
                    created_at=at,
                    list=record.list,
                    kind=record.kind,
                    model_version=record.model_version,
                    rank=max(1, min(rank, 32767)),
                    experiment_id=record.experiment_id,
                    arm=record.arm,
                )
                for rank, item_id in zip(
                    record.ranks or range(1, len(record.item_ids) + 1), record.item_ids, strict=True
                )
                if item_id in items
            )
        Impression.objects.bulk_create(rows, batch_size=500)
        if rows:
            pairs = {(row.user_id, row.item_id) for row in rows}
            outcomes.after_impressions(pairs, min(row.created_at for row in rows))
    return len(rows)


def flush() -> int:
    """Write what the buffer holds; returns the impressions written."""
    drain()  # what this process holds itself
    store = buffer()
    written = 0
    for _ in range(MAX_ROUNDS):
        raw = store.take(BATCH)
        if not raw:
            break
        records = [r for r in (Shown.decode(line) for line in raw) if r is not None]
        try:
            written += _write(records)
        except Exception:
            store.put_back(raw)
            raise
        if len(raw) < BATCH:
            break
    return written


# --- Retention and deletion -----------------------------------------------------------------


def expire(now: datetime | None = None) -> int:
    """Delete raw impressions and clicks older than IMPRESSION_RETENTION_DAYS (the daily
    aggregates stay); returns the rows deleted."""
    limit = (now or timezone.now()) - timedelta(days=settings.IMPRESSION_RETENTION_DAYS)
    deleted = Impression.objects.filter(created_at__lt=limit).delete()[0]
    return deleted + Click.objects.filter(created_at__lt=limit).delete()[0]


def delete_measurements(user_id: int, item_ids: list[int] | None = None) -> int:
    """Delete a person's impressions and clicks (of `item_ids` only, when given)."""
    deleted = 0
    for model in (Impression, Click):
        rows = model.objects.filter(user_id=user_id)
        if item_ids is not None:
            rows = rows.filter(item_id__in=item_ids)
        deleted += rows.delete()[0]
    return deleted
