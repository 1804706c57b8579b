"""A person's lists: computed from their history when stale, served from the cache while current.

A list is current while the person's stamp and the active model are those it was computed with:
every event replaces the stamp (lists.touch, called by the receivers after commit), every
activation changes the model's label.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from entertainment.catalogue.models import Kind
from recommender import lists, personal, serving
from tests.factories import ItemFactory, PlayFactory, RatingFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_lists")]

# Plays in the order a test makes them, whatever the clock's resolution.
_START = timezone.now() - timedelta(days=1)
_step = itertools.count()


@pytest.fixture
def films(db):
    return [ItemFactory(kind=Kind.FILM, title=f"Film {n}") for n in range(6)]


def _played(user, *items, touch=True):
    for item in items:
        PlayFactory(user=user, item=item, started_at=_START + timedelta(seconds=next(_step)))
    if touch:  # factories send no signal: what the receivers do after each event
        lists.touch([user.pk])


def _ids(found):
    return [e.item_id for e in found.entries]


def _first(user):
    return _ids(lists.for_person(user, Kind.FILM, 10))[0]


def test_a_current_list_is_read_from_the_cache_without_a_query(
    user, films, serving_model, django_assert_num_queries, monkeypatch
):
    version = serving_model(films, follows={films[0].pk: films[1].pk})
    _played(user, films[0])
    found = lists.for_person(user, Kind.FILM, 3)
    assert found.personalised is True
    assert found.model_version == version.label
    assert len(found.entries) == 3  # five films left, the first three asked for
    assert found.entries[0].item_id == films[1].pk
    assert found.entries[0].reason == "Because you played Film 0"
    assert films[0].pk not in _ids(found)

    # However long this test has taken, the active version is not looked up again.
    monkeypatch.setattr(serving, "_VERSION_TTL_S", 3600.0)
    with django_assert_num_queries(0):  # no history, no switch, no version: the cache only
        again = lists.for_person(user, Kind.FILM, 3)
    assert again == found


def test_a_list_is_kept_until_the_person_is_touched(user, films, serving_model):
    serving_model(films, follows={films[0].pk: films[1].pk, films[1].pk: films[2].pk})
    _played(user, films[0])
    assert _first(user) == films[1].pk
    _played(user, films[1], touch=False)
    assert _first(user) == films[1].pk  # the stamp is unchanged: the cached list is current
    lists.touch([user.pk])
    found = lists.for_person(user, Kind.FILM, 10)
    assert _ids(found)[0] == films[2].pk
    assert not {films[0].pk, films[1].pk} & set(_ids(found))


def test_a_new_active_version_computes_the_list_again(user, films, serving_model):
    first = serving_model(films, follows={films[0].pk: films[1].pk})
    _played(user, films[0])
    found = lists.for_person(user, Kind.FILM, 10)
    assert (found.model_version, _ids(found)[0]) == (first.label, films[1].pk)

    second = serving_model(films, follows={films[0].pk: films[2].pk})
    found = lists.for_person(user, Kind.FILM, 10)
    assert (found.model_version, _ids(found)[0]) == (second.label, films[2].pk)
    assert found.entries[0].reason == "Because you played Film 0"


def test_a_lost_stamp_computes_the_list_again(user, films, serving_model):
    serving_model(films, follows={films[0].pk: films[1].pk, films[1].pk: films[2].pk})
    _played(user, films[0])
    assert _first(user) == films[1].pk
    _played(user, films[1], touch=False)
    cache.delete(lists.stamp_key(user.pk))  # evicted, or expired
    assert _first(user) == films[2].pk


def test_an_event_during_a_computation_shows_in_the_next_read(
    user, films, serving_model, monkeypatch
):
    serving_model(films, follows={films[0].pk: films[1].pk, films[1].pk: films[2].pk})
    _played(user, films[0])
    compute = personal.compute

    def racing(user_id):
        found = compute(user_id)  # the history is read...
        monkeypatch.setattr(personal, "compute", compute)
        _played(user, films[1])  # ...then an event commits and touches before the list is cached
        return found

    monkeypatch.setattr(personal, "compute", racing)
    assert _first(user) == films[1].pk  # computed before the event
    assert _first(user) == films[2].pk  # cached under the old stamp: not current, computed again


def test_forget_removes_every_key_of_the_person(user, films, serving_model):
    serving_model(films, follows={films[0].pk: films[1].pk})
    _played(user, films[0])
    lists.for_kinds(user, list(Kind.values), 5)
    keys = lists.read_keys(user.pk, list(Kind.values))
    assert set(cache.get_many(keys)) == set(keys)  # the switch, the stamp, a list a kind

    lists.forget(user.pk)
    assert cache.get_many(keys) == {}
    assert _first(user) == films[1].pk  # and the next read computes them again


def test_a_person_without_history_gets_the_popular_list(user, films, serving_model):
    serving_model(films, follows={films[0].pk: films[1].pk})
    for item in (films[3], films[3], films[4]):
        PlayFactory(item=item)
    found = lists.for_person(user, Kind.FILM, 10)
    assert found == lists.popular(Kind.FILM, 10)
    assert (found.personalised, found.model_version) == (False, "popular")
    assert _ids(found) == [films[3].pk, films[4].pk]


def test_without_an_active_model_a_person_sees_popular_items_less_their_own(user, films):
    for item in (films[0], films[0], films[1], films[2]):
        PlayFactory(item=item)
    _played(user, films[0])
    found = lists.for_person(user, Kind.FILM, 10)
    assert (found.personalised, found.model_version) == (False, "popular")
    assert _ids(found) == [films[1].pk, films[2].pk]
    assert all(e.reason.startswith("Popular in films") for e in found.entries)
    assert films[0].pk in _ids(lists.popular(Kind.FILM, 10))  # what a new person sees


def test_personalisation_off_gives_the_popular_list(user, films, serving_model):
    serving_model(films, follows={films[0].pk: films[1].pk})
    PlayFactory(item=films[4])
    _played(user, films[0])
    assert lists.for_person(user, Kind.FILM, 10).personalised is True

    privacy = user.privacy
    privacy.personalised = False
    privacy.save()
    found = lists.for_person(user, Kind.FILM, 10)
    assert found == lists.popular(Kind.FILM, 10)
    assert found.personalised is False

    privacy.personalised = True
    privacy.save()
    assert _first(user) == films[1].pk


def test_a_kind_the_model_offers_nothing_of_is_popular_less_the_persons_own(
    user, films, serving_model
):
    games = [ItemFactory(kind=Kind.GAME) for _ in range(3)]
    for game in (games[0], games[0], games[1]):
        RatingFactory(item=game, user=UserFactory())
    serving_model(films, follows={films[0].pk: films[1].pk})  # a model of films only
    _played(user, films[0], games[0])
    found = lists.for_kinds(user, [Kind.FILM, Kind.GAME], 10)
    assert found[Kind.FILM].personalised is True
    assert (found[Kind.GAME].personalised, found[Kind.GAME].model_version) == (False, "popular")
    assert _ids(found[Kind.GAME]) == [games[1].pk]
    assert _ids(lists.popular(Kind.GAME, 10)) == [games[0].pk, games[1].pk]  # a new person's


def test_with_the_cache_down_every_read_computes(user, films, serving_model, settings):
    serving_model(films, follows={films[0].pk: films[1].pk, films[1].pk: films[2].pk})
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens here
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    _played(user, films[0])  # the touch is lost
    assert _first(user) == films[1].pk
    _played(user, films[1])
    assert _first(user) == films[2].pk


def test_popular_ranks_by_activity_and_says_why():
    busy, quiet, unseen = ItemFactory(), ItemFactory(), ItemFactory()
    for _ in range(3):
        PlayFactory(item=busy)
        RatingFactory(item=busy, user=UserFactory())
    PlayFactory(item=quiet)
    result = lists.popular("film", 10)
    ids = [e.item_id for e in result.entries]
    assert ids[:2] == [busy.pk, quiet.pk]
    assert unseen.pk not in ids
    assert not result.personalised
    assert result.entries[0].reason == "Popular in films, rated 4.0★ on average"
    assert result.entries[1].reason == "Popular in films"
