"""Warming the cache after an activation: lists of people likely to come back, computed ahead.

Nothing depends on it. Every read computes a stale list itself (lists.py); this only spares
the people active lately the few milliseconds of their first read after a new model version.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from entertainment.accounts.models import User
from entertainment.activity.models import Play, Rating, Review

from . import lists, serving
from .models import ModelVersion
from .tasks import TRANSIENT

log = logging.getLogger(__name__)


def personalised_people() -> QuerySet[User]:
    """People whose lists are computed: personalisation on (the default) and able to log in."""
    return User.objects.filter(is_active=True).exclude(privacy_settings__personalised=False)


def recently_active(days: int) -> QuerySet[User]:
    """Personalised people with an event in the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    return personalised_people().filter(
        Q(pk__in=Play.objects.filter(created_at__gte=since).values("user_id"))
        | Q(pk__in=Rating.objects.filter(created_at__gte=since).values("user_id"))
        | Q(pk__in=Review.objects.filter(created_at__gte=since).values("user_id"))
    )


def enqueue_refresh() -> int:
    """Split the recently active people into batches, one `cpu` task each. Returns the count."""
    from .tasks import refresh_batch

    if serving.active().sequence_path is None:
        return 0
    ids = list(
        recently_active(settings.WARM_UP_ACTIVE_DAYS).order_by("pk").values_list("pk", flat=True)
    )
    size = settings.REFRESH_BATCH_SIZE
    for start in range(0, len(ids), size):
        refresh_batch.delay(ids[start : start + size])
    return len(ids)


def after_activation(version_id: int) -> None:
    version = ModelVersion.objects.get(pk=version_id)
    if version.kind == "sentiment":
        from .sentiment import score_reviews

        score_reviews()
    serving.forget_active()
    enqueue_refresh()


def refresh_people(user_ids: list[int]) -> int:
    """Compute and cache the lists of these people (those still personalised). Returns the
    count. A person erased or switched off meanwhile is skipped, one failing never stops the
    rest of the batch; a transient failure (the database or Redis blinked) is raised once the
    others are done, so the task retries the batch."""
    serving.forget_active()
    done: dict[int, str | None] = {}
    transient: Exception | None = None
    for user_id in personalised_people().filter(pk__in=user_ids).values_list("pk", flat=True):
        try:
            current = lists.stamp(user_id, {})
            lists.compute(user_id, current)
        except TRANSIENT as exc:
            log.warning("warming the lists of %s failed, the batch will retry", user_id)
            transient = transient or exc
            continue
        except Exception:
            log.exception("warming the lists of %s failed", user_id)
            continue
        done[user_id] = current
    # An erasure, an event or a privacy change committed while a person's lists were computed
    # replaced their stamp: what was just cached for them is stale, and may name erased items.
    lists.drop_stale(done)
    # Someone erased or switched off meanwhile: what was just cached for them goes again (their
    # erasure or switch deleted it before it was written).
    still = set(personalised_people().filter(pk__in=list(done)).values_list("pk", flat=True))
    for user_id in set(done) - still:
        lists.forget(user_id)
    if transient is not None:
        raise transient
    return len(still)
