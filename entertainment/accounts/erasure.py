"""Erasure: rows are deleted, not hidden, and everything derived from them follows.

Chosen items of history, all history, or the whole account. Listeners of `erasing` (the
recommender) mark the model versions that were trained with the data before it goes; after
commit, `erased` lets them purge caches, and this module ends sessions and removes export files.
"""

from __future__ import annotations

import logging
from functools import partial

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from entertainment.activity import impressions
from entertainment.activity.models import Click, Dismissal, Impression, Play, Rating, Review

from . import sessions
from .models import DataExport, ErasureRequest, PrivacySettings, User
from .signals import erased, erasing

log = logging.getLogger(__name__)

# DRF's throttles keep per-person counters in the cache under these names.
THROTTLE_SCOPES = ("user", "bulk")


def _delete_history(user: User, item_ids: list[int] | None) -> int:
    # The privacy row first, locked until commit: a batch of impressions being written for
    # the person finishes before (and its rows are deleted here) or waits and then sees the
    # erasure (activity.impressions drops what was shown before it).
    PrivacySettings.objects.select_for_update().filter(user=user).exists()
    deleted = 0
    for model in (Rating, Play, Review, Impression, Click, Dismissal):
        rows = model.objects.filter(user=user)
        if item_ids is not None:
            rows = rows.filter(item_id__in=item_ids)
        deleted += rows.delete()[0]
    return deleted


def _export_files(user: User) -> list[str]:
    """The files of the person's exports, their rows locked until the erasure commits: a build
    storing its archive meanwhile either recorded it already (and it is read here) or waits
    and then finds its row gone (and deletes the file itself, export.store)."""
    rows = DataExport.objects.select_for_update().filter(user=user)
    return [name for name in rows.values_list("archive", flat=True) if name]


def _remove_files(names: list[str]) -> None:
    storage = DataExport._meta.get_field("archive").storage
    for name in names:
        storage.delete(name)


def _after(user_id: int, export_files: list[str]) -> None:
    _remove_files(export_files)
    impressions.forget_consent(user_id)
    try:
        cache.delete_many([f"throttle_{scope}_{user_id}" for scope in THROTTLE_SCOPES])
    except Exception:  # the counters expire within the throttle's window anyway
        log.error("cache unavailable purging throttle counters of %s", user_id, exc_info=True)
    erased.send(sender=User, user_id=user_id)


@transaction.atomic
def erase_history(user: User, item_ids: list[int] | None = None) -> ErasureRequest:
    """Delete the person's ratings, plays and reviews (of `item_ids` only, when given)."""
    scope = ErasureRequest.Scope.HISTORY if item_ids is None else ErasureRequest.Scope.ITEMS
    erasure = ErasureRequest.objects.create(user=user, scope=scope)
    erasing.send(sender=User, user_id=user.pk, scope=scope, item_ids=item_ids, erasure=erasure)
    erasure.rows_deleted = _delete_history(user, item_ids)
    # Items played while paused were never stored, but a session keeps them for "up next".
    sessions.forget_paused_plays(user.pk, item_ids)
    erasure.refresh_from_db(fields=["pending_versions"])
    if not erasure.pending_versions:
        erasure.models_clean_at = timezone.now()
    erasure.save(update_fields=["rows_deleted", "models_clean_at"])
    # Old exports hold the erased rows too.
    files = _export_files(user)
    DataExport.objects.filter(user=user).delete()
    transaction.on_commit(partial(_after, user.pk, files))
    return erasure


@transaction.atomic
def erase_account(user: User) -> None:
    """Delete the person and every row that refers to them; end all their sessions."""
    user_id, username = user.pk, user.get_username()
    erasing.send(sender=User, user_id=user_id, scope="account", item_ids=None, erasure=None)
    files = _export_files(user)
    sessions.end_all(user_id)
    for log in (AccessAttempt, AccessFailureLog, AccessLog):
        log.objects.filter(username=username).delete()
    _delete_history(user, None)  # explicit, before the cascade, so listeners see plain deletes
    user.delete()
    transaction.on_commit(partial(_after, user_id, files))
