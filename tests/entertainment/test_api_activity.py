"""The caller's own ratings, plays and reviews through the API: writes go through recording.py."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from entertainment.activity.models import Play, Rating, Review
from tests.factories import ItemFactory, PlayFactory, RatingFactory, ReviewFactory


@pytest.fixture(autouse=True)
def _own_cache(settings):
    # Throttle counters live in the cache: keep them per test, not in the shared file cache.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"api-tests-{uuid.uuid4()}",
        }
    }


@pytest.fixture
def paused(user):
    privacy = user.privacy
    privacy.history_paused = True
    privacy.save()
    return user


def test_rate_then_list_and_retrieve(api, user):
    item = ItemFactory(title="Stalker")
    created = api.post("/api/ratings/", {"item": item.pk, "value": "4.5"})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["value"] == "4.5" and body["item"] == item.pk and body["item_title"] == "Stalker"
    listed = api.get("/api/ratings/").json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == body["id"]
    assert api.get(f"/api/ratings/{body['id']}/").json()["value"] == "4.5"


def test_second_rating_of_an_item_updates_the_first(api, user):
    item = ItemFactory()
    api.post("/api/ratings/", {"item": item.pk, "value": "2.0"})
    again = api.post("/api/ratings/", {"item": item.pk, "value": "3.5"})
    assert again.status_code == 200
    assert Rating.objects.get(user=user, item=item).value == Decimal("3.5")


def test_repeated_client_event_id_stores_once_and_answers_the_stored_row(api, user):
    item = ItemFactory()
    payload = {"item": item.pk, "started_at": timezone.now().isoformat(), "client_event_id": "e1"}
    first = api.post("/api/plays/", {**payload, "seconds_played": 30})
    second = api.post("/api/plays/", {**payload, "seconds_played": 999})
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["seconds_played"] == 30
    assert Play.objects.filter(user=user).count() == 1


def test_rating_update_and_partial_update(api, user):
    rating = RatingFactory(user=user, value=Decimal("2.0"))
    other_item = ItemFactory()
    put = api.put(f"/api/ratings/{rating.pk}/", {"value": "3.0", "item": other_item.pk})
    assert put.status_code == 200
    # The item of a rating is fixed: a different item in the body is ignored.
    assert put.json()["item"] == rating.item_id
    patch = api.patch(f"/api/ratings/{rating.pk}/", {"value": "5.0"})
    assert patch.status_code == 200
    rating.refresh_from_db()
    assert rating.value == Decimal("5.0") and rating.item_id != other_item.pk


def test_play_correction(api, user):
    play = PlayFactory(user=user, seconds_played=10, completed=False)
    response = api.patch(f"/api/plays/{play.pk}/", {"seconds_played": 600, "completed": True})
    assert response.status_code == 200
    play.refresh_from_db()
    assert play.seconds_played == 600 and play.completed


def test_review_rewrite_clears_sentiment(api, user):
    review = ReviewFactory(user=user, text="Fine.")
    Review.objects.filter(pk=review.pk).update(sentiment="positive", sentiment_score=0.8)
    response = api.patch(f"/api/reviews/{review.pk}/", {"text": "Dreadful, on reflection."})
    assert response.status_code == 200
    body = response.json()
    assert body["text"] == "Dreadful, on reflection." and body["sentiment"] == ""
    assert body["sentiment_score"] is None


def test_delete_own_rows(api, user):
    rows = [RatingFactory(user=user), PlayFactory(user=user), ReviewFactory(user=user)]
    for endpoint, row in zip(["ratings", "plays", "reviews"], rows, strict=True):
        assert api.delete(f"/api/{endpoint}/{row.pk}/").status_code == 204
    assert not Rating.objects.exists() and not Play.objects.exists()
    assert not Review.objects.exists()


def test_paused_history_answers_202_and_stores_nothing(api, paused):
    item = ItemFactory()
    writes = {
        "/api/ratings/": {"item": item.pk, "value": "4.0"},
        "/api/plays/": {"item": item.pk, "seconds_played": 20},
        "/api/reviews/": {"item": item.pk, "text": "Secret"},
    }
    for url, payload in writes.items():
        response = api.post(url, payload)
        assert response.status_code == 202, url
        assert response.json()["recorded"] is False
        assert response.json()["reason"] == "history_paused"
    assert not Rating.objects.exists() and not Play.objects.exists()
    assert not Review.objects.exists()


def test_paused_history_refuses_edits_but_allows_deletion(api, paused):
    rating = RatingFactory(user=paused, value=Decimal("1.0"))
    assert api.patch(f"/api/ratings/{rating.pk}/", {"value": "5.0"}).status_code == 202
    rating.refresh_from_db()
    assert rating.value == Decimal("1.0")
    assert api.delete(f"/api/ratings/{rating.pk}/").status_code == 204


def test_filter_own_rows_by_item(api, user):
    wanted, other = ItemFactory(), ItemFactory()
    PlayFactory(user=user, item=wanted)
    PlayFactory(user=user, item=other)
    body = api.get("/api/plays/", {"item": wanted.pk}).json()
    assert [row["item"] for row in body["results"]] == [wanted.pk]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"value": "4.3"}, "value"),
        ({"value": "4.25"}, "value"),
        ({"value": 4.3}, "value"),
        ({"value": "0"}, "value"),
        ({"value": "5.5"}, "value"),
        ({"value": "1e400"}, "value"),
        ({"value": "NaN"}, "value"),
        ({"value": [1]}, "value"),
        ({"value": None}, "value"),
        ({"item": 10**30, "value": "4.0"}, "item"),
        ({"item": 999999, "value": "4.0"}, "item"),
        ({"item": "abc", "value": "4.0"}, "item"),
        ({"client_event_id": "x" * 65, "value": "4.0"}, "client_event_id"),
    ],
)
def test_bad_rating_input_is_a_400_naming_the_field(api, user, payload, field):
    item = ItemFactory()
    response = api.post("/api/ratings/", {"item": item.pk, **payload}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Rating.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"seconds_played": -1},
        {"seconds_played": 2**63},
        {"seconds_played": "ten"},
        {"started_at": "yesterday"},
        {"completed": "perhaps"},
    ],
)
def test_bad_play_input_is_a_400(api, user, payload):
    response = api.post("/api/plays/", {"item": ItemFactory().pk, **payload}, format="json")
    assert response.status_code == 400
    assert set(payload) <= set(response.json())


def test_review_text_limits(api, user):
    item = ItemFactory()
    assert api.post("/api/reviews/", {"item": item.pk, "text": ""}).status_code == 400
    too_long = api.post("/api/reviews/", {"item": item.pk, "text": "a" * 10_001})
    assert too_long.status_code == 400 and "text" in too_long.json()


def test_malformed_json_is_a_400(api, user):
    response = api.post("/api/ratings/", '{"item": 1, "value": ', content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_a_json_array_where_an_object_belongs_is_a_400(api, user):
    response = api.post("/api/ratings/", [1, 2], format="json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("page=abc", 400),
        ("page=0", 400),
        ("page=-1", 400),
        ("page=" + "9" * 50, 400),
        ("page=99", 404),
        ("page_size=abc", 400),
        ("page_size=0", 400),
        ("page_size=" + "9" * 5000, 200),
        ("page_size=1000000000", 200),
        ("item=abc", 400),
        ("item=" + "9" * 30, 400),
        ("ordering=nonsense", 200),
    ],
)
def test_bad_query_parameters_are_never_a_500(api, user, query, status):
    RatingFactory(user=user)
    response = api.get(f"/api/ratings/?{query}")
    assert response.status_code == status, response.content
    assert isinstance(response.json(), dict)


def test_page_size_is_capped(api, user, settings):
    for _ in range(3):
        PlayFactory(user=user)
    from entertainment.pagination import CappedPageNumberPagination

    assert CappedPageNumberPagination.max_page_size == settings.API_MAX_PAGE_SIZE
    body = api.get("/api/plays/?page_size=2").json()
    assert len(body["results"]) == 2 and body["next"]
    huge = api.get("/api/plays/?page_size=1000000000").json()
    assert len(huge["results"]) == 3


def test_deeply_nested_json_is_a_400(api, user):
    body = "[" * 20_000 + "]" * 20_000  # deep, yet within the endpoint's body limit
    response = api.post("/api/ratings/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_an_oversized_json_body_is_a_413(api, user, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    body = '{"item": 1, "value": "4.0", "padding": "' + "x" * 2_000 + '"}'
    response = api.post("/api/ratings/", body, content_type="application/json")
    assert response.status_code == 413
    assert not Rating.objects.exists()


@pytest.mark.parametrize("row_id", ["abc", "9" * 30, "-1", "0"])
@pytest.mark.parametrize("endpoint", ["ratings", "plays", "reviews", "items"])
def test_odd_ids_in_the_path_are_a_json_404(api, user, endpoint, row_id):
    for response in (
        api.get(f"/api/{endpoint}/{row_id}/"),
        api.patch(f"/api/{endpoint}/{row_id}/", {"value": "3.0"}),
        api.delete(f"/api/{endpoint}/{row_id}/"),
    ):
        assert response.status_code in (403, 404), response.content
        assert "detail" in response.json()
