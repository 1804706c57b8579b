"""What the recommendation endpoints keep in the cache: always what the database says now, read
in one round trip while current."""

from __future__ import annotations

import pytest
from redis.connection import AbstractConnection

from entertainment.catalogue.models import Item
from entertainment.throttling import ResilientUserRateThrottle
from recommender import cards, lists
from recommender.api import RecommendationsView
from tests.factories import GenreFactory, ItemFactory, PlayFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_lists")]


def _film_cards(api):
    body = api.get("/api/recommendations/?kind=film").json()
    return [r["item"] for r in body["results"]]


@pytest.fixture
def films(serving_model):
    """A seed film the person played, "Alien" that follows it, and one more film; a song and a
    game, so that the model has a list of every kind to offer."""
    seed, film, other = (ItemFactory(kind="film", title=t) for t in ("Seed", "Alien", "Other"))
    others = [ItemFactory(kind="music"), ItemFactory(kind="game")]
    serving_model([seed, film, other, *others], follows={seed.pk: film.pk}, popular=[other.pk])
    return seed, film, other


@pytest.fixture
def listed(user, films):
    seed, film, other = films
    PlayFactory(user=user, item=seed)
    lists.touch([user.pk])  # what the receivers do once a play has committed
    return film, other


def test_cards_follow_edits_genres_and_deletion(api, listed):
    film, other = listed
    first = _film_cards(api)
    assert [c["id"] for c in first] == [film.pk, other.pk]
    assert first[0]["title"] == "Alien"
    assert first[0]["page_url"].startswith("http://testserver/")
    assert _film_cards(api) == first  # served from the cache, the same card

    film.title = "Aliens"
    film.save()
    assert _film_cards(api)[0]["title"] == "Aliens"

    genre = GenreFactory(kind="film", name="Horror")
    film.genres.add(genre)
    assert [g["name"] for g in _film_cards(api)[0]["genres"]] == ["Horror"]
    genre.items.remove(film)
    assert _film_cards(api)[0]["genres"] == []

    film.delete()
    assert [c["id"] for c in _film_cards(api)] == [other.pk]


def test_cards_use_the_asking_host(api, listed):
    _film_cards(api)
    body = api.get("/api/recommendations/?kind=film", HTTP_HOST="localhost").json()
    assert body["results"][0]["item"]["page_url"].startswith("http://localhost/")


def test_a_play_after_a_read_is_shown_on_the_next(api, films, django_capture_on_commit_callbacks):
    seed, film, _ = films
    assert api.get("/api/recommendations/?kind=film").json()["personalised"] is False
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/plays/", {"item": seed.pk}, format="json").status_code == 201
    body = api.get("/api/recommendations/?kind=film").json()
    assert body["personalised"] is True
    assert body["results"][0]["item"]["id"] == film.pk
    assert body["results"][0]["reason"] == "Because you played Seed"


def test_switching_personalisation_off_is_seen_at_once(api, user, listed):
    assert api.get("/api/recommendations/?kind=film").json()["personalised"] is True
    privacy = user.privacy
    privacy.personalised = False
    privacy.save()
    assert api.get("/api/recommendations/?kind=film").json()["personalised"] is False
    privacy.personalised = True
    privacy.save()
    assert api.get("/api/recommendations/?kind=film").json()["personalised"] is True


@pytest.fixture
def redis_commands(monkeypatch, settings):
    """Each command or pipeline sent to Redis from now on (a round trip each).

    Impressions are left out: in production a process pushes its requests' impressions to Redis
    in one batch a second (IMPRESSION_BATCH_S), never within the request whose round trips are
    counted here (test_impressions_lists.py covers them)."""
    settings.RECORD_IMPRESSIONS = False
    sent: list[object] = []
    send = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return sent


def test_a_request_reads_its_list_in_the_rate_limits_round_trip(
    redis_cache, api, listed, redis_commands
):
    _film_cards(api)  # computes the list, renders the cards, which each process then keeps
    redis_commands.clear()
    assert [c["title"] for c in _film_cards(api)][:1] == ["Alien"]
    assert len(redis_commands) == 1


def test_without_a_rate_limit_the_view_reads_its_list_itself(
    redis_cache, api, listed, redis_commands, monkeypatch
):
    monkeypatch.setattr(RecommendationsView, "throttle_classes", [])
    _film_cards(api)
    redis_commands.clear()
    assert [c["title"] for c in _film_cards(api)][:1] == ["Alien"]
    assert len(redis_commands) == 1


def test_a_stale_list_is_computed_and_written_back(
    redis_cache, api, user, films, listed, redis_commands
):
    _, film, other = films
    _film_cards(api)
    PlayFactory(user=user, item=film)
    lists.touch([user.pk])
    redis_commands.clear()
    assert [c["id"] for c in _film_cards(api)] == [other.pk]  # computed now, from the play
    assert len(redis_commands) == 2  # the read, then the lists written back in one pipeline

    redis_commands.clear()
    assert [c["id"] for c in _film_cards(api)] == [other.pk]
    assert len(redis_commands) == 1  # current again: read in the rate limit's round trip


def test_a_bad_query_is_counted_by_the_rate_limit(redis_cache, api, monkeypatch):
    monkeypatch.setattr(ResilientUserRateThrottle, "rate", "2/min", raising=False)
    statuses = [api.get("/api/recommendations/?kind=nope").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_a_recommended_items_card_is_the_catalogues_own(api, listed):
    """Cards are rendered from plain rows for speed: they must read exactly as the catalogue
    API lists the same item (genres in order, artwork, page link, music type)."""
    film, _ = listed
    film.genres.set([GenreFactory(kind="film", name=n) for n in ("Thriller", "Horror")])
    Item.objects.filter(pk=film.pk).update(
        artwork_thumbnail="artwork/thumbs/alien.jpg", year=1979, music_type=""
    )
    cards.forget([film.pk])
    card = next(c for c in _film_cards(api) if c["id"] == film.pk)
    listed_by_catalogue = api.get(f"/api/items/?kind=film&search={film.title}").json()["results"]
    assert card == next(c for c in listed_by_catalogue if c["id"] == film.pk)
    assert card["thumbnail_url"].endswith("/artwork/thumbs/alien.jpg")
    assert [g["name"] for g in card["genres"]] == ["Horror", "Thriller"]
