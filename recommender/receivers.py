"""What the recommender does when activity is written (connected in apps.ready).

Handlers run after the write has committed, inside the web request: they must be quick and
must never fail the request, so a broker that is down is logged, not raised.
"""

from __future__ import annotations

import logging
import shutil
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from entertainment import caching, queueing
from entertainment.accounts.models import ErasureRequest, PrivacySettings
from entertainment.accounts.signals import erased, erasing, privacy_changed
from entertainment.activity.signals import (
    events_ingested,
    play_recorded,
    rating_recorded,
    review_recorded,
)
from entertainment.catalogue.models import Item

from . import cards, lists, realtime, registry
from .models import ModelVersion, Snapshot

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
def follow_event(sender: Any, user_id: int, **kwargs: Any) -> None:
    # The person's lists (For you, up next) are stale now; their next read computes them.
    lists.touch([user_id])


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
def follow_privacy(sender: Any, user_id: int, changes: dict[str, Any], **kwargs: Any) -> None:
    if "personalised" not in changes:
        return
    # Switched off: nothing computed from the history may stay. Switched on: computed on the
    # next read (the stamp is gone, so no older list can pass for current).
    lists.forget(user_id)
    caching.delete([realtime.up_next_key(user_id)])


@receiver(erasing)
def mark_models_for_retraining(
    sender: Any, user_id: int, erasure: ErasureRequest | None, **kwargs: Any
) -> None:
    """Every version trained on a snapshot that holds this person is marked: the active one
    is retrained within the erasure window, the others are discarded now, and the snapshot
    files themselves are deleted."""
    snapshots = Snapshot.objects.filter(members__user_id=user_id)
    versions = ModelVersion.objects.filter(snapshot__in=snapshots)
    versions.filter(needs_retrain_since=None).update(needs_retrain_since=timezone.now())
    active = list(versions.filter(status=ModelVersion.Status.ACTIVE).values_list("pk", flat=True))
    if erasure is not None:
        ErasureRequest.objects.filter(pk=erasure.pk).update(pending_versions=active)
    idle = list(versions.exclude(status=ModelVersion.Status.ACTIVE))
    paths = [s.path for s in snapshots if s.path]
    snapshots.update(path="")
    transaction.on_commit(partial(_discard_files, idle, paths))


def _discard_files(versions: list[ModelVersion], snapshot_paths: list[str]) -> None:
    for version in versions:
        registry.discard(version)
    for path in snapshot_paths:
        shutil.rmtree(path, ignore_errors=True)


@receiver(erased)
def purge_person(sender: Any, user_id: int, **kwargs: Any) -> None:
    lists.forget(user_id)
    caching.delete([realtime.up_next_key(user_id)])
