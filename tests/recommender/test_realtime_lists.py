"""Lists follow each person: every event shows in their next read, computed in the web process
by the loaded serving model, and nothing they have is ever offered to them."""

from __future__ import annotations

import random

import pytest

from entertainment.catalogue.models import Kind
from recommender import lists
from tests.factories import ItemFactory, PlayFactory, RatingFactory, ReviewFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_lists")]


def test_a_play_moves_the_list_at_once(
    api, user, serving_model, django_capture_on_commit_callbacks
):
    films = [ItemFactory(kind=Kind.FILM, title=f"Night Ransom {n}") for n in range(6)]
    serving_model(films, follows={films[0].pk: films[1].pk, films[1].pk: films[2].pk})
    before = api.get("/api/recommendations/?kind=film").json()
    assert before["personalised"] is False  # no history yet: the popular list

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/plays/", {"item": films[0].pk}, format="json")
    assert response.status_code == 201
    after = api.get("/api/recommendations/?kind=film").json()
    assert after["personalised"] is True
    assert after["model_version"].startswith("sequence-v")
    first = after["results"][0]
    assert first["item"]["id"] == films[1].pk
    assert first["reason"] == "Because you played Night Ransom 0"
    assert films[0].pk not in [r["item"]["id"] for r in after["results"]]

    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/plays/", {"item": films[1].pk}, format="json")
    again = api.get("/api/recommendations/?kind=film").json()
    assert again["results"][0]["item"]["id"] == films[2].pk
    assert again["results"][0]["reason"] == "Because you played Night Ransom 1"


@pytest.mark.parametrize("seed", range(8))
def test_no_list_ever_holds_an_item_of_the_history(
    seed, api, user, serving_model, django_capture_on_commit_callbacks
):
    rng = random.Random(seed)
    items = [ItemFactory(kind=rng.choice(list(Kind.values))) for _ in range(30)]
    # Some popular items, so the popular fallback would offer them too.
    for item in items[:10]:
        PlayFactory(item=item)
    with_model = rng.random() < 0.7
    if with_model:
        follows = {a.pk: b.pk for a, b in zip(items, rng.sample(items, len(items)), strict=True)}
        serving_model(items, follows=follows, popular=[i.pk for i in items[:10]])
    mine = rng.sample(items, rng.randint(1, 12))
    with django_capture_on_commit_callbacks(execute=True):
        for item in mine:
            factory = rng.choice([PlayFactory, RatingFactory, ReviewFactory])
            factory(user=user, item=item)
    # Factories send no signal: the stamp the API and pages replace after each event, replaced.
    lists.touch([user.pk])
    body = api.get("/api/recommendations/?n=50").json()
    shown = {r["item"]["id"] for r in body["results"]}
    assert shown and not shown & {i.pk for i in mine}
    for kind in Kind.values:
        page = api.get(f"/api/recommendations/?kind={kind}&n=50").json()
        assert not {r["item"]["id"] for r in page["results"]} & {i.pk for i in mine}
