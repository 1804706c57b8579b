"""What the recommender does when activity is written (connected in apps.ready).

Handlers run after the write has committed, inside the web request: they must be quick and
must never fail the request, so a broker that is down is logged, not raised.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from entertainment import caching, queueing
from entertainment.accounts.models import ErasureRequest, PrivacySettings
from entertainment.accounts.signals import erased, erasing, privacy_changed
from entertainment.activity.models import Dismissal, Play, Rating, Review
from entertainment.activity.signals import (
    dismissal_changed,
    events_ingested,
    history_changing,
    now_playing,
    play_recorded,
    rating_recorded,
    review_recorded,
)
from entertainment.catalogue.models import Item

from . import cards, lists, realtime, withdrawal

log = logging.getLogger(__name__)


def _enqueue_scoring(review_ids: list[int]) -> None:
    from .tasks import score_reviews

    # Already after commit; if the broker is down, the hourly refresh scores what was missed.
    queueing.send(score_reviews, review_ids)


@receiver(review_recorded)
def score_new_review(sender: Any, review_id: int, **kwargs: Any) -> None:
    _enqueue_scoring([review_id])


@receiver(play_recorded)
@receiver(rating_recorded)
@receiver(review_recorded)
@receiver(dismissal_changed)
def follow_event(sender: Any, user_id: int, **kwargs: Any) -> None:
    # The person's lists (For you, up next) are stale now; their next read computes them.
    lists.touch([user_id])


@receiver(now_playing)
def follow_now_playing(sender: Any, user_id: int, item_id: int, **kwargs: Any) -> None:
    realtime.playing_now(user_id, item_id)


@receiver(events_ingested)
def follow_batch(sender: Any, user_ids: list[int], review_ids: list[int], **kwargs: Any) -> None:
    if review_ids:
        _enqueue_scoring(review_ids)
    lists.touch(user_ids)


@receiver(post_save, sender=Item)
@receiver(post_delete, sender=Item)
def drop_card(sender: Any, instance: Item, **kwargs: Any) -> None:
    cards.forget([instance.pk])


@receiver(m2m_changed, sender=Item.genres.through)
def drop_cards_of_regenred(
    sender: Any, instance: Any, reverse: bool, pk_set: set[int] | None, **kwargs: Any
) -> None:
    if kwargs["action"].startswith("post_"):
        # Reverse (a genre's items changed): pk_set holds the items; None after a clear.
        cards.forget((pk_set or []) if reverse else [instance.pk])


@receiver(post_save, sender=PrivacySettings)
@receiver(post_delete, sender=PrivacySettings)
def drop_cached_switch(sender: Any, instance: PrivacySettings, **kwargs: Any) -> None:
    lists.forget_personalised(instance.user_id)
    # Again after commit: a request may have cached the old value meanwhile.
    transaction.on_commit(partial(lists.forget_personalised, instance.user_id))


@receiver(privacy_changed)
def release_snapshots_on_withdrawn_consent(
    sender: Any, user_id: int, changes: dict[str, Any], **kwargs: Any
) -> None:
    if any(name.startswith("train_on_") and not new for name, (_, new) in changes.items()):
        withdrawal.release_for_withdrawn_consent(user_id)


@receiver(privacy_changed)
def follow_list_style(sender: Any, user_id: int, changes: dict[str, Any], **kwargs: Any) -> None:
    # Lists are cached in the person's style ("surprise me" or not): recomputed on next read.
    if "list_style" in changes:
        lists.touch([user_id])


@receiver(privacy_changed)
def follow_privacy(sender: Any, user_id: int, changes: dict[str, Any], **kwargs: Any) -> None:
    if "personalised" not in changes:
        return
    # Switched off: nothing computed from the history may stay. Switched on: computed on the
    # next read (the stamp is gone, so no older list can pass for current).
    lists.forget(user_id)
    caching.delete([realtime.up_next_key(user_id)])


@receiver(erasing)
def withdraw_erased(
    sender: Any, user_id: int, erasure: ErasureRequest | None, **kwargs: Any
) -> None:
    """Every version trained on a snapshot that holds this person is marked: the active one
    is retrained within the erasure window, the others are discarded now, and the snapshot
    files themselves are deleted (withdrawal.py, which also orders this against snapshots
    and runs in flight)."""
    withdrawal.withdraw([user_id], erasure.pk if erasure is not None else None)
    _this_transaction().done.add(user_id)


class _Withdrawn:
    """Whose rows the current transaction deletes, and who of them is withdrawn already.

    Registered as an on-commit callback, so it lives exactly as long as its transaction: a
    rollback to before it drops it from the connection (and the next deletion withdraws
    again), a commit calls it (and closes it). An erasure of 10,000 rows so costs one
    withdrawal, not 10,000.
    """

    def __init__(self) -> None:
        self.done: set[int] = set()
        self.waiting: set[int] = set()
        self.closed = False

    def __call__(self) -> None:
        self.closed = True


def _this_transaction() -> _Withdrawn:
    connection = transaction.get_connection()
    for _, callback, _ in reversed(connection.run_on_commit):
        if isinstance(callback, _Withdrawn) and not callback.closed:
            return callback
    tracker = _Withdrawn()
    transaction.on_commit(tracker)
    return tracker


@receiver(pre_delete, sender=Rating)
@receiver(pre_delete, sender=Play)
@receiver(pre_delete, sender=Review)
@receiver(pre_delete, sender=Dismissal)  # exported as negative feedback (snapshot.py)
def row_leaving(sender: Any, instance: Rating | Play | Review | Dismissal, **kwargs: Any) -> None:
    """A rating, play or review is deleted (the API, the admin, an item deleted with its
    history, an erasure): the same effect as an erasure of that row. The erasure clock is
    taken now, before any row is deleted, in the order every erasure takes its locks."""
    tracker = _this_transaction()
    if instance.user_id in tracker.done:
        return
    if not tracker.waiting:
        withdrawal.hold_clock()
    tracker.waiting.add(instance.user_id)


@receiver(post_delete, sender=Rating)
@receiver(post_delete, sender=Play)
@receiver(post_delete, sender=Review)
@receiver(post_delete, sender=Dismissal)
def row_left(sender: Any, instance: Rating | Play | Review | Dismissal, **kwargs: Any) -> None:
    # Every pre_delete of one deletion comes before its first post_delete: one batch.
    tracker = _this_transaction()
    if tracker.waiting:
        withdrawal.withdraw(tracker.waiting)
        tracker.done |= tracker.waiting
        tracker.waiting.clear()


@receiver(history_changing)
def withdraw_changed(sender: Any, user_ids: list[int], **kwargs: Any) -> None:
    """Stored rows are about to be corrected: their old values are in snapshots and models."""
    tracker = _this_transaction()
    people = set(user_ids) - tracker.done
    if people:
        withdrawal.withdraw(people)
        tracker.done |= people


@receiver(erased)
def purge_person(sender: Any, user_id: int, **kwargs: Any) -> None:
    lists.forget(user_id)
    caching.delete([realtime.up_next_key(user_id)])
