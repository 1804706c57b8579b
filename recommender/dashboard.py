"""What the staff dashboard shows: runs, versions, the metric chart, queues, workers, counts.

Plain functions returning plain data, so the page, its JSON endpoint and the tests share them.
Nothing here may raise because the broker is down: the page must still open.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.db.models import Count

from . import registry
from .models import ModelKind, ModelVersion, Snapshot, TrainingRun
from .refresh import recently_active
from .staff_metrics import at_least_k, metrics_text

log = logging.getLogger(__name__)

RECENT_RUNS = 20
VERSIONS_PER_KIND = 25
CHART_POINTS_PER_KIND = 100
QUEUES = ("cpu", "gpu")
# kombu's Redis transport keeps priorities 3, 6 and 9 in lists of their own beside the queue.
_REDIS_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
_BROKER_TIMEOUT_S = 1.0


# --- Training runs --------------------------------------------------------------------------


def recent_runs(limit: int = RECENT_RUNS) -> list[TrainingRun]:
    return list(TrainingRun.objects.select_related("requested_by", "model_version")[:limit])


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def run_payload(run: TrainingRun) -> dict[str, Any]:
    """One run as the page renders it and as the progress endpoint sends it to the script."""
    duration = run.duration_seconds
    return {
        "id": run.pk,
        "kind": run.kind,
        "kind_label": run.get_kind_display(),
        "status": run.status,
        "status_label": run.get_status_display(),
        "live": run.status in TrainingRun.LIVE,
        "progress": run.progress,
        "stage": run.stage,
        "trigger": run.get_trigger_display(),
        "requested_by": run.requested_by.get_username() if run.requested_by else "",
        "created_at": run.created_at.isoformat(),
        "created": run.created_at.strftime("%Y-%m-%d %H:%M"),
        "duration_s": None if duration is None else round(duration, 1),
        "duration": duration_text(duration),
        "error": run.error.splitlines()[-1] if run.error else "",
        "model_version": run.model_version.label if run.model_version else "",
    }


def progress_payload() -> dict[str, Any]:
    runs = [run_payload(run) for run in recent_runs()]
    return {"runs": runs, "live": any(run["live"] for run in runs)}


# --- Model versions -------------------------------------------------------------------------


def visible_metrics(metrics: dict[str, Any]) -> list[tuple[str, str]]:
    """A version's allow-listed metrics for display; small people counts read "< k"."""
    return metrics_text(metrics)


@dataclass(frozen=True)
class VersionRow:
    version: ModelVersion
    metrics: list[tuple[str, str]]


@dataclass
class KindPanel:
    kind: str
    label: str
    main_metric: str
    active: ModelVersion | None
    previous: ModelVersion | None
    live_run: TrainingRun | None
    versions: list[VersionRow] = field(default_factory=list)
    total_versions: int = 0


def kind_panels() -> list[KindPanel]:
    live = {run.kind: run for run in TrainingRun.objects.filter(status__in=TrainingRun.LIVE)}
    totals = dict(
        ModelVersion.objects.values_list("kind").annotate(n=Count("pk")).values_list("kind", "n")
    )
    panels = []
    for kind in ModelKind:
        versions = [
            VersionRow(version, visible_metrics(version.metrics))
            for version in ModelVersion.objects.filter(kind=kind)[:VERSIONS_PER_KIND]
        ]
        panels.append(
            KindPanel(
                kind=kind.value,
                label=kind.label,
                main_metric=registry.MAIN_METRIC[kind.value],
                active=registry.active_version(kind.value),
                previous=registry.previous_version(kind.value),
                live_run=live.get(kind.value),
                versions=versions,
                total_versions=totals.get(kind.value, 0),
            )
        )
    return panels


def metric_series() -> dict[str, dict[str, Any]]:
    """Each kind's main metric across its versions, oldest first: the chart's data."""
    series: dict[str, dict[str, Any]] = {}
    for kind in ModelKind:
        newest = ModelVersion.objects.filter(kind=kind).order_by("-created_at", "-pk")
        points = [
            {
                "id": version.pk,
                "version": version.label,
                "value": version.main_metric_value,
                "status": version.status,
                "created_at": version.created_at.isoformat(),
            }
            for version in reversed(newest[:CHART_POINTS_PER_KIND])
        ]
        series[kind.value] = {
            "label": kind.label,
            "metric": registry.MAIN_METRIC[kind.value],
            "points": points,
        }
    return series


# --- Queues and workers ---------------------------------------------------------------------


def queue_lengths() -> dict[str, int | None]:
    """Messages waiting in each queue; None where the broker cannot tell us."""
    url = settings.CELERY_BROKER_URL
    try:
        if url.startswith(("redis://", "rediss://", "unix://")):
            return _redis_queue_lengths(url)
        if url.startswith("filesystem://"):
            return _folder_queue_lengths(
                Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
            )
    except (redis.RedisError, OSError, KeyError) as exc:
        log.warning("queue lengths unavailable: %s", exc)
    return dict.fromkeys(QUEUES)


def _redis_queue_lengths(url: str) -> dict[str, int | None]:
    client = redis.Redis.from_url(
        url, socket_connect_timeout=_BROKER_TIMEOUT_S, socket_timeout=_BROKER_TIMEOUT_S
    )
    try:
        with client.pipeline(transaction=False) as pipe:
            for queue in QUEUES:
                for suffix in _REDIS_PRIORITY_SUFFIXES:
                    pipe.llen(queue + suffix)
            lengths = pipe.execute()
    finally:
        client.close()
    per_queue = len(_REDIS_PRIORITY_SUFFIXES)
    return {
        queue: int(sum(lengths[i * per_queue : (i + 1) * per_queue]))
        for i, queue in enumerate(QUEUES)
    }


def _folder_queue_lengths(folder: Path) -> dict[str, int | None]:
    # The filesystem transport names each message "<time>_<uuid>.<queue>.msg".
    if not folder.is_dir():
        return dict.fromkeys(QUEUES, 0)
    names = [entry.name for entry in folder.iterdir()]
    return {queue: sum(name.endswith(f".{queue}.msg") for name in names) for queue in QUEUES}


@dataclass(frozen=True)
class Worker:
    name: str
    queues: list[str]


def workers() -> list[Worker] | None:
    """The workers that answered within a second, with their queues; None if we cannot ask."""
    from entertainment.celery import app

    try:
        # The URL from settings (not the app's cached config), so an override reaches it.
        with app.connection_for_read(settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=_BROKER_TIMEOUT_S)
            replies = (
                app.control.inspect(timeout=_BROKER_TIMEOUT_S, connection=conn).active_queues()
                or {}
            )
    except Exception as exc:  # any broker failure means "unavailable", never a broken page
        log.warning("worker status unavailable: %s", exc)
        return None
    return [
        Worker(name, sorted(q["name"] for q in queues if not q["name"].endswith(".pidbox")))
        for name, queues in sorted(replies.items())
    ]


# --- Counts, never of small groups ----------------------------------------------------------


@dataclass(frozen=True)
class GroupCount:
    label: str
    value: int | None  # None: the group is too small to show


def training_data_counts() -> list[GroupCount] | None:
    """The latest snapshot's size; its event counts hide along with a small group of people."""
    snapshot = Snapshot.objects.first()
    if snapshot is None:
        return None
    people = int(snapshot.counts.get("people", 0))
    shown = at_least_k(people) is not None
    rows = [GroupCount("People who allow training", at_least_k(people))]
    for key, label in (
        ("interactions", "Ratings and plays"),
        ("reviews", "Reviews"),
        ("artwork", "Artwork images"),
    ):
        if key in snapshot.counts:
            rows.append(GroupCount(label, int(snapshot.counts[key]) if shown else None))
    return rows


def people_warmed() -> list[GroupCount]:
    """How many people's lists an activation computes ahead (active lately, personalised)."""
    days = settings.WARM_UP_ACTIVE_DAYS
    count = recently_active(days).count()
    return [GroupCount(f"People active in {days} days (lists warmed)", at_least_k(count))]
