"""The recommendation endpoints as a client sees them."""

from __future__ import annotations

import pytest

from entertainment.catalogue.models import Kind
from recommender import lists
from tests.factories import ItemFactory, PlayFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_lists")]


def _play(api, item, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/plays/", {"item": item.pk}, format="json")
    assert response.status_code == 201, response.content


def _ids(body):
    return [r["item"]["id"] for r in body["results"]]


def test_anonymous_is_refused(anon_api):
    assert anon_api.get("/api/recommendations/").status_code in (401, 403)


def test_a_new_person_gets_popular_items(api):
    hit = ItemFactory(kind="game")
    PlayFactory(item=hit)
    body = api.get("/api/recommendations/?kind=game").json()
    assert body["personalised"] is False
    assert body["model_version"] == "popular"
    assert _ids(body) == [hit.pk]
    assert body["results"][0]["reason"].startswith("Popular in games")


def test_a_new_person_gets_popular_items_with_a_model_active(api, serving_model):
    films = [ItemFactory(kind="film") for _ in range(3)]
    serving_model(films, follows={films[0].pk: films[1].pk}, popular=[films[2].pk])
    PlayFactory(item=films[0])
    body = api.get("/api/recommendations/?kind=film").json()
    assert (body["personalised"], body["model_version"]) == (False, "popular")
    assert _ids(body) == [films[0].pk]


def test_a_person_with_history_gets_their_list_with_reasons_and_version(
    api, user, serving_model, django_capture_on_commit_callbacks
):
    films = [ItemFactory(kind="film", title=f"Alien {n}") for n in range(4)]
    version = serving_model(
        films, follows={films[0].pk: films[1].pk}, popular=[films[2].pk, films[3].pk]
    )
    _play(api, films[0], django_capture_on_commit_callbacks)
    body = api.get("/api/recommendations/?kind=film&n=5").json()
    assert body["kind"] == "film"
    assert body["personalised"] is True
    assert body["model_version"] == version.label
    assert [(r["rank"], r["item"]["id"], r["reason"]) for r in body["results"]] == [
        (1, films[1].pk, "Because you played Alien 0"),
        (2, films[2].pk, "Popular in the whole catalogue"),
        (3, films[3].pk, "Popular in the whole catalogue"),
    ]
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert body["results"][0]["item"]["title"] == "Alien 1"
    assert api.get("/api/recommendations/?kind=film&n=1").json()["results"] == body["results"][:1]


def test_every_kind_is_merged_by_rank(api, user, serving_model):
    items = [ItemFactory(kind=kind) for kind in Kind.values for _ in range(3)]
    film, song = items[0], items[3]
    version = serving_model(items, follows={film.pk: items[1].pk, song.pk: items[4].pk})
    PlayFactory(user=user, item=film)
    PlayFactory(user=user, item=song)
    lists.touch([user.pk])
    per_kind = {
        kind: _ids(api.get(f"/api/recommendations/?kind={kind}&n=10").json())
        for kind in Kind.values
    }
    assert [len(ids) for ids in per_kind.values()] == [2, 2, 3]  # less what the person played
    body = api.get("/api/recommendations/?n=6").json()
    assert body["kind"] is None
    assert (body["personalised"], body["model_version"]) == (True, version.label)
    assert _ids(body) == [
        per_kind[Kind.FILM][0], per_kind[Kind.MUSIC][0], per_kind[Kind.GAME][0],
        per_kind[Kind.FILM][1], per_kind[Kind.MUSIC][1], per_kind[Kind.GAME][1],
    ]  # fmt: skip
    assert [r["rank"] for r in body["results"]] == [1, 2, 3, 4, 5, 6]
    assert not {film.pk, song.pk} & set(_ids(api.get("/api/recommendations/?n=50").json()))


def test_personalisation_off_gives_the_popular_list(api, user, serving_model):
    films = [ItemFactory(kind="film") for _ in range(3)]
    serving_model(films, follows={films[0].pk: films[1].pk})
    PlayFactory(item=films[2])
    PlayFactory(item=films[2])
    PlayFactory(user=user, item=films[0])
    lists.touch([user.pk])
    assert api.get("/api/recommendations/?kind=film").json()["personalised"] is True
    privacy = user.privacy
    privacy.personalised = False
    privacy.save()
    body = api.get("/api/recommendations/?kind=film").json()
    assert (body["personalised"], body["model_version"]) == (False, "popular")
    assert _ids(body) == [films[2].pk, films[0].pk]  # the popular list, as a new person's


def test_rating_an_item_takes_it_out_of_the_list(
    api, user, serving_model, django_capture_on_commit_callbacks
):
    films = [ItemFactory(kind="film") for _ in range(3)]
    serving_model(films, follows={films[0].pk: films[1].pk})
    _play(api, films[0], django_capture_on_commit_callbacks)
    assert _ids(api.get("/api/recommendations/?kind=film").json()) == [films[1].pk, films[2].pk]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/ratings/", {"item": films[1].pk, "value": "4.5"}, format="json")
    assert response.status_code == 201, response.content
    body = api.get("/api/recommendations/?kind=film").json()
    assert body["personalised"] is True
    assert _ids(body) == [films[2].pk]


# n=10.0: the schema says integer; DRF's IntegerField would read it as 10.
@pytest.mark.parametrize("query", ["kind=book", "n=0", "n=1000", "n=abc", "n=10.0"])
def test_bad_parameters_are_400_with_field_messages(api, query):
    response = api.get(f"/api/recommendations/?{query}")
    assert response.status_code == 400
    assert set(response.json()) <= {"kind", "n"}


@pytest.fixture
def co_played(serving_model):
    """A seed item, the model's co-play neighbours of it, with how many people had both."""
    seed = ItemFactory(title="Night Ransom")
    most, fewer, one = ItemFactory(), ItemFactory(), ItemFactory()
    serving_model(
        [seed, most, fewer, one],
        co_played={seed.pk: [(fewer.pk, 2), (one.pk, 1), (most.pk, 3)]},
    )
    return seed, most, fewer, one


def test_fans_also_played_needs_two_people(anon_api, co_played):
    seed, most, fewer, _ = co_played
    body = anon_api.get(f"/api/items/{seed.pk}/similar/?by=co-play").json()
    assert body["by"] == "co-play"
    assert [(r["item"]["id"], r["reason"]) for r in body["results"]] == [
        (most.pk, "3 fans of Night Ransom played it"),
        (fewer.pk, "2 fans of Night Ransom played it"),
    ]  # never the one only one person had both of
    assert _ids(anon_api.get(f"/api/items/{seed.pk}/similar/").json()) == [most.pk, fewer.pk]
    assert _ids(anon_api.get(f"/api/items/{seed.pk}/similar/?n=1").json()) == [most.pk]


def test_fans_also_played_leaves_out_what_the_caller_had(api, user, co_played):
    seed, most, fewer, _ = co_played
    PlayFactory(user=user, item=most)
    assert _ids(api.get(f"/api/items/{seed.pk}/similar/?by=co-play").json()) == [fewer.pk]


def test_similar_items_the_model_cannot_tell_are_none(anon_api, co_played):
    seed, *_ = co_played
    assert anon_api.get(f"/api/items/{seed.pk}/similar/?by=artwork").json()["results"] == []
    lonely = ItemFactory()  # an item the model does not know
    assert anon_api.get(f"/api/items/{lonely.pk}/similar/").json()["results"] == []


def test_similar_items_without_an_active_model_are_none(anon_api):
    seed = ItemFactory()
    for person in (UserFactory(), UserFactory()):
        PlayFactory(user=person, item=seed)
        PlayFactory(user=person, item=ItemFactory())
    body = anon_api.get(f"/api/items/{seed.pk}/similar/?by=co-play").json()
    assert body == {"by": "co-play", "results": []}


# by=: an empty value was read as absent (co-play); n=5.0 as 5.
@pytest.mark.parametrize("query", ["by=colour", "by=", "n=0", "n=51", "n=5.0"])
def test_similar_items_refuse_bad_parameters(anon_api, query):
    seed = ItemFactory()
    response = anon_api.get(f"/api/items/{seed.pk}/similar/?{query}")
    assert response.status_code == 400
    assert set(response.json()) <= {"by", "n"}


def test_similar_of_unknown_item_is_404(anon_api):
    assert anon_api.get("/api/items/999999/similar/").status_code == 404


def test_session_next_validates_item_ids(anon_api):
    response = anon_api.post("/api/sessions/next/", {"items": [999999]}, format="json")
    assert response.status_code == 400
    assert "items" in response.json()
    assert anon_api.post("/api/sessions/next/", {"items": []}, format="json").status_code == 400


@pytest.mark.parametrize("items", [[1.0], ["1"], [True]])
def test_session_next_takes_ids_as_whole_numbers_only(anon_api, items):
    item = ItemFactory(pk=1)
    assert (
        anon_api.post("/api/sessions/next/", {"items": [item.pk]}, format="json").status_code == 200
    )
    response = anon_api.post("/api/sessions/next/", {"items": items}, format="json")
    assert response.status_code == 400
    assert "items" in response.json()


def test_session_next_refuses_an_id_too_large_for_the_database(anon_api):
    # Found by fuzzing: such an id reached the query and overflowed SQLite's integer (a 500).
    response = anon_api.post("/api/sessions/next/", {"items": [5, 2**70]}, format="json")
    assert response.status_code == 400
    assert "items" in response.json()
