"""What the recommender does when activity is written (connected in apps.ready).

Handlers run after the write has committed, inside the web request: they must be quick and
must never fail the request, so a broker that is down is logged, not raised.
"""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver

from entertainment.activity.models import Play
from entertainment.activity.signals import (
    events_ingested,
    play_recorded,
    rating_recorded,
    review_recorded,
)

from . import lists, realtime

log = logging.getLogger(__name__)


def _enqueue_scoring(review_ids: list[int]) -> None:
    from .tasks import score_reviews

    try:
        score_reviews.delay(review_ids)
    except Exception:  # the nightly refresh scores whatever was missed
        log.warning("could not enqueue sentiment scoring of %s", review_ids, exc_info=True)


@receiver(review_recorded)
def score_new_review(sender: Any, review_id: int, **kwargs: Any) -> None:
    _enqueue_scoring([review_id])


@receiver(rating_recorded)
def drop_rated_item(sender: Any, user_id: int, item_id: int, **kwargs: Any) -> None:
    lists.drop_item(user_id, item_id)


@receiver(play_recorded)
def follow_play(sender: Any, user_id: int, item_id: int, play_id: int, **kwargs: Any) -> None:
    if Play.objects.filter(pk=play_id, completed=True).exists():
        lists.drop_item(user_id, item_id)
    realtime.update_up_next(user_id)


@receiver(events_ingested)
def follow_batch(
    sender: Any,
    user_ids: list[int],
    last_play_ids: dict[int, int],
    review_ids: list[int],
    **kwargs: Any,
) -> None:
    if review_ids:
        _enqueue_scoring(review_ids)
    for user_id in last_play_ids:
        realtime.update_up_next(user_id)
