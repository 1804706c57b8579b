"""A throwaway site for a benchmark: its settings, var folder, Redis db and database.

The production shape (DEBUG off, PostgreSQL, Redis), on this machine's services, with every
rate limit lifted so the benchmark measures the work and not the throttles.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = ["-h", "127.0.0.1", "-U", "postgres"]
PG_SERVER = "postgres://postgres@127.0.0.1:5432"


@contextmanager
def site(name: str, redis_db: int, pg_db: str | None) -> Iterator[tuple[dict[str, str], Path]]:
    """(environment, var folder) of a new site: Redis db `redis_db` flushed, a new PostgreSQL
    database `pg_db` (None: SQLite in the var folder); all of it gone afterwards.

    The environment is this process's too, for the Django it sets up itself.
    """
    var_dir = Path(tempfile.mkdtemp(prefix=f"encore-bench-{name}-"))
    database = f"{PG_SERVER}/{pg_db}" if pg_db else f"sqlite:///{var_dir / 'bench.sqlite3'}"
    env = {
        **os.environ,
        "SECRET_KEY": "bench-" + os.urandom(8).hex(),
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "ENCORE_VAR_DIR": str(var_dir),
        "API_THROTTLE_USER": "100000000/min",
        "API_THROTTLE_ANON": "100000000/min",
        "DJANGO_SETTINGS_MODULE": "entertainment.settings",
        # One request at a time per worker thread: multi-threaded BLAS only contends.
        "OPENBLAS_NUM_THREADS": "1",
        "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
        "DATABASE_URL": database,
    }
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    redis = ["redis-cli", "-n", str(redis_db)]
    subprocess.run([*redis, "flushdb"], check=True, capture_output=True)
    if pg_db:
        subprocess.run(["dropdb", *PG, "--if-exists", pg_db], check=True)
        subprocess.run(["createdb", *PG, pg_db], check=True)
    try:
        yield env, var_dir
    finally:
        if "django.db" in sys.modules:  # the benchmark's own connections keep the database
            from django.db import connections

            connections.close_all()
        subprocess.run([*redis, "flushdb"], check=False, capture_output=True)
        if pg_db:
            subprocess.run(["dropdb", *PG, "--if-exists", pg_db], check=False)
        shutil.rmtree(var_dir, ignore_errors=True)
