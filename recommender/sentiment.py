"""Scoring reviews with the active sentiment model (runs in `cpu` workers, never in web)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db import transaction

from entertainment.activity.models import Review, Sentiment

from . import lists, registry

BATCH = 512


@lru_cache(maxsize=2)
def _load(path: str) -> Any:
    # Keyed by the version's directory: a newly activated version is loaded on first use.
    from ml.sentiment import load_sentiment

    return load_sentiment(path)


def score_reviews(review_ids: list[int] | None = None) -> int:
    """Score these reviews, or all the active model has not scored yet. Returns the count."""
    version = registry.active_version("sentiment")
    if version is None:
        return 0
    model = _load(version.path)
    reviews = (
        Review.objects.all() if review_ids is None else Review.objects.filter(pk__in=review_ids)
    )
    if review_ids is None:
        reviews = reviews.exclude(sentiment_model_version=version.label)
    scored = 0
    pending = list(reviews.order_by("pk").values_list("pk", "text"))
    for start in range(0, len(pending), BATCH):
        batch = pending[start : start + BATCH]
        probabilities = model.predict([text for _, text in batch])
        rows = [
            Review(
                pk=pk,
                sentiment_score=float(p),
                sentiment=Sentiment.POSITIVE if p >= 0.5 else Sentiment.NEGATIVE,
                sentiment_model_version=version.label,
            )
            for (pk, _), p in zip(batch, probabilities, strict=True)
        ]
        with transaction.atomic():
            # Only rows still present: a review erased meanwhile stays erased.
            present = set(
                Review.objects.filter(pk__in=[r.pk for r in rows]).values_list("pk", flat=True)
            )
            Review.objects.bulk_update(
                [r for r in rows if r.pk in present],
                ["sentiment_score", "sentiment", "sentiment_model_version"],
            )
            people = set(Review.objects.filter(pk__in=present).values_list("user_id", flat=True))
        # A score changes how much the review weighs in its writer's lists.
        lists.touch(people)
        scored += len(present)
    return scored
