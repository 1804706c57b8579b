"""`manage.py index_music [--all]`: the name index that listens and Plex events match by.

Kept current as listens arrive (items added since the last indexed one); --all rebuilds it,
after an import that ran alongside listens or an edit made outside Django (raw SQL).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from entertainment.scrobbling.matching import index_music, reindex_all


class Command(BaseCommand):
    help = "Index music items by normalised artist and title for listen matching."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="rebuild the whole index")

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            n = reindex_all() if options["all"] else index_music()
        self.stdout.write(f"indexed {n} music items")
