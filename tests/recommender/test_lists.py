"""Stored lists: written to the database and the cache, read from either, forgotten at once."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from recommender import lists
from recommender.models import Recommendation
from tests.factories import ItemFactory, PlayFactory, RatingFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def test_store_then_read_from_cache_and_database(django_capture_on_commit_callbacks):
    person = UserFactory()
    a, b = ItemFactory(), ItemFactory()
    with django_capture_on_commit_callbacks(execute=True):
        lists.store(
            person.pk,
            {"film": [lists.Entry(a.pk, 0.9, "because you played X"), lists.Entry(b.pk, 0.5, "r")]},
            "sequence-v1",
        )
    from_cache = lists.stored(person.pk, "film")
    assert from_cache is not None and [e.item_id for e in from_cache.entries] == [a.pk, b.pk]
    cache.clear()
    from_db = lists.stored(person.pk, "film")
    assert from_db is not None and from_db.entries == from_cache.entries
    assert from_db.model_version == "sequence-v1"


def test_forget_removes_rows_and_cache(django_capture_on_commit_callbacks):
    person = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        lists.store(person.pk, {"film": [lists.Entry(ItemFactory().pk, 1.0, "r")]}, "v")
    lists.forget(person.pk)
    assert not Recommendation.objects.filter(user=person).exists()
    assert cache.get(lists.cache_key(person.pk, "film")) is None
    assert lists.stored(person.pk, "film") is None


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
    assert "Popular in films" in result.entries[0].reason
