"""What came of an impression: clicks, plays, ratings of 4+ and reviews, counted for the latest
impression of the item before them within OUTCOME_WINDOW_DAYS."""

from __future__ import annotations

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from entertainment.activity import impressions
from entertainment.activity.models import Click, Impression
from entertainment.activity.recording import (
    record_click,
    record_play,
    record_rating,
    record_review,
)
from tests.factories import ImpressionFactory, ItemFactory

pytestmark = pytest.mark.django_db


def test_a_click_then_a_play_within_the_window_are_counted(user):
    item = ItemFactory()
    shown = ImpressionFactory(user=user, item=item, created_at=timezone.now() - timedelta(days=2))
    record_click(user, item, "for_you")
    record_play(user, item, started_at=None)
    shown.refresh_from_db()
    assert shown.clicked_at is not None and shown.played_at is not None
    assert shown.clicked_at <= shown.played_at
    assert shown.rated_at is None and shown.reviewed_at is None


def test_outside_the_window_nothing_is_counted(user, settings):
    settings.OUTCOME_WINDOW_DAYS = 7
    item = ItemFactory()
    shown = ImpressionFactory(user=user, item=item, created_at=timezone.now() - timedelta(days=8))
    record_click(user, item, "for_you")
    record_play(user, item, started_at=None)
    shown.refresh_from_db()
    assert shown.clicked_at is None and shown.played_at is None


def test_only_the_latest_impression_before_the_event_counts(user):
    item = ItemFactory()
    now = timezone.now()
    earlier = ImpressionFactory(user=user, item=item, created_at=now - timedelta(days=3))
    latest = ImpressionFactory(user=user, item=item, created_at=now - timedelta(days=1))
    other_item = ImpressionFactory(user=user, created_at=now - timedelta(hours=1))
    record_play(user, item, started_at=None)
    for row in (earlier, latest, other_item):
        row.refresh_from_db()
    assert latest.played_at is not None
    assert earlier.played_at is None and other_item.played_at is None


def test_a_play_that_started_before_the_impression_is_not_its_outcome(user):
    item = ItemFactory()
    now = timezone.now()
    shown = ImpressionFactory(user=user, item=item, created_at=now - timedelta(hours=1))
    record_play(user, item, started_at=now - timedelta(hours=2))
    shown.refresh_from_db()
    assert shown.played_at is None


def test_ratings_count_from_four_stars_and_reviews_always(user, other_user):
    low, high = ItemFactory(), ItemFactory()
    earlier = timezone.now() - timedelta(hours=1)
    low_shown = ImpressionFactory(user=user, item=low, created_at=earlier)
    high_shown = ImpressionFactory(user=user, item=high, created_at=earlier)
    record_rating(user, low, Decimal("3.5"))
    record_rating(user, high, Decimal("4.0"))
    record_review(user, low, "Not for me after all.")
    low_shown.refresh_from_db()
    high_shown.refresh_from_db()
    assert low_shown.rated_at is None and low_shown.reviewed_at is not None
    assert high_shown.rated_at is not None


def test_the_first_outcome_is_kept(user):
    item = ItemFactory()
    shown = ImpressionFactory(user=user, item=item, created_at=timezone.now() - timedelta(hours=1))
    record_play(user, item, started_at=None)
    shown.refresh_from_db()
    first = shown.played_at
    record_play(user, item, started_at=None)
    shown.refresh_from_db()
    assert shown.played_at == first


def test_a_click_before_its_impression_was_flushed_is_counted_by_the_flush(user):
    """The item page is often opened before the batch holding its impression is written."""
    item = ItemFactory()
    user.privacy  # noqa: B018
    impressions.note(
        [impressions.Shown(user.pk, "for_you", "film", "v", [item.pk], at=time.time() - 5)]
    )
    record_click(user, item, "for_you")
    record_play(user, item, started_at=None)
    assert impressions.flush() == 1
    shown = Impression.objects.get()
    assert shown.clicked_at is not None and shown.played_at is not None


def test_the_item_page_records_a_click_from_a_list_link(client, user):
    item = ItemFactory()
    shown = ImpressionFactory(
        user=user, item=item, created_at=timezone.now() - timedelta(minutes=1)
    )
    client.force_login(user)
    assert client.get(f"{item.get_absolute_url()}?via=up_next").status_code == 200
    click = Click.objects.get()
    assert (click.user, click.item, click.list) == (user, item, "up_next")
    shown.refresh_from_db()
    assert shown.clicked_at == click.created_at


@pytest.mark.parametrize("via", ["", "nonsense", "FOR_YOU"])
def test_no_click_without_a_valid_list(client, user, via):
    item = ItemFactory()
    client.force_login(user)
    client.get(f"{item.get_absolute_url()}?via={via}")
    assert not Click.objects.exists()


def test_no_click_when_signed_out_paused_or_not_measured(client, user):
    item = ItemFactory()
    url = f"{item.get_absolute_url()}?via=for_you"
    client.get(url)
    client.force_login(user)
    privacy = user.privacy
    for values in ({"history_paused": True}, {"measure_recommendations": False}):
        privacy.history_paused, privacy.measure_recommendations = False, True
        for name, value in values.items():
            setattr(privacy, name, value)
        privacy.save()
        client.get(url)
    assert not Click.objects.exists()


def test_list_links_carry_their_list(client, user):
    """Cards in the "For you" rows link with ?via= (popular lists for a person without a
    history)."""
    from tests.factories import RatingFactory

    RatingFactory(item=ItemFactory(title="Well Liked"))
    client.force_login(user)
    html = client.get(reverse("home")).content.decode()
    assert "?via=popular" in html
