"""`manage.py seed_demo`: load the generated demo world (what `make demo` shows and trains on)."""

from __future__ import annotations

import time
from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from entertainment.catalogue.demo import loading
from entertainment.catalogue.demo.world import build_world


def _count(minimum: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


ROLES = {"demo": "a person with a history", "staff": "staff superuser"}


class Command(BaseCommand):
    help = (
        "Generate and load the demo world: films, music and games with genre-styled artwork, "
        "people with tastes, their plays, ratings and reviews. The same seed and sizes give "
        "the same world; a rerun adds only what is missing."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--seed", type=_count(0), default=42, help="default 42")
        parser.add_argument(
            "--people", type=_count(1), default=150, help="people with a history (default 150)"
        )
        parser.add_argument(
            "--items-per-kind",
            type=_count(2),
            default=60,
            help="films, games and albums (each album with its tracks; default 60)",
        )
        parser.add_argument(
            "--no-artwork",
            action="store_true",
            help="no covers: quicker, for benchmark-sized worlds",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when a demo world is already loaded (what `make demo` uses)",
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="delete the loaded demo world (items, artwork files, people) first",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbose = options["verbosity"] >= 1
        if options["if_empty"] and options["replace"]:
            raise CommandError("--if-empty and --replace contradict each other; pick one.")
        loaded = loading.loaded_signatures()
        if options["if_empty"] and loaded:
            self.stdout.write(
                f"A demo world is already loaded ({', '.join(sorted(loaded))}); nothing to do."
            )
            self._earlier_accounts(loading.demo_accounts())
            return

        started = time.perf_counter()
        world = build_world(options["seed"], options["people"], options["items_per_kind"])
        accounts = bool(settings.DEBUG)
        try:
            report = loading.load_world(
                world,
                accounts=accounts,
                artwork=not options["no_artwork"],
                replace=options["replace"],
                progress=(lambda m: self.stdout.write(f"  {m}")) if verbose else (lambda m: None),
            )
        except loading.WorldConflict as exc:
            raise CommandError(str(exc)) from None
        seconds = time.perf_counter() - started

        if report.removed_items or report.removed_people:
            self.stdout.write(
                f"Replaced the demo world that was loaded ({report.removed_items} items, "
                f"{report.removed_people} people)."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo world {world.signature}: added {report.items} items, {report.people} "
                f"people, {report.plays} plays, {report.ratings} ratings and {report.reviews} "
                f"reviews in {seconds:.1f} s."
            )
        )
        self._accounts(accounts, report)

    def _accounts(self, accounts: bool, report: loading.LoadReport) -> None:
        if not accounts:
            self.stdout.write(
                self.style.WARNING(
                    "Log-in accounts `demo` and `staff` were not created: their password is "
                    "public, so seed_demo creates them only with DEBUG=true (as `make demo` "
                    "runs). Create your own with `manage.py createsuperuser`."
                )
            )
            return
        for username in report.accounts_kept:
            self.stdout.write(
                self.style.WARNING(
                    f"An account named `{username}` already exists outside the demo world; "
                    "it was left as it is."
                )
            )
        if report.accounts_created:
            self.stdout.write(
                "Log in at /accounts/login/ (demo only, DEBUG is on; the password is public):"
            )
        for username in report.accounts_created:
            self.stdout.write(f"  {username} / {loading.DEMO_PASSWORD}   ({ROLES[username]})")
        self._earlier_accounts(
            [u for u in loading.demo_accounts() if u not in report.accounts_created]
        )

    def _earlier_accounts(self, usernames: list[str]) -> None:
        if usernames:
            self.stdout.write(
                f"Demo log-ins from an earlier run: {', '.join(usernames)} (password "
                f"{loading.DEMO_PASSWORD} unless it was changed since)."
            )
