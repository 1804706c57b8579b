"""The recommendation endpoints as a client sees them."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from recommender import lists
from tests.factories import ItemFactory, PlayFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def _store(person, entries_by_kind, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        lists.store(person.pk, entries_by_kind, "sequence-v7")


def test_anonymous_is_refused(anon_api):
    assert anon_api.get("/api/recommendations/").status_code in (401, 403)


def test_a_new_person_gets_popular_items(api):
    hit = ItemFactory(kind="game")
    PlayFactory(item=hit)
    body = api.get("/api/recommendations/?kind=game").json()
    assert body["personalised"] is False
    assert [r["item"]["id"] for r in body["results"]] == [hit.pk]
    assert body["results"][0]["reason"].startswith("Popular in games")


def test_stored_list_with_reasons_and_version(api, user, django_capture_on_commit_callbacks):
    film, song = ItemFactory(kind="film"), ItemFactory(kind="music")
    _store(
        user,
        {
            "film": [lists.Entry(film.pk, 0.8, "Because you played Alien")],
            "music": [lists.Entry(song.pk, 0.7, "Looks like Blue")],
        },
        django_capture_on_commit_callbacks,
    )
    body = api.get("/api/recommendations/?kind=film&n=5").json()
    assert body["personalised"] is True
    assert body["model_version"] == "sequence-v7"
    assert body["results"] == [
        {
            "rank": 1,
            "score": 0.8,
            "reason": "Because you played Alien",
            "item": body["results"][0]["item"],
        }
    ]
    assert body["results"][0]["item"]["id"] == film.pk
    every = api.get("/api/recommendations/").json()
    assert {r["item"]["id"] for r in every["results"]} == {film.pk, song.pk}


def test_personalisation_off_gives_the_popular_list(api, user, django_capture_on_commit_callbacks):
    mine = ItemFactory(kind="film")
    _store(user, {"film": [lists.Entry(mine.pk, 0.9, "r")]}, django_capture_on_commit_callbacks)
    privacy = user.privacy
    privacy.personalised = False
    privacy.save()
    body = api.get("/api/recommendations/?kind=film").json()
    assert body["personalised"] is False
    assert mine.pk not in [r["item"]["id"] for r in body["results"]]


def test_rating_an_item_takes_it_out_of_the_list(api, user, django_capture_on_commit_callbacks):
    film, other = ItemFactory(kind="film"), ItemFactory(kind="film")
    _store(
        user,
        {"film": [lists.Entry(film.pk, 0.9, "r"), lists.Entry(other.pk, 0.5, "r")]},
        django_capture_on_commit_callbacks,
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/ratings/", {"item": film.pk, "value": "4.5"}, format="json")
    assert response.status_code == 201, response.content
    ids = [r["item"]["id"] for r in api.get("/api/recommendations/?kind=film").json()["results"]]
    assert ids == [other.pk]


@pytest.mark.parametrize("query", ["kind=book", "n=0", "n=1000", "n=abc"])
def test_bad_parameters_are_400_with_field_messages(api, query):
    response = api.get(f"/api/recommendations/?{query}")
    assert response.status_code == 400
    assert set(response.json()) <= {"kind", "n"}


def test_fans_also_played_needs_two_people(anon_api):
    seed, shared, lonely = ItemFactory(), ItemFactory(), ItemFactory()
    first, second = UserFactory(), UserFactory()
    for person in (first, second):
        PlayFactory(user=person, item=seed)
        PlayFactory(user=person, item=shared)
    PlayFactory(user=first, item=lonely)
    body = anon_api.get(f"/api/items/{seed.pk}/similar/?by=co-play").json()
    assert [r["item"]["id"] for r in body["results"]] == [shared.pk]
    assert "2 fans of" in body["results"][0]["reason"]


def test_similar_of_unknown_item_is_404(anon_api):
    assert anon_api.get("/api/items/999999/similar/").status_code == 404


def test_session_next_validates_item_ids(anon_api):
    response = anon_api.post("/api/sessions/next/", {"items": [999999]}, format="json")
    assert response.status_code == 400
    assert "items" in response.json()
    assert anon_api.post("/api/sessions/next/", {"items": []}, format="json").status_code == 400


def test_session_next_refuses_an_id_too_large_for_the_database(anon_api):
    # Found by fuzzing: such an id reached the query and overflowed SQLite's integer (a 500).
    response = anon_api.post("/api/sessions/next/", {"items": [5, 2**70]}, format="json")
    assert response.status_code == 400
    assert "items" in response.json()
