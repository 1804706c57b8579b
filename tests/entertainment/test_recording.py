"""The one write path for activity: idempotency on client event ids and paused history."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.utils import OperationalError
from django.utils import timezone

from entertainment.activity.models import Play, Rating, Review
from entertainment.activity.recording import record_play, record_rating, record_review
from entertainment.activity.signals import play_recorded
from tests.factories import ItemFactory


def test_rating_is_updated_not_duplicated(user):
    item = ItemFactory()
    first = record_rating(user, item, Decimal("3.0"))
    second = record_rating(user, item, Decimal("4.5"))
    assert first.created and not second.created
    assert Rating.objects.get(user=user, item=item).value == Decimal("4.5")


def test_same_client_event_id_is_stored_once(user):
    item = ItemFactory()
    now = timezone.now()
    one = record_play(user, item, now, 30, client_event_id="evt-1")
    two = record_play(user, item, now, 30, client_event_id="evt-1")
    assert one.created and two.duplicate
    assert Play.objects.filter(user=user).count() == 1


def test_event_ids_are_per_person(user, other_user):
    item = ItemFactory()
    record_play(user, item, timezone.now(), client_event_id="evt-1")
    record_play(other_user, item, timezone.now(), client_event_id="evt-1")
    assert Play.objects.count() == 2


def test_paused_history_stores_nothing(user):
    item = ItemFactory()
    privacy = user.privacy
    privacy.history_paused = True
    privacy.save()
    assert not record_play(user, item, timezone.now()).stored
    assert not record_rating(user, item, Decimal("5.0")).stored
    assert not record_review(user, item, "Loved it").stored
    assert not Play.objects.exists()
    assert not Rating.objects.exists()
    assert not Review.objects.exists()


def test_rewritten_review_loses_its_old_sentiment(user):
    item = ItemFactory()
    review = record_review(user, item, "Great").row
    assert review is not None
    Review.objects.filter(pk=review.pk).update(sentiment_score=0.9, sentiment="positive")
    record_review(user, item, "Actually, dreadful")
    review.refresh_from_db()
    assert review.sentiment_score is None and review.text == "Actually, dreadful"


@pytest.mark.django_db(transaction=True)
def test_a_listener_failing_after_commit_does_not_fail_the_stored_write(api, user, caplog):
    """The database gone between the commit and a listener's query: the play is stored, so
    the answer is 201, not an error its client would retry; the other listeners still run."""
    item = ItemFactory()
    heard = []

    def gone(**kwargs):
        raise OperationalError("terminating connection due to administrator command")

    play_recorded.connect(gone, weak=False, dispatch_uid="test-gone")
    play_recorded.connect(lambda **kw: heard.append(kw["play_id"]), weak=False, dispatch_uid="t")
    try:
        response = api.post("/api/plays/", {"item": item.pk, "client_event_id": "e1"})
    finally:
        play_recorded.disconnect(dispatch_uid="test-gone")
        play_recorded.disconnect(dispatch_uid="t")
    assert response.status_code == 201, response.content
    assert heard == [Play.objects.get(user=user, client_event_id="e1").pk]
    assert "failed after commit" in caplog.text
