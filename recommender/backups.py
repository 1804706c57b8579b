"""Backups a self-hoster can restore a fresh install from: the database, the active model
versions and the uploaded artwork, in one folder per backup with a manifest.

The database copy is the engine's own consistent copy: `pg_dump` (one snapshot of a running
PostgreSQL, custom format) or SQLite's online backup API. Model version folders never change
once written (ml.artefacts.writing renames a finished folder into place), so copying the
folders of the versions the dump calls active is consistent as long as the same versions are
still active after the copy; a backup that races an activation starts again.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction

from . import serving
from .models import ModelVersion, Snapshot

FORMAT = "encore.backup"
FORMAT_VERSION = 1
PREFIX = "encore-"
ATTEMPTS = 3


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Written:
    folder: Path
    versions: list[str]
    removed: list[Path]


def _engine() -> str:
    vendor = connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise BackupError(f"backups support PostgreSQL and SQLite, not {vendor}")
    return vendor


def _pg_env() -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return env


def _pg_args() -> list[str]:
    db = settings.DATABASES["default"]
    args = ["--dbname", str(db["NAME"]), "--username", str(db.get("USER") or "postgres")]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    return args


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(command, env=_pg_env(), capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise BackupError(
            f"{command[0]} not found: install the PostgreSQL client (Debian: postgresql-client)"
        ) from error
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip() or done.returncode}")


def _dump_database(target: Path) -> str:
    engine = _engine()
    if engine == "postgresql":
        name = "database.pgdump"
        _run(
            [
                "pg_dump",
                "--format",
                "custom",
                "--no-owner",
                "--file",
                str(target / name),
                *_pg_args(),
            ]
        )
        return name
    name = "database.sqlite3"
    connection.ensure_connection()
    source = connection.connection
    with sqlite3.connect(target / name) as copy:
        source.backup(copy)
    copy.close()
    return name


def _active() -> list[ModelVersion]:
    return list(ModelVersion.objects.active().order_by("kind"))


def _copy_versions(versions: list[ModelVersion], target: Path) -> list[dict[str, Any]]:
    rows = []
    for version in versions:
        source = Path(version.path)
        if not source.is_dir():
            raise BackupError(f"{version.label}: its folder {source} is missing")
        name = f"{version.kind}-{version.number}"
        shutil.copytree(source, target / "models" / name)
        rows.append({"id": version.pk, "label": version.label, "path": version.path, "copy": name})
    return rows


def back_up(to: Path, keep: int, media: bool = True) -> Written:
    """Write a new backup folder under `to` and remove all but the newest `keep`."""
    to.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    final = to / f"{PREFIX}{stamp}"
    partial = to / f".{PREFIX}{stamp}.partial"
    for _attempt in range(ATTEMPTS):
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(mode=0o700)
        before = _active()
        database = _dump_database(partial)
        versions = _copy_versions(before, partial)
        if [v.pk for v in _active()] == [v.pk for v in before]:
            break
    else:
        shutil.rmtree(partial, ignore_errors=True)
        raise BackupError("model versions kept changing during the backup; try again")
    if media and Path(settings.MEDIA_ROOT).is_dir():
        shutil.copytree(settings.MEDIA_ROOT, partial / "media")
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "engine": connection.vendor,
        "database": database,
        "model_dir": str(settings.MODEL_DIR),
        "versions": versions,
        "media": media,
    }
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=2))
    partial.rename(final)
    return Written(final, [v["label"] for v in versions], _prune(to, keep))


def _prune(to: Path, keep: int) -> list[Path]:
    backups = sorted(p for p in to.iterdir() if p.is_dir() and p.name.startswith(PREFIX))
    old = backups[: max(0, len(backups) - keep)]
    for folder in old:
        shutil.rmtree(folder)
    return old


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    if not path.is_file():
        raise BackupError(f"{folder} is not an Encore backup (no manifest.json)")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{folder}: backup format {manifest.get('format')} {manifest.get('format_version')} "
            f"is not {FORMAT} {FORMAT_VERSION}"
        )
    return manifest


def _restore_database(folder: Path, manifest: dict[str, Any]) -> None:
    engine = _engine()
    if manifest["engine"] != engine:
        raise BackupError(
            f"this backup is of a {manifest['engine']} database; this install runs {engine}"
        )
    dump = folder / manifest["database"]
    if engine == "postgresql":
        connection.close()
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                *_pg_args(),
                str(dump),
            ]
        )
        return
    connection.ensure_connection()
    with sqlite3.connect(dump) as source:
        source.backup(connection.connection)
    source.close()


def restore(folder: Path) -> list[str]:
    """Bring this install back to a backup: its database, model versions and artwork."""
    manifest = read_manifest(folder)
    _restore_database(folder, manifest)
    model_dir = Path(settings.MODEL_DIR)
    model_dir.mkdir(parents=True, exist_ok=True)
    labels = []
    with transaction.atomic():
        for row in manifest["versions"]:
            source = folder / "models" / row["copy"]
            # The same place under this install's MODEL_DIR as under the backed-up one.
            old = Path(row["path"])
            try:
                target = model_dir / old.relative_to(manifest["model_dir"])
            except ValueError:
                target = model_dir / "restored" / row["copy"]
            if not target.exists():
                shutil.copytree(source, target)
            ModelVersion.objects.filter(pk=row["id"]).update(path=str(target))
            labels.append(row["label"])
        # Training snapshots are not backed up: the next run takes a fresh one.
        for snapshot in Snapshot.objects.exclude(path=""):
            if not Path(snapshot.path).exists():
                Snapshot.objects.filter(pk=snapshot.pk).update(path="")
    if manifest.get("media") and (folder / "media").is_dir():
        shutil.copytree(folder / "media", settings.MEDIA_ROOT, dirs_exist_ok=True)
    # Lists cached before the restore belong to the data that was replaced.
    cache.clear()
    serving.forget_active()
    return labels
