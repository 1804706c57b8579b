"""Rate, play and review through the item page, and the person's own history page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from entertainment.activity.models import Play, Rating, Review
from entertainment.activity.views import HISTORY_PAGE_SIZE
from tests.factories import ItemFactory, PlayFactory, RatingFactory, ReviewFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_person(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def paused(user):
    privacy = user.privacy
    privacy.history_paused = True
    privacy.save()


def test_item_page_shows_controls_with_csrf_and_labels(as_person):
    item = ItemFactory()
    html = as_person.get(item.get_absolute_url()).content.decode()
    for name in ("rate", "play", "review"):
        assert reverse(f"activity:{name}", args=[item.pk]) in html
    assert html.count("csrfmiddlewaretoken") >= 4  # three controls and the log-out button
    for field_id in ("id_value", "id_seconds_played", "id_completed", "id_text", "id_rating"):
        assert f'for="{field_id}"' in html


def test_rating_through_the_page(as_person, user):
    item = ItemFactory()
    url = reverse("activity:rate", args=[item.pk])
    response = as_person.post(url, {"value": "3.5"}, follow=True)
    assert response.redirect_chain[-1][0] == item.get_absolute_url()
    assert "Rated 3.5 out of 5." in response.content.decode()
    assert Rating.objects.get(user=user, item=item).value == Decimal("3.5")

    as_person.post(url, {"value": "5.0"})
    assert Rating.objects.get(user=user, item=item).value == Decimal("5.0")
    assert "You rated this 5.0 out of 5." in as_person.get(item.get_absolute_url()).content.decode()


@pytest.mark.parametrize("value", ["0", "5.5", "3.3", "lots", ""])
def test_bad_ratings_are_refused_with_a_message(as_person, value):
    item = ItemFactory()
    response = as_person.post(reverse("activity:rate", args=[item.pk]), {"value": value})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode() or "required" in (
        response.content.decode()
    )
    assert not Rating.objects.exists()


def test_play_button_records_a_play_now(as_person, user):
    item = ItemFactory()
    before = timezone.now()
    response = as_person.post(reverse("activity:play", args=[item.pk]), follow=True)
    assert "Play recorded." in response.content.decode()
    play = Play.objects.get(user=user, item=item)
    assert play.started_at is not None and play.started_at >= before
    assert play.seconds_played == 0 and not play.completed

    as_person.post(
        reverse("activity:play", args=[item.pk]), {"seconds_played": "95", "completed": "on"}
    )
    latest = Play.objects.filter(user=user).order_by("-pk").first()
    assert latest.seconds_played == 95 and latest.completed
    html = as_person.get(item.get_absolute_url()).content.decode()
    assert "You have played this 2 times." in html


def test_bad_play_details_are_refused(as_person):
    item = ItemFactory()
    response = as_person.post(reverse("activity:play", args=[item.pk]), {"seconds_played": "-3"})
    assert response.status_code == 400
    assert "greater than or equal to 0" in response.content.decode()
    assert not Play.objects.exists()


def test_review_is_written_then_updated(as_person, user):
    item = ItemFactory()
    url = reverse("activity:review", args=[item.pk])
    response = as_person.post(url, {"text": "Gripping.", "rating": "4.5"}, follow=True)
    assert "Review saved." in response.content.decode()
    review = Review.objects.get(user=user, item=item)
    assert review.text == "Gripping." and review.rating == Decimal("4.5")

    response = as_person.post(url, {"text": "Even better twice.", "rating": ""}, follow=True)
    assert "Review updated." in response.content.decode()
    review.refresh_from_db()
    assert review.text == "Even better twice." and review.rating is None
    assert Review.objects.count() == 1
    # The form comes back filled with the person's words.
    assert "Even better twice.</textarea>" in response.content.decode()


def test_empty_review_is_refused(as_person):
    item = ItemFactory()
    response = as_person.post(reverse("activity:review", args=[item.pk]), {"text": "   "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Review.objects.exists()


def test_paused_history_stores_nothing_and_says_so(as_person, user, paused):
    item = ItemFactory()
    page = as_person.get(item.get_absolute_url()).content.decode()
    assert "Your history is paused" in page
    for name, data in (
        ("rate", {"value": "4.0"}),
        ("play", {}),
        ("review", {"text": "Shh."}),
    ):
        response = as_person.post(reverse(f"activity:{name}", args=[item.pk]), data, follow=True)
        assert "nothing was stored" in response.content.decode()
    assert not Rating.objects.exists()
    assert not Play.objects.exists()
    assert not Review.objects.exists()


def test_anonymous_writes_go_to_login_and_store_nothing(client):
    item = ItemFactory()
    for name in ("rate", "play", "review"):
        response = client.post(
            reverse(f"activity:{name}", args=[item.pk]), {"value": "4.0", "text": "x"}
        )
        assert response.status_code == 302
        assert response.url.startswith(reverse("accounts:login"))
        assert item.get_absolute_url() in response.url
    assert not (Rating.objects.exists() or Play.objects.exists() or Review.objects.exists())


def test_writes_need_post_and_csrf(user):
    from django.test import Client

    item = ItemFactory()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.get(reverse("activity:play", args=[item.pk])).status_code == 405
    assert strict.post(reverse("activity:play", args=[item.pk])).status_code == 403
    assert not Play.objects.exists()


def test_history_shows_only_ones_own_rows_newest_first(as_person, user, other_user):
    old, mid, new = ItemFactory(title="Old"), ItemFactory(title="Mid"), ItemFactory(title="New")
    now = timezone.now()
    PlayFactory(user=user, item=old, started_at=now - timedelta(days=3))
    RatingFactory(user=user, item=mid)
    Rating.objects.filter(user=user).update(updated_at=now - timedelta(days=2))
    ReviewFactory(user=user, item=new, text="Mine, recent")
    ReviewFactory(user=other_user, item=old, text="Someone else's words")
    RatingFactory(user=other_user, item=ItemFactory(title="Their Secret"))

    response = as_person.get(reverse("activity:history"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Someone else" not in html and "Their Secret" not in html
    entries = [(entry["type"], entry["row"].item.title) for entry in response.context["entries"]]
    assert entries == [("review", "New"), ("rating", "Mid"), ("play", "Old")]

    plays_only = as_person.get(reverse("activity:history"), {"type": "play"})
    assert [e["type"] for e in plays_only.context["entries"]] == ["play"]


def test_history_is_paginated(as_person, user):
    item = ItemFactory()
    start = timezone.now() - timedelta(hours=1)
    for n in range(HISTORY_PAGE_SIZE + 2):
        PlayFactory(user=user, item=item, started_at=start + timedelta(minutes=n))
    first = as_person.get(reverse("activity:history"))
    assert len(first.context["entries"]) == HISTORY_PAGE_SIZE
    second = as_person.get(reverse("activity:history"), {"page": 2})
    assert len(second.context["entries"]) == 2
    # Oldest last.
    assert second.context["entries"][-1]["when"] == start


def test_history_queries_do_not_grow_with_rows(as_person, user, django_assert_max_num_queries):
    for n in range(10):
        item = ItemFactory(title=f"Thing {n}")
        PlayFactory(user=user, item=item)
        RatingFactory(user=user, item=item)
        ReviewFactory(user=user, item=item)
    as_person.get(reverse("activity:history"))  # creates the privacy settings row
    with django_assert_max_num_queries(12):
        response = as_person.get(reverse("activity:history"))
    assert len(response.context["entries"]) == HISTORY_PAGE_SIZE


def test_history_escapes_review_text(as_person, user):
    ReviewFactory(user=user, text="<script>alert(1)</script>")
    html = as_person.get(reverse("activity:history")).content.decode()
    assert "<script>" not in html and "&lt;script&gt;" in html
