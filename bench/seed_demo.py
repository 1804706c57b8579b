"""The demo world: how long `seed_demo` takes, and how much order its play sequences carry.

    .venv/bin/python bench/seed_demo.py [--seed 42] [--people 150] [--items-per-kind 60] [--keep]

1. Builds the world in memory (no database) and prints its size and the build time.
2. Writes its plays as the ml CLI's interactions file and runs `python -m ml evaluate`: the
   first-order Markov baseline must beat popularity clearly, or the sequences have no structure
   for the GRU to find.
3. Runs the real `manage.py seed_demo` on a new SQLite database (migrated first, not timed) and
   prints the seconds it took, then the rerun's (which adds nothing).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from entertainment.catalogue.demo.world import build_world  # noqa: E402


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--people", type=int, default=150)
    parser.add_argument("--items-per-kind", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the database and media")
    args = parser.parse_args()
    sizes = [
        "--seed",
        str(args.seed),
        "--people",
        str(args.people),
        "--items-per-kind",
        str(args.items_per_kind),
    ]
    work = Path(tempfile.mkdtemp(prefix="encore-bench-seed-"))

    started = time.perf_counter()
    world = build_world(args.seed, args.people, args.items_per_kind)
    built = time.perf_counter() - started
    people = [*world.people, world.account]
    plays = sum(len(p.plays) for p in people)
    print(
        f"world {world.signature}: {len(world.items)} items, {len(people)} people, {plays} plays, "
        f"{sum(len(p.ratings) for p in people)} ratings, "
        f"{sum(len(p.reviews) for p in people)} reviews; built in memory in {built:.2f} s"
    )

    interactions = work / "interactions.csv"
    with interactions.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user", "item", "timestamp", "weight"])
        for person in people:
            for play in person.plays:
                writer.writerow([person.key, play.item, int(play.started_at.timestamp()), 1])
    result = subprocess.run(
        [sys.executable, "-m", "ml", "evaluate", "--interactions", str(interactions)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    for method, figures in json.loads(result.stdout).items():
        shown = ", ".join(f"{name} {value:.3f}" for name, value in figures.items())
        print(f"  {method:<10} {shown}")

    env = {
        **os.environ,
        "ENCORE_VAR_DIR": str(work),
        "DATABASE_URL": f"sqlite:///{work / 'bench.sqlite3'}",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-key"),
        "DEBUG": "true",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    for label in ("seed_demo", "rerun"):
        started = time.perf_counter()
        cpu = _children_cpu()
        subprocess.run(
            [*manage, "seed_demo", "-v0", *sizes],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wall, cpu = time.perf_counter() - started, _children_cpu() - cpu
        # CPU seconds too: on a shared machine the wall time mostly measures the neighbours.
        print(f"{label}: {wall:.1f} s wall, {cpu:.1f} s CPU (new process, start-up included)")
    if args.keep:
        print(f"(files in {work})")
    else:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
