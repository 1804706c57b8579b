"""Import ml-latest-small into a fresh SQLite database, then rerun it (which must add nothing).

    .venv/bin/python bench/import_movielens.py [--data DIR] [--keep]

Runs the real `import_movielens` command in this process against a new database file in a
temporary directory (migrated first), and prints the seconds, rows per second and the
rerun's time. Target: under 60 s for the 100,836 ratings on SQLite.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "movielens-latest-small"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--keep", action="store_true", help="keep the database and print its path")
    args = parser.parse_args()
    if not (args.data / "ratings.csv").is_file():
        print(f"no ratings.csv under {args.data}", file=sys.stderr)
        return 1

    var = Path(tempfile.mkdtemp(prefix="encore-bench-import-"))
    os.environ.update(
        {
            "ENCORE_VAR_DIR": str(var),
            "DATABASE_URL": f"sqlite:///{var / 'bench.sqlite3'}",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-key"),
            "DJANGO_SETTINGS_MODULE": "entertainment.settings",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from entertainment.activity.models import Rating
    from entertainment.catalogue.models import Item

    call_command("migrate", verbosity=0)

    def timed_import() -> tuple[float, str]:
        out = io.StringIO()
        started = time.perf_counter()
        call_command("import_movielens", str(args.data), verbosity=0, stdout=out)
        return time.perf_counter() - started, out.getvalue().strip()

    first, first_summary = timed_import()
    ratings, items = Rating.objects.count(), Item.objects.count()
    second, second_summary = timed_import()
    added = Rating.objects.count() - ratings + Item.objects.count() - items

    print(f"data: {args.data}")
    print(
        f"first import: {first:.1f} s, {ratings:,} ratings + {items:,} films, "
        f"{ratings / first:,.0f} ratings/s"
    )
    print(f"  {first_summary}")
    print(f"rerun: {second:.1f} s, rows added: {added}")
    print(f"  {second_summary}")
    print(f"target: first import under 60 s: {'met' if first < 60 else 'MISSED'}")
    if args.keep:
        print(f"database: {var / 'bench.sqlite3'}")
    else:
        import shutil

        shutil.rmtree(var, ignore_errors=True)
    return 0 if added == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
