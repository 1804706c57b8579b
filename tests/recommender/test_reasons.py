"""Reasons in words: what a card says about why an item is there, with titles, not item ids."""

from __future__ import annotations

import pytest

from entertainment.catalogue.models import Kind
from ml.ranking import Reason
from recommender import reasons
from tests.factories import ItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def titles():
    played, looked = ItemFactory(title="Night Ransom"), ItemFactory(title="Blue Hour")
    return played.pk, looked.pk, reasons.titles([played.pk, looked.pk])


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        (lambda p, q: Reason("played", item=str(p)), "Because you played Night Ransom"),
        (lambda p, q: Reason("looks_like", item=str(q)), "Looks like Blue Hour"),
        (lambda p, q: Reason("similar", item=str(q)), "Looks like Blue Hour"),
        (
            lambda p, q: Reason("co_played", item=str(p), people=3),
            "3 fans of Night Ransom played it",
        ),
        (lambda p, q: Reason("genre", genre="science-fiction"), "Popular in science fiction"),
        (lambda p, q: Reason("genre"), "Popular in the whole catalogue"),
        (lambda p, q: Reason("popular"), "Popular in the whole catalogue"),
    ],
    ids=["played", "looks_like", "similar", "co_played", "genre", "no-genre", "popular"],
)
def test_each_reason_in_words(titles, reason, words):
    played, looked, found = titles
    assert reasons.words(reason(played, looked), found) == words


def test_cited_items_are_the_ids_reasons_name():
    cited = reasons.cited(
        [
            Reason("played", item="7"),
            Reason("co_played", item="9", people=2),
            Reason("genre", genre="jazz"),
            Reason("popular"),
            Reason("played", item="not-an-id"),
        ]
    )
    assert cited == {7, 9}


def test_titles_of_items_fetched_at_once(django_assert_num_queries):
    a, b = ItemFactory(title="Alien"), ItemFactory(title="Blue")
    with django_assert_num_queries(1):
        assert reasons.titles([a.pk, b.pk, a.pk, 999_999]) == {a.pk: "Alien", b.pk: "Blue"}


@pytest.mark.parametrize(
    ("kind", "average", "words"),
    [
        (Kind.FILM, 4.5, "Popular in films, rated 4.5★ on average"),
        (Kind.MUSIC, 3.84, "Popular in music, rated 3.8★ on average"),
        (Kind.GAME, None, "Popular in games"),
    ],
)
def test_popular_lists_say_so_with_their_average(kind, average, words):
    assert reasons.popular(kind, average) == words
