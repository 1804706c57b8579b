"""What `/healthz` reports: each part the site runs on, checked quickly.

The database is the one part without which the site cannot serve (503). Without the cache,
the broker or a worker it still serves pages and lists, more slowly or less fresh: the answer
stays 200 with `"status": "degraded"` and the failing part named, so a probe restarts only
what is down. Workers are seen through a beat task sent to each queue every minute
(`worker_heartbeat`): a worker that answers it is alive and consuming that queue.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import connection

QUEUES = ("cpu", "gpu")
PROBE_KEY = "health:probe"


def _seen_key(queue: str) -> str:
    return f"health:worker-seen:{queue}"


@shared_task(name="entertainment.worker_heartbeat", ignore_result=True)
def worker_heartbeat(queue: str) -> None:
    cache.set(_seen_key(queue), time.time(), timeout=None)


@dataclass
class Report:
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, name: str, ok: bool, **details: Any) -> None:
        self.parts[name] = {"ok": ok, **details}

    @property
    def serving(self) -> bool:
        return bool(self.parts.get("database", {}).get("ok"))

    @property
    def status(self) -> str:
        if not self.serving:
            return "unavailable"
        return "ok" if all(part["ok"] for part in self.parts.values()) else "degraded"

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, **self.parts}


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def check_database(report: Report) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        report.add("database", False, error=_error(exc))
    else:
        report.add("database", True, engine=connection.vendor)


def check_cache(report: Report) -> None:
    try:
        cache.set(PROBE_KEY, "1", timeout=10)
        ok = cache.get(PROBE_KEY) == "1"
    except Exception as exc:
        report.add("cache", False, error=_error(exc))
    else:
        report.add("cache", ok, **({} if ok else {"error": "a value written was not read back"}))


def check_broker(report: Report) -> None:
    from entertainment.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=2)
    except Exception as exc:
        report.add("broker", False, error=_error(exc))
    else:
        report.add("broker", True)


def check_workers(report: Report) -> None:
    now, within = time.time(), settings.HEALTH_WORKER_SEEN_WITHIN_S
    for queue in QUEUES:
        try:
            seen = cache.get(_seen_key(queue))
        except Exception as exc:
            report.add(f"worker_{queue}", False, error=_error(exc))
            continue
        if seen is None:
            report.add(f"worker_{queue}", False, error="no worker seen on this queue yet")
            continue
        ago = round(now - float(seen), 1)
        report.add(
            f"worker_{queue}",
            ago <= within,
            seconds_since_seen=ago,
            **({} if ago <= within else {"error": f"last seen more than {within} s ago"}),
        )


def check() -> Report:
    """Every part but the model versions, which the view adds from the registry."""
    report = Report()
    check_database(report)
    check_cache(report)
    check_broker(report)
    check_workers(report)
    return report
