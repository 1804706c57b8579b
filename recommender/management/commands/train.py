"""`manage.py train`: queue training runs (what the dashboard's "Train now" does) and optionally
wait for them, showing their progress."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender import registry
from recommender.models import TrainingRun
from recommender.training import ALL_KINDS, request_training


class Command(BaseCommand):
    help = "Queue training of the sequence, sentiment and artwork models on the gpu queue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "kinds", nargs="*", metavar="KIND", help=f"{', '.join(ALL_KINDS)} (default: all)"
        )
        parser.add_argument(
            "--if-untrained",
            action="store_true",
            help="only the kinds that have no active version yet (used by `make demo`)",
        )
        parser.add_argument(
            "--trigger", default=TrainingRun.Trigger.MANUAL, choices=TrainingRun.Trigger.values
        )
        parser.add_argument(
            "--wait", action="store_true", help="wait for the runs and print their progress"
        )
        parser.add_argument("--timeout", type=float, default=3600.0)

    def handle(self, *args: Any, **options: Any) -> None:
        kinds = options["kinds"] or list(ALL_KINDS)
        unknown = sorted(set(kinds) - set(ALL_KINDS))
        if unknown:
            raise CommandError(f"unknown model kinds {unknown}; choose from {ALL_KINDS}")
        if options["if_untrained"]:
            kinds = [k for k in kinds if registry.active_version(k) is None]
        if not kinds:
            self.stdout.write("Every model already has an active version; nothing to train.")
            return
        runs = request_training(kinds, trigger=options["trigger"])
        for run in runs:
            self.stdout.write(f"{run.kind}: run {run.pk} ({run.status})")
        if options["wait"]:
            self._wait([run.pk for run in runs], options["timeout"])

    def _wait(self, ids: list[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        shown: dict[int, tuple[str, int, str]] = {}
        while time.monotonic() < deadline:
            runs = list(TrainingRun.objects.filter(pk__in=ids).order_by("pk"))
            for run in runs:
                state = (run.status, run.progress, run.stage)
                if shown.get(run.pk) != state:
                    shown[run.pk] = state
                    self.stdout.write(f"{run.kind}: {run.status} {run.progress:3d}% {run.stage}")
            if all(run.status not in TrainingRun.LIVE for run in runs):
                failed = [run for run in runs if run.status == TrainingRun.Status.FAILED]
                if failed:
                    raise CommandError(
                        "; ".join(f"{run.kind} run {run.pk} failed: {run.error}" for run in failed)
                    )
                return
            time.sleep(1.0)
        raise CommandError(f"runs {ids} still not finished after {timeout:.0f} s")
