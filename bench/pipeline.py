"""The whole pipeline on the seed_demo world, stage by stage: seed, snapshot, train, warm-up.

    .venv/bin/python bench/pipeline.py [--people 150] [--items-per-kind 60] [--keep]

In a temporary ENCORE_VAR_DIR with SQLite (the embedded default): `manage.py migrate` (not timed),
`manage.py seed_demo`, then in this process, as the workers would run them one after another:
the snapshot, the three training runs (recommender.training.execute_run: train, evaluate,
register, activate), review sentiment scoring, and the warm-up of every person's lists
(recommender.refresh.refresh_people: computed with the active versions and cached) in batches
of settings.REFRESH_BATCH_SIZE. Prints each stage's seconds and the total.
Target (issue 4): under 5 minutes on this machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 300.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=150)
    parser.add_argument("--items-per-kind", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()} on {os.cpu_count()} cores (shared: figures are noisy)")

    var_dir = Path(tempfile.mkdtemp(prefix="encore-bench-pipeline-"))
    env = {
        "SECRET_KEY": "bench-" + os.urandom(8).hex(),
        "DEBUG": "false",
        "ENCORE_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "entertainment.settings",
    }
    for name in ("DATABASE_URL", "REDIS_URL"):  # the embedded default: SQLite, no Redis
        os.environ.pop(name, None)
    os.environ.update(env)
    manage = [sys.executable, str(ROOT / "manage.py")]
    stages: list[tuple[str, float]] = []

    def stage(name: str, started: float) -> None:
        stages.append((name, time.perf_counter() - started))
        print(f"  {name:<34}{stages[-1][1]:>7.1f} s", flush=True)

    try:
        subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, check=True)
        started = time.perf_counter()
        subprocess.run(
            [*manage, "seed_demo", "--people", str(args.people),
             "--items-per-kind", str(args.items_per_kind), "-v", "0"],
            cwd=ROOT, check=True,
        )  # fmt: skip
        stage("seed_demo", started)

        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.conf import settings

        from recommender import refresh, sentiment, snapshot, training
        from recommender.models import ModelVersion, TrainingRun

        started = time.perf_counter()
        taken = snapshot.take_snapshot()
        stage("snapshot", started)
        print(f"    {taken.counts}")
        for kind in ("sequence", "sentiment", "artwork"):
            started = time.perf_counter()
            run = TrainingRun.objects.create(kind=kind, snapshot=taken)
            finished = training.execute_run(run.pk)
            stage(f"train {kind}", started)
            if finished is not None:
                print(f"    {finished.status}: {finished.stage}; metrics {finished.metrics}")
        started = time.perf_counter()
        scored = sentiment.score_reviews()
        stage("score reviews", started)
        print(f"    {scored} reviews scored")
        started = time.perf_counter()
        ids = list(refresh.personalised_people().order_by("pk").values_list("pk", flat=True))
        size = settings.REFRESH_BATCH_SIZE
        done = sum(
            refresh.refresh_people(ids[start : start + size]) for start in range(0, len(ids), size)
        )
        stage("warm-up (refresh_people)", started)
        active = ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE)
        print(f"    {done} people's lists; active: {[v.label for v in active]}")
        total = sum(seconds for _, seconds in stages)
        print(f"total {total:.1f} s (target < {TARGET_S:.0f} s: "
              f"{'met' if total < TARGET_S else 'NOT met'})")  # fmt: skip
        print(f"load after: {os.getloadavg()}")
    finally:
        if args.keep:
            print(f"kept {var_dir}")
        else:
            shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
