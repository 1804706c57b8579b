"""Export consenting people's data to files in the ml CLI's formats, with a content hash.

A snapshot is the only way training sees personal data, so the privacy switches are applied
here: people who switched a signal off are left out of that signal's file, and every person
whose rows went in is recorded as a SnapshotMember (erasure uses it).
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import models, transaction
from django.db.models import QuerySet

from entertainment.accounts.models import PrivacySettings, User
from entertainment.activity.models import Play, Rating, Review
from entertainment.catalogue.models import Item
from ml.artefacts import hash_files

from .models import Snapshot, SnapshotMember

INTERACTIONS = "interactions.csv"
REVIEWS = "reviews.csv"
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


def take_snapshot() -> Snapshot:
    """Write a new snapshot directory under SNAPSHOT_DIR and register it."""
    root = Path(settings.SNAPSHOT_DIR)
    root.mkdir(parents=True, exist_ok=True)
    with transaction.atomic():
        snapshot = Snapshot.objects.create(path="", data_hash="")
    directory = root / f"snapshot-{snapshot.pk}"
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir()

    # One consistent read of everything the snapshot holds.
    with transaction.atomic():
        n_interactions, interaction_people = _write_csv(
            directory / INTERACTIONS,
            ["user", "item", "timestamp", "weight"],
            _interaction_rows(consenting("plays"), consenting("ratings")),
        )
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
        n_artwork = _export_artwork(directory / ARTWORK_DIR)

    people = {int(p) for p in interaction_people | review_people}
    snapshot.path = str(directory)
    snapshot.data_hash = hash_files(
        [directory / name for name in (INTERACTIONS, REVIEWS, ARTWORK_LABELS, ARTWORK_MANIFEST)]
    )
    snapshot.counts = {
        "interactions": n_interactions,
        "reviews": n_reviews,
        "artwork": n_artwork,
        "people": len(people),
    }
    with transaction.atomic():
        snapshot.save()
        SnapshotMember.objects.bulk_create(
            [SnapshotMember(snapshot=snapshot, user_id=pk) for pk in sorted(people)],
            batch_size=2000,
        )
    return snapshot


def kind_hash(snapshot: Snapshot, kind: str) -> str:
    """The hash of just the files one model kind trains on, to skip retraining on no change."""
    directory = Path(snapshot.path)
    files = {
        "sequence": [directory / INTERACTIONS, directory / REVIEWS],
        "sentiment": [directory / REVIEWS],
        "artwork": [directory / ARTWORK_LABELS, directory / ARTWORK_MANIFEST],
    }[kind]
    return hash_files(files)
