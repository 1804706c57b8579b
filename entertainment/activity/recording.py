"""The one way activity is written, shared by pages, the API and bulk ingestion.

Rules held here: nothing is stored for a person whose history is paused (but a "not for me",
a control rather than history, is); a write that repeats
a client event id the person already used returns the stored row unchanged; listeners hear
about a write only once its transaction has committed, and one that fails then never turns the
stored write into an error (signals.announce).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

from django.db import models, transaction

from entertainment.accounts.models import User
from entertainment.catalogue.models import Item

from . import outcomes
from .impressions import measuring
from .models import Click, Dismissal, ListName, Play, Rating, Review
from .signals import (
    announce,
    dismissal_changed,
    history_changing,
    play_recorded,
    rating_recorded,
    review_recorded,
)

T = TypeVar("T", bound=models.Model)


@dataclass(frozen=True)
class Recorded(Generic[T]):
    """What a write did. `row` is None when the person's history is paused."""

    row: T | None
    created: bool = False
    duplicate: bool = False

    @property
    def stored(self) -> bool:
        return self.row is not None


def _changing(model: type[models.Model], user: User) -> None:
    """A stored row of the person's is about to change (a rating or review rewritten, a play
    corrected): its old values are in snapshots and models, which act as for an erasure of it.
    Sent in the write's transaction before the row is locked, the order an erasure takes its
    locks in (activity.signals.history_changing)."""
    history_changing.send(sender=model, user_ids=[user.pk])


def _previous(model: type[T], user: User, client_event_id: str | None) -> T | None:
    if not client_event_id:
        return None
    return model._default_manager.filter(user=user, client_event_id=client_event_id).first()


@transaction.atomic
def record_rating(
    user: User, item: Item, value: Decimal, client_event_id: str | None = None
) -> Recorded[Rating]:
    if user.privacy.history_paused:
        return Recorded(None)
    if (previous := _previous(Rating, user, client_event_id)) is not None:
        return Recorded(previous, duplicate=True)
    if Rating.objects.filter(user=user, item=item).exists():
        _changing(Rating, user)
    rating, created = Rating.objects.update_or_create(
        user=user,
        item=item,
        defaults={"value": value, "client_event_id": client_event_id or None},
    )
    if rating.value >= outcomes.HIGH_RATING:
        outcomes.attribute([outcomes.Outcome(user.pk, item.pk, "rated_at", rating.updated_at)])
    announce(rating_recorded, Rating, user_id=user.pk, item_id=item.pk, rating_id=rating.pk)
    return Recorded(rating, created=created)


@transaction.atomic
def record_play(
    user: User,
    item: Item,
    started_at: datetime | None,
    seconds_played: int = 0,
    completed: bool = False,
    client_event_id: str | None = None,
) -> Recorded[Play]:
    if user.privacy.history_paused:
        return Recorded(None)
    if (previous := _previous(Play, user, client_event_id)) is not None:
        return Recorded(previous, duplicate=True)
    play = Play.objects.create(
        user=user,
        item=item,
        started_at=started_at,
        seconds_played=seconds_played,
        completed=completed,
        client_event_id=client_event_id or None,
    )
    at = outcomes.play_time(play.started_at, play.created_at)
    outcomes.attribute([outcomes.Outcome(user.pk, item.pk, "played_at", at)])
    announce(play_recorded, Play, user_id=user.pk, item_id=item.pk, play_id=play.pk)
    return Recorded(play, created=True)


@transaction.atomic
def record_review(
    user: User,
    item: Item,
    text: str,
    rating: Decimal | None = None,
    client_event_id: str | None = None,
) -> Recorded[Review]:
    if user.privacy.history_paused:
        return Recorded(None)
    if (previous := _previous(Review, user, client_event_id)) is not None:
        return Recorded(previous, duplicate=True)
    if Review.objects.filter(user=user, item=item).exists():
        _changing(Review, user)
    review, created = Review.objects.update_or_create(
        user=user,
        item=item,
        defaults={
            "text": text,
            "rating": rating,
            "client_event_id": client_event_id or None,
            # New words need a new score.
            "sentiment_score": None,
            "sentiment": "",
            "sentiment_model_version": "",
        },
    )
    outcomes.attribute([outcomes.Outcome(user.pk, item.pk, "reviewed_at", review.updated_at)])
    announce(review_recorded, Review, user_id=user.pk, item_id=item.pk, review_id=review.pk)
    return Recorded(review, created=created)


@transaction.atomic
def update_play(
    play: Play,
    started_at: datetime | None,
    seconds_played: int,
    completed: bool,
) -> Recorded[Play]:
    """Corrects a stored play (how far it got, whether it finished).

    Sends no play_recorded: it is the same play, not a new step in the person's sequence.
    """
    if play.user.privacy.history_paused:
        return Recorded(None)
    _changing(Play, play.user)
    play.started_at = started_at
    play.seconds_played = seconds_played
    play.completed = completed
    play.save(update_fields=["started_at", "seconds_played", "completed"])
    return Recorded(play)


@transaction.atomic
def record_dismissal(
    user: User, item: Item, client_event_id: str | None = None
) -> Recorded[Dismissal]:
    """ "Not for me": the item leaves the person's lists and counts against what is like it.

    Stored even while the history is paused: it is a control the person asked for, not a
    record of what they did. One per person and item: a repeat returns the stored row.
    """
    if (previous := _previous(Dismissal, user, client_event_id)) is not None:
        return Recorded(previous, duplicate=True)
    dismissal, created = Dismissal.objects.get_or_create(
        user=user, item=item, defaults={"client_event_id": client_event_id or None}
    )
    if created:
        announce(dismissal_changed, Dismissal, user_id=user.pk, item_id=item.pk, dismissed=True)
    return Recorded(dismissal, created=created, duplicate=not created)


@transaction.atomic
def undo_dismissal(user: User, item_id: int) -> bool:
    """Take a "not for me" back (allowed while paused, like any deletion). Whether there was
    one. A snapshot may hold it: the recommender acts as for an erasure of it."""
    if not Dismissal.objects.filter(user=user, item_id=item_id).exists():
        return False
    _changing(Dismissal, user)
    deleted, _ = Dismissal.objects.filter(user=user, item_id=item_id).delete()
    if deleted:
        announce(dismissal_changed, Dismissal, user_id=user.pk, item_id=item_id, dismissed=False)
    return bool(deleted)


@transaction.atomic
def record_click(
    user: User, item: Item, list_name: str = "", client_event_id: str | None = None
) -> Recorded[Click]:
    """A click through from a list to an item: stored only while the person lets what they
    are shown be measured (and their history is not paused), and counted for the impression
    that led to it."""
    if not measuring(user.privacy):
        return Recorded(None)
    if list_name and list_name not in ListName.values:
        raise ValueError(f"not a list: {list_name!r}")
    if (previous := _previous(Click, user, client_event_id)) is not None:
        return Recorded(previous, duplicate=True)
    click = Click.objects.create(
        user=user, item=item, list=list_name, client_event_id=client_event_id or None
    )
    outcomes.attribute([outcomes.Outcome(user.pk, item.pk, "clicked_at", click.created_at)])
    return Recorded(click, created=True)
