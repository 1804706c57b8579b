"""`manage.py import_listenbrainz --user NAME FILE.zip`: a ListenBrainz export as plays.

Every line is checked first (a bad one stops it with `listens/2024/3.jsonl:17: message` and
nothing written); then everything is written in one transaction. Rerunning it, or importing
listens a scrobbler already sent, stores nothing twice. Unknown tracks join the catalogue,
marked with the source "listenbrainz".
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from entertainment.accounts.models import User
from entertainment.scrobbling.lbexport import ExportError, read_export
from entertainment.scrobbling.listens import store


class Command(BaseCommand):
    help = "Import a ListenBrainz export ZIP (listens/<year>/<month>.jsonl) as a person's plays."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the export ZIP from ListenBrainz")
        parser.add_argument("--user", required=True, help="the Encore account the listens are")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No account named {options['user']!r}.")
        started = time.monotonic()
        try:
            listens = read_export(path)
        except ExportError as error:
            raise CommandError(f"{path}: {error}") from None
        result = store(user, listens)
        paused = (
            f", {result.skipped_paused} not stored (history paused)"
            if result.skipped_paused
            else ""
        )
        self.stdout.write(
            f"listenbrainz: {result.received} listens, {result.stored} stored, "
            f"{result.duplicates} already there{paused} ({time.monotonic() - started:.1f} s)"
        )
