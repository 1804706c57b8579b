"""Nobody reads or changes another person's rows, and only staff change the catalogue."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from entertainment.activity.models import Play, Rating, Review
from entertainment.catalogue.models import Item
from tests.conftest import api_token
from tests.factories import ItemFactory, PlayFactory, RatingFactory, ReviewFactory

ENDPOINTS: dict[str, tuple[Any, dict[str, Any]]] = {
    "ratings": (RatingFactory, {"value": "1.0"}),
    "plays": (PlayFactory, {"seconds_played": 1}),
    "reviews": (ReviewFactory, {"text": "Overwritten"}),
}


@pytest.fixture(autouse=True)
def _own_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"api-tests-{uuid.uuid4()}",
        }
    }


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_another_persons_rows_are_invisible_and_untouchable(api, user, other_user, endpoint):
    factory, change = ENDPOINTS[endpoint]
    theirs = factory(user=other_user)
    snapshot = type(theirs).objects.filter(pk=theirs.pk).values().get()
    url = f"/api/{endpoint}/{theirs.pk}/"

    listed = api.get(f"/api/{endpoint}/").json()
    assert listed["count"] == 0 and listed["results"] == []
    assert api.get(url).status_code == 404
    assert api.patch(url, change).status_code == 404
    assert api.put(url, {"item": theirs.item_id, **change}).status_code == 404
    assert api.delete(url).status_code == 404
    # Filtering by their item does not reveal their row either.
    assert api.get(f"/api/{endpoint}/", {"item": theirs.item_id}).json()["count"] == 0

    assert type(theirs).objects.filter(pk=theirs.pk).values().get() == snapshot


def test_same_client_event_id_as_someone_else_is_a_separate_event(api, user, other_user):
    item = ItemFactory()
    theirs = RatingFactory(user=other_user, item=item, client_event_id="shared-id")
    response = api.post(
        "/api/ratings/", {"item": item.pk, "value": "2.0", "client_event_id": "shared-id"}
    )
    assert response.status_code == 201
    assert response.json()["id"] != theirs.pk
    theirs.refresh_from_db()
    assert theirs.value == Decimal("4.0")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_may_neither_read_nor_write_activity(anon_api, other_user, endpoint):
    factory, change = ENDPOINTS[endpoint]
    row = factory(user=other_user)
    assert anon_api.get(f"/api/{endpoint}/").status_code == 401
    assert anon_api.get(f"/api/{endpoint}/{row.pk}/").status_code == 401
    assert anon_api.post(f"/api/{endpoint}/", {"item": row.item_id, **change}).status_code == 401
    assert anon_api.patch(f"/api/{endpoint}/{row.pk}/", change).status_code == 401
    assert anon_api.delete(f"/api/{endpoint}/{row.pk}/").status_code == 401
    assert type(row).objects.count() == 1


def test_anonymous_is_told_how_to_authenticate(anon_api, db):
    response = anon_api.post("/api/ratings/", {})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "detail" in response.json()


def test_anonymous_bulk_ingestion_is_refused(anon_api, db):
    item = ItemFactory()
    events = [{"type": "rating", "client_event_id": "a", "item": item.pk, "value": "3.0"}]
    assert anon_api.post("/api/events/bulk/", events, format="json").status_code == 401
    assert not Rating.objects.exists()


def test_anyone_reads_the_catalogue(anon_api, db):
    item = ItemFactory()
    assert anon_api.get("/api/items/").status_code == 200
    assert anon_api.get(f"/api/items/{item.pk}/").status_code == 200
    assert anon_api.get("/api/genres/").status_code == 200


def test_only_staff_change_the_catalogue(anon_api, api, staff):
    item = ItemFactory(title="Original")
    new = {"kind": "film", "title": "New film"}
    for client, status in [(anon_api, 401), (api, 403)]:
        assert client.post("/api/items/", new).status_code == status
        assert client.patch(f"/api/items/{item.pk}/", {"title": "Hacked"}).status_code == status
        assert client.delete(f"/api/items/{item.pk}/").status_code == status
    item.refresh_from_db()
    assert item.title == "Original" and Item.objects.count() == 1

    staff_api = APIClient()
    staff_api.force_authenticate(staff)
    assert staff_api.post("/api/items/", new).status_code == 201
    assert staff_api.patch(f"/api/items/{item.pk}/", {"title": "Edited"}).status_code == 200
    assert staff_api.delete(f"/api/items/{item.pk}/").status_code == 204
    assert list(Item.objects.values_list("title", flat=True)) == ["New film"]


def test_genres_are_read_only_even_for_staff(staff):
    staff_api = APIClient()
    staff_api.force_authenticate(staff)
    assert staff_api.post("/api/genres/", {"kind": "film", "name": "Noir"}).status_code == 405


def test_token_endpoint_shows_only_your_own_token(api, user, other_user):
    theirs = api_token(other_user)
    body = api.get("/api/me/token/").json()
    assert body == {"token": None, "created": None, "expiry": None}
    mine = api.post("/api/me/token/").json()["token"]
    assert mine and mine != theirs
    assert api.delete("/api/me/token/").status_code == 204
    # Theirs still works.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {theirs}")
    assert client.get("/api/me/").json()["id"] == other_user.pk


def test_rows_of_every_kind_stay_with_their_owner_after_a_mixed_session(api, user, other_user):
    item = ItemFactory()
    api.post("/api/ratings/", {"item": item.pk, "value": "3.0"})
    api.post("/api/plays/", {"item": item.pk})
    api.post("/api/reviews/", {"item": item.pk, "text": "Mine"})
    for model in (Rating, Play, Review):
        assert set(model.objects.values_list("user_id", flat=True)) == {user.pk}
