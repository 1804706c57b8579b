"""`manage.py restore FOLDER`: bring this install back to a backup written by `backup`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender.backups import BackupError, read_manifest, restore


class Command(BaseCommand):
    help = "Replace this install's database, model versions and artwork with a backup's."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path, help="a backup folder (encore-<time>)")
        parser.add_argument(
            "--yes", action="store_true", help="do not ask; the current data is replaced"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        folder: Path = options["folder"]
        try:
            manifest = read_manifest(folder)
        except BackupError as error:
            raise CommandError(str(error)) from error
        if not options["yes"]:
            answer = input(
                f"Replace this install's data with the backup of {manifest['created_at']}? [y/N] "
            )
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("nothing restored")
        try:
            labels = restore(folder)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"restored {folder} ({', '.join(labels) or 'no model versions'})")
