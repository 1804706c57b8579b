"""The queue end to end: a real Redis broker, a real `celery worker` process, real training."""

from __future__ import annotations

from decimal import Decimal

import pytest

from entertainment.accounts.privacy import change_settings
from entertainment.activity.models import Review
from recommender.models import ModelVersion, TrainingRun
from recommender.training import request_training
from tests.conftest import wait_for
from tests.factories import ItemFactory, ReviewFactory, UserFactory

pytestmark = [pytest.mark.worker, pytest.mark.slow]

GOOD = ["wonderful", "brilliant", "loved", "superb", "delightful"]
BAD = ["awful", "boring", "hated", "dreadful", "tedious"]


def test_sentiment_run_trains_activates_and_scores_reviews(celery_worker_process):
    items = [ItemFactory() for _ in range(6)]
    for n in range(40):
        person = UserFactory()
        change_settings(person, train_on_reviews=True)  # review text trains only by choice
        positive = n % 2 == 0
        words = GOOD if positive else BAD
        ReviewFactory(
            user=person,
            item=items[n % len(items)],
            text=f"Simply {words[n % 5]}, {words[(n + 2) % 5]} from start to end.",
            rating=Decimal("5.0") if positive else Decimal("1.0"),
        )

    (run,) = request_training(["sentiment"])  # committed at once: transactional test
    seen_progress = set()

    def finished():
        current = TrainingRun.objects.get(pk=run.pk)
        seen_progress.add(current.progress)
        return current if current.status not in TrainingRun.LIVE else None

    done = wait_for(finished, 240, "the sentiment run to finish")
    assert done.status == TrainingRun.Status.SUCCEEDED, done.error
    assert done.progress == 100
    assert len(seen_progress) >= 2  # progress moved while we watched
    version = ModelVersion.objects.get(pk=done.model_version_id)
    assert version.status == ModelVersion.Status.ACTIVE
    assert version.main_metric_value is not None
    assert 0.0 <= version.main_metric_value <= 1.0

    # Activation scores every review on the cpu queue.
    wait_for(
        lambda: not Review.objects.filter(sentiment_score=None).exists(), 120, "reviews scored"
    )
    positives = Review.objects.filter(rating=Decimal("5.0"))
    assert positives.filter(sentiment="positive").count() >= 0.8 * positives.count()
