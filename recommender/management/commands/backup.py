"""`manage.py backup`: a consistent copy of the database, the active model versions and the
artwork in a new folder, keeping the newest few."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender.backups import BackupError, back_up


class Command(BaseCommand):
    help = "Back up the database, the active model versions and the artwork to a folder."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--to", type=Path, default=None, help="where backups go (default: BACKUP_DIR)"
        )
        parser.add_argument(
            "--keep",
            type=int,
            default=None,
            help="how many backups to keep, the newest (default: BACKUP_KEEP)",
        )
        parser.add_argument(
            "--no-media", action="store_true", help="leave the uploaded artwork out"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        keep = settings.BACKUP_KEEP if options["keep"] is None else options["keep"]
        if keep < 1:
            raise CommandError("--keep must be at least 1")
        try:
            written = back_up(
                options["to"] or Path(settings.BACKUP_DIR), keep, media=not options["no_media"]
            )
        except BackupError as error:
            raise CommandError(str(error)) from error
        versions = ", ".join(written.versions) or "no active model versions"
        self.stdout.write(f"backed up to {written.folder} ({versions})")
        for old in written.removed:
            self.stdout.write(f"removed {old} (older than the newest {keep})")
