"""Celery tasks: thin wrappers that take ids and call one plain function each.

Training goes to the `gpu` queue (routing in settings), everything else to `cpu`.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

# Only these are worth a retry: the database or Redis blinked. Bad data or a bug fails the run.
TRANSIENT = (OperationalError, InterfaceError, RedisConnectionError)


@shared_task(
    name="recommender.train",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=10,
    retry_backoff_max=300,
    max_retries=3,
    time_limit=settings.TRAINING_TIME_LIMIT_S,
    soft_time_limit=settings.TRAINING_TIME_LIMIT_S - 30,
)
def train(self: Task, run_id: int) -> dict[str, Any] | None:
    from .training import execute_run

    run = execute_run(run_id, task_id=self.request.id or "")
    return None if run is None else {"run": run.pk, "status": run.status}


@shared_task(name="recommender.train_all", acks_late=True, autoretry_for=TRANSIENT, max_retries=3)
def train_all(trigger: str = "schedule") -> list[int]:
    """One snapshot for the three models, then one training run each."""
    from .snapshot import take_snapshot
    from .training import ALL_KINDS, request_training

    snapshot = take_snapshot()
    return [run.pk for run in request_training(ALL_KINDS, trigger=trigger, snapshot=snapshot)]


@shared_task(name="recommender.after_activation", autoretry_for=TRANSIENT, max_retries=3)
def after_activation(version_id: int) -> None:
    from .refresh import after_activation as run

    run(version_id)


@shared_task(name="recommender.refresh_recommendations", autoretry_for=TRANSIENT, max_retries=3)
def refresh_recommendations() -> int:
    """The hourly beat: score the reviews a broker outage kept from being scored on write.
    Lists need no refresh: each is computed when its person's next read finds it stale."""
    from .sentiment import score_reviews

    return score_reviews()


@shared_task(name="recommender.refresh_batch", autoretry_for=TRANSIENT, max_retries=3)
def refresh_batch(user_ids: list[int]) -> int:
    from .refresh import refresh_people

    return refresh_people(user_ids)


@shared_task(name="recommender.score_reviews", autoretry_for=TRANSIENT, max_retries=3)
def score_reviews(review_ids: list[int] | None = None) -> int:
    from .sentiment import score_reviews as run

    return run(review_ids)


@shared_task(name="recommender.fail_stale_runs")
def fail_stale_runs() -> int:
    from .training import fail_stale_runs as run

    return run()


@shared_task(name="recommender.retrain_after_erasure")
def retrain_after_erasure() -> list[int]:
    """The hourly erasure upkeep: retrain the marked active versions due within the hour;
    withdraw those whose deadline passed (a retrain that cannot succeed must not leave them
    serving); settle erasures waiting on runs that ended; delete snapshot files no run needs."""
    from . import registry, snapshot, withdrawal
    from .training import request_training

    kinds = registry.due_for_erasure_retrain()
    runs = [run.pk for run in request_training(kinds, trigger="erasure")] if kinds else []
    registry.withdraw_overdue()
    registry.settle_erasures()
    snapshot.sweep()
    withdrawal.prune_events()
    return runs


@shared_task(name="recommender.aggregate_online_metrics", autoretry_for=TRANSIENT, max_retries=3)
def aggregate_online_metrics() -> int:
    """Count the recent days' impressions and outcomes into ListMetricDay (idempotent)."""
    from .online_metrics import aggregate_recent

    return aggregate_recent()
