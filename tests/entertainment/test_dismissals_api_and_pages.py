""" "Not for me" through the API (/api/dismissals/) and the pages (a card's button, the history
page's undo): idempotent, validated by field, the caller's own only, stored while paused."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from entertainment.activity.models import Dismissal
from tests.factories import ItemFactory, PlayFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings):
    # Throttle counters live in the cache: keep them per test.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"dismissal-tests-{uuid.uuid4()}",
        }
    }


def test_post_is_idempotent_and_delete_takes_it_back(api, user):
    item = ItemFactory(title="Cats")
    first = api.post("/api/dismissals/", {"item": item.pk}, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["item"] == item.pk and first.json()["item_title"] == "Cats"
    again = api.post("/api/dismissals/", {"item": item.pk}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Dismissal.objects.filter(user=user).count() == 1

    assert api.get(f"/api/dismissals/{item.pk}/").json()["id"] == first.json()["id"]
    assert api.delete(f"/api/dismissals/{item.pk}/").status_code == 204
    assert api.delete(f"/api/dismissals/{item.pk}/").status_code == 404
    assert not Dismissal.objects.filter(user=user).exists()


def test_a_repeated_client_event_id_answers_the_stored_row(api):
    item = ItemFactory()
    body = {"item": item.pk, "client_event_id": "d-1"}
    first = api.post("/api/dismissals/", body, format="json")
    again = api.post("/api/dismissals/", {**body, "item": ItemFactory().pk}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["item"] == item.pk


@pytest.mark.parametrize(
    "body",
    [{"item": 999_999}, {}, {"item": "x"}, {"item": None}],
)
def test_invalid_items_answer_400_by_field(api, body):
    answer = api.post("/api/dismissals/", body, format="json")
    assert answer.status_code == 400
    assert list(answer.json()) == ["item"]


def test_the_list_is_the_callers_own_and_paginated(api, user):
    mine = ItemFactory.create_batch(3)
    for item in mine:
        Dismissal.objects.create(user=user, item=item)
    Dismissal.objects.create(user=UserFactory(), item=ItemFactory())
    body = api.get("/api/dismissals/").json()
    assert body["count"] == 3
    assert {row["item"] for row in body["results"]} == {i.pk for i in mine}
    other = Dismissal.objects.exclude(user=user).get()
    assert api.get(f"/api/dismissals/{other.item_id}/").status_code == 404
    assert api.delete(f"/api/dismissals/{other.item_id}/").status_code == 404
    assert Dismissal.objects.filter(pk=other.pk).exists()


def test_stored_while_the_history_is_paused(api, user):
    privacy = user.privacy
    privacy.history_paused = True
    privacy.save()
    answer = api.post("/api/dismissals/", {"item": ItemFactory().pk}, format="json")
    assert answer.status_code == 201


def test_anonymous_callers_are_refused(anon_api):
    assert anon_api.get("/api/dismissals/").status_code == 401
    assert anon_api.post("/api/dismissals/", {"item": 1}, format="json").status_code == 401


# --- Pages -----------------------------------------------------------------------------------


def test_the_button_works_without_javascript_and_returns_to_the_page(user):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    item = ItemFactory(title="Dull")
    url = reverse("activity:dismiss", kwargs={"pk": item.pk})
    assert browser.post(url, {"next": "/catalogue/films/"}).status_code == 403  # no CSRF token
    browser.get(reverse("activity:history"))  # sets the CSRF cookie
    token = browser.cookies["csrftoken"].value
    answer = browser.post(url, {"next": "/catalogue/films/", "csrfmiddlewaretoken": token})
    assert answer.status_code == 302 and answer["Location"] == "/catalogue/films/"
    assert Dismissal.objects.filter(user=user, item=item).exists()
    # Elsewhere is not "the page": home instead.
    elsewhere = browser.post(url, {"next": "https://evil.example/", "csrfmiddlewaretoken": token})
    assert elsewhere["Location"] == reverse("home")


def test_signed_out_people_are_sent_to_log_in(client):
    item = ItemFactory()
    answer = client.post(reverse("activity:dismiss", kwargs={"pk": item.pk}))
    assert answer.status_code == 302 and "login" in answer["Location"]
    assert not Dismissal.objects.exists()


def test_the_history_page_lists_them_with_an_undo(client, user):
    item = ItemFactory(title="Not My Thing")
    Dismissal.objects.create(user=user, item=item)
    client.force_login(user)
    page = client.get(reverse("activity:history")).content.decode()
    assert "Not My Thing" in page
    undo = reverse("activity:undo_dismiss", kwargs={"pk": item.pk})
    assert f'action="{undo}"' in page
    assert 'aria-label="Undo not for me: Not My Thing"' in page
    answer = client.post(undo, {"next": reverse("activity:history")})
    assert answer.status_code == 302 and answer["Location"] == reverse("activity:history")
    assert not Dismissal.objects.exists()


def test_recommendation_cards_carry_the_button(client, user):
    other = ItemFactory(title="Suggested")
    PlayFactory(item=other)  # someone's: in the popular row a new person sees
    client.force_login(user)
    page = client.get(reverse("home")).content.decode()
    assert reverse("activity:dismiss", kwargs={"pk": other.pk}) in page
    assert 'aria-label="Not for me: Suggested"' in page
    assert 'name="next" value="/"' in page
    # Gone from the rows once dismissed, the person's own choice even without a history.
    client.post(reverse("activity:dismiss", kwargs={"pk": other.pk}), {"next": "/"})
    page = client.get(reverse("home")).content.decode()
    assert 'aria-label="Not for me: Suggested"' not in page
