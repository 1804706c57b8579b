"""Export consenting people's data to files in the ml CLI's formats, with a content hash.

A snapshot is the only way training sees personal data, so the privacy switches are applied
here: people who switched a signal off are left out of that signal's file, and every person
whose rows went in is recorded as a SnapshotMember (erasure uses it). The files live only while
a run needs them (`release`, and the hourly `sweep` for what a crash left).
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils import timezone

from entertainment.accounts.models import PrivacySettings, User
from entertainment.activity.models import Dismissal, Play, Rating, Review
from entertainment.catalogue.models import Item
from ml.artefacts import hash_files

from . import withdrawal
from .models import Snapshot, SnapshotMember, TrainingRun

INTERACTIONS = "interactions.csv"
REVIEWS = "reviews.csv"
# "Not for me" marks as negative feedback: reviews.csv's columns, no text, the lowest stars
# (ml.hybrid.feedback_weights reads that as -2, its most negative review), from people who let
# their ratings train the models (a dismissal is a rating-like signal). Kept out of reviews.csv
# so the sentiment model never reads them as texts.
DISMISSALS = "dismissals.csv"
DISMISSED_STARS = "0.5"
# The catalogue's genres and years of the items in interactions.csv (ml.item_features): no
# personal data, side information for the hybrid's EASE part.
ITEMS = "items.csv"
# Item ids per query when writing it.
ITEMS_CHUNK = 2000
ARTWORK_DIR = "artwork"
ARTWORK_LABELS = "artwork_labels.csv"
# Stored file names and sizes: a replaced image changes the hash though its label row does not.
ARTWORK_MANIFEST = "artwork_manifest.txt"


def consenting(signal: str) -> QuerySet[User]:
    """People who let `signal` (plays, ratings, reviews) train the models.

    People without a settings row have the defaults: kept in by `exclude` where the default
    is on, left out by `filter` where it is off.
    """
    field = f"train_on_{signal}"
    switch = PrivacySettings._meta.get_field(field)
    assert isinstance(switch, models.BooleanField)
    if switch.default:
        return User.objects.exclude(**{f"privacy_settings__{field}": False})
    return User.objects.filter(**{f"privacy_settings__{field}": True})


def _epoch(value: object) -> str:
    return "" if value is None else str(int(value.timestamp()))  # type: ignore[attr-defined]


def _interaction_rows(
    play_users: QuerySet[User], rating_users: QuerySet[User]
) -> Iterator[list[str]]:
    plays = (
        Play.objects.filter(user_id__in=play_users)
        .order_by("user_id", "started_at", "pk")
        .values_list("user_id", "item_id", "started_at", "play_count")
    )
    for user_id, item_id, started_at, count in plays.iterator(chunk_size=5000):
        yield [str(user_id), str(item_id), _epoch(started_at), str(count)]
    ratings = (
        Rating.objects.filter(user_id__in=rating_users)
        .order_by("user_id", "created_at", "pk")
        .values_list("user_id", "item_id", "created_at", "value")
    )
    for user_id, item_id, created_at, value in ratings.iterator(chunk_size=5000):
        yield [str(user_id), str(item_id), _epoch(created_at), str(value)]


def _noting_items(rows: Iterator[list[str]], items: set[str]) -> Iterator[list[str]]:
    """The rows as they are, each one's item (second field) added to `items`."""
    for row in rows:
        items.add(row[1])
        yield row


def _write_csv(path: Path, header: list[str], rows: Iterator[list[str]]) -> tuple[int, set[str]]:
    users: set[str] = set()
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            users.add(row[0])
            count += 1
    return count, users


def _export_items(path: Path, item_ids: set[str]) -> int:
    """`item,title,genres,year` for these items (ml.item_features): genre slugs as the artwork
    labels have them."""
    ids = sorted(int(pk) for pk in item_ids)
    through = Item.genres.through
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["item", "title", "genres", "year"])
        for start in range(0, len(ids), ITEMS_CHUNK):
            chunk = ids[start : start + ITEMS_CHUNK]
            genres: dict[int, list[str]] = {}
            for item_id, slug in through.objects.filter(item_id__in=chunk).values_list(
                "item_id", "genre__slug"
            ):
                genres.setdefault(item_id, []).append(slug)
            for pk, title, year in (
                Item.objects.filter(pk__in=chunk).order_by("pk").values_list("pk", "title", "year")
            ):
                writer.writerow([pk, title, "|".join(sorted(genres.get(pk, []))), year or ""])
    return len(ids)


def _export_artwork(directory: Path) -> int:
    """Link (or copy) each distinct artwork image and write `file,genres` labels."""
    directory.mkdir()
    storage = Item._meta.get_field("artwork").storage
    rows = []
    manifest = []
    items = Item.objects.exclude(artwork="").prefetch_related("genres").order_by("pk")
    seen: set[str] = set()
    for item in items.iterator(chunk_size=500):
        stored = item.artwork.name or ""
        if stored in seen:
            # Tracks share their album's cover: one copy teaches the CNN as much as ten.
            continue
        seen.add(stored)
        suffix = Path(stored).suffix.lower() or ".img"
        name = f"{item.pk}{suffix}"
        try:
            source = Path(storage.path(stored))
            (directory / name).symlink_to(source)
        except NotImplementedError:  # remote storage: copy the bytes
            with storage.open(stored, "rb") as src, (directory / name).open("wb") as dst:
                shutil.copyfileobj(src, dst)
        rows.append([name, "|".join(sorted(g.slug for g in item.genres.all()))])
        manifest.append(f"{name} {stored} {storage.size(stored)}")
    (directory.parent / ARTWORK_MANIFEST).write_text("\n".join(manifest) + "\n")
    with (directory.parent / ARTWORK_LABELS).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "genres"])
        writer.writerows(rows)
    return len(rows)


class SnapshotInterrupted(Exception):
    """Erasures of people in it kept interrupting the snapshot; the next run tries again."""


def take_snapshot(for_run: int | None = None, attempts: int = 3) -> Snapshot:
    """Write a new snapshot directory under SNAPSHOT_DIR and register it (as the snapshot of
    training run `for_run`, in the same transaction, so an erasure finds the run).

    An erasure of someone in it while it is written means the files may hold the erased rows:
    they are deleted and the snapshot taken again (recommender/withdrawal.py).
    """
    for _ in range(attempts):
        snapshot = _attempt(for_run)
        if snapshot is not None:
            return snapshot
    raise SnapshotInterrupted(f"erasures interrupted {attempts} snapshots in a row")


def _attempt(for_run: int | None) -> Snapshot | None:
    root = Path(settings.SNAPSHOT_DIR)
    root.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        started = withdrawal.hold_clock()
        snapshot = Snapshot.objects.create(path="", data_hash="", erasure_seq=started)
        directory = root / f"snapshot-{snapshot.pk}"
        # The row owns the folder from the start, so the upkeep's sweep leaves it alone.
        snapshot.path = str(directory)
        snapshot.save(update_fields=["path"])
    try:
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir()
        people, counts = _write(directory)
        return _register(snapshot, directory, people, counts, for_run)
    except BaseException:
        _abandon(snapshot, directory)
        raise


def _write(directory: Path) -> tuple[set[int], dict[str, int]]:
    # One consistent read of everything the snapshot holds.
    with transaction.atomic():
        interacted: set[str] = set()
        n_interactions, interaction_people = _write_csv(
            directory / INTERACTIONS,
            ["user", "item", "timestamp", "weight"],
            _noting_items(
                _interaction_rows(consenting("plays"), consenting("ratings")), interacted
            ),
        )
        _export_items(directory / ITEMS, interacted)
        reviews = (
            Review.objects.filter(user_id__in=consenting("reviews"))
            .order_by("user_id", "pk")
            .values_list("user_id", "item_id", "text", "rating")
        )
        n_reviews, review_people = _write_csv(
            directory / REVIEWS,
            ["user", "item", "text", "rating"],
            (
                [str(u), str(i), text, "" if r is None else str(r)]
                for u, i, text, r in reviews.iterator(chunk_size=2000)
            ),
        )
        dismissals = (
            Dismissal.objects.filter(user_id__in=consenting("ratings"))
            .order_by("user_id", "created_at", "pk")
            .values_list("user_id", "item_id")
        )
        n_dismissals, dismissal_people = _write_csv(
            directory / DISMISSALS,
            ["user", "item", "text", "rating"],
            (
                [str(u), str(i), "", DISMISSED_STARS]
                for u, i in dismissals.iterator(chunk_size=5000)
            ),
        )
        n_artwork = _export_artwork(directory / ARTWORK_DIR)
    people = {int(p) for p in interaction_people | review_people | dismissal_people}
    counts = {
        "interactions": n_interactions,
        "reviews": n_reviews,
        "dismissals": n_dismissals,
        "artwork": n_artwork,
        "people": len(people),
    }
    return people, counts


def _register(
    snapshot: Snapshot,
    directory: Path,
    people: set[int],
    counts: dict[str, int],
    for_run: int | None,
) -> Snapshot | None:
    """Record the snapshot's members and hash, unless someone in it erased meanwhile."""
    data_hash = hash_files(
        [
            directory / name
            for name in (INTERACTIONS, REVIEWS, DISMISSALS, ITEMS, ARTWORK_LABELS, ARTWORK_MANIFEST)
        ]
    )
    with transaction.atomic():
        now = withdrawal.hold_clock()
        too_old = snapshot.created_at < timezone.now() - withdrawal.EVENTS_KEPT
        if too_old or withdrawal.erased_since(snapshot.erasure_seq) & people:
            _abandon(snapshot, directory)
            return None
        snapshot.erasure_seq = now
        snapshot.data_hash = data_hash
        snapshot.counts = counts
        snapshot.save(update_fields=["erasure_seq", "data_hash", "counts"])
        SnapshotMember.objects.bulk_create(
            [SnapshotMember(snapshot=snapshot, user_id=pk) for pk in sorted(people)],
            batch_size=2000,
        )
        if for_run is not None:
            TrainingRun.objects.filter(pk=for_run).update(snapshot=snapshot)
    return snapshot


def _abandon(snapshot: Snapshot, directory: Path) -> None:
    Snapshot.objects.filter(pk=snapshot.pk).delete()
    shutil.rmtree(directory, ignore_errors=True)


def release(snapshot_id: int) -> None:
    """Delete a snapshot's files once no live run needs them: training was their only use."""
    with transaction.atomic():
        if TrainingRun.objects.filter(
            snapshot_id=snapshot_id, status__in=TrainingRun.LIVE
        ).exists():
            return
        paths = list(
            Snapshot.objects.filter(pk=snapshot_id).exclude(path="").values_list("path", flat=True)
        )
        Snapshot.objects.filter(pk=snapshot_id).update(path="")
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)


def sweep() -> int:
    """The hourly upkeep: delete snapshot files older than SNAPSHOT_RETENTION_H that no live
    run uses, and folders no snapshot owns (left by a process that died). Returns how many."""
    hours = settings.SNAPSHOT_RETENTION_H
    cutoff = timezone.now() - timedelta(hours=hours)
    busy = TrainingRun.objects.filter(status__in=TrainingRun.LIVE).values("snapshot_id")
    removed = 0
    for pk in (
        Snapshot.objects.filter(created_at__lt=cutoff)
        .exclude(path="")
        .exclude(pk__in=busy)
        .values_list("pk", flat=True)
    ):
        release(pk)
        removed += 1
    # The folders are listed before the rows are read. A snapshot commits its row before it
    # makes its folder, so every folder listed already has its row in the read that follows;
    # read the other way round, a snapshot started between the two reads lost its folder while
    # it was being written (CI caught it: FileNotFoundError on items.csv).
    folders = _snapshot_folders(Path(settings.SNAPSHOT_DIR))
    owned = set(Snapshot.objects.exclude(path="").values_list("path", flat=True))
    for folder in folders:
        if str(folder) not in owned:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _snapshot_folders(root: Path) -> list[Path]:
    return list(root.glob("snapshot-*")) if root.is_dir() else []


def kind_hash(snapshot: Snapshot, kind: str) -> str:
    """The hash of just the files one model kind trains on, to skip retraining on no change."""
    directory = Path(snapshot.path)
    files = {
        # A snapshot from before dismissals were exported has no such file.
        "sequence": [
            directory / name
            for name in (INTERACTIONS, REVIEWS, DISMISSALS)
            if name != DISMISSALS or (directory / name).exists()
        ],
        "sentiment": [directory / REVIEWS],
        "artwork": [directory / ARTWORK_LABELS, directory / ARTWORK_MANIFEST],
    }[kind]
    return hash_files(files)
