"""Snapshots hold exactly what people allow to train the models."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from entertainment.accounts.privacy import change_settings
from recommender.models import SnapshotMember
from recommender.snapshot import INTERACTIONS, ITEMS, REVIEWS, kind_hash, take_snapshot
from tests.factories import (
    GenreFactory,
    ItemFactory,
    PlayFactory,
    RatingFactory,
    ReviewFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _rows(snapshot, name):
    with (Path(snapshot.path) / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _history(user, item):
    PlayFactory(user=user, item=item)
    RatingFactory(user=user, item=item)
    ReviewFactory(user=user, item=item)


@pytest.mark.parametrize("signal", ["plays", "ratings", "reviews"])
def test_each_switch_removes_exactly_that_signal(signal):
    keeper, refuser = UserFactory(), UserFactory()
    item = ItemFactory()
    _history(keeper, item)
    _history(refuser, item)
    for person in (keeper, refuser):  # reviews train only by choice: both opt in first
        change_settings(person, train_on_reviews=True)
    change_settings(refuser, **{f"train_on_{signal}": False})

    snapshot = take_snapshot()
    interactions = _rows(snapshot, INTERACTIONS)
    reviews = _rows(snapshot, REVIEWS)
    refuser_id = str(refuser.pk)
    # A play has weight 1 (its count); a rating has its stars (4.0 from the factory).
    refuser_plays = [r for r in interactions if r["user"] == refuser_id and r["weight"] == "1"]
    refuser_ratings = [r for r in interactions if r["user"] == refuser_id and r["weight"] == "4.0"]
    refuser_reviews = [r for r in reviews if r["user"] == refuser_id]
    assert len(refuser_plays) == (0 if signal == "plays" else 1)
    assert len(refuser_ratings) == (0 if signal == "ratings" else 1)
    assert len(refuser_reviews) == (0 if signal == "reviews" else 1)
    keeper_rows = [r for r in interactions if r["user"] == str(keeper.pk)]
    assert len(keeper_rows) == 2


def test_people_who_refuse_everything_are_not_members():
    person = UserFactory()
    _history(person, ItemFactory())
    privacy = person.privacy
    privacy.train_on_plays = privacy.train_on_ratings = privacy.train_on_reviews = False
    privacy.save()
    snapshot = take_snapshot()
    assert not SnapshotMember.objects.filter(snapshot=snapshot, user=person).exists()
    assert snapshot.counts["people"] == 0


def test_hash_changes_only_with_the_data_of_that_kind():
    person = UserFactory()
    _history(person, ItemFactory())
    first = take_snapshot()
    second = take_snapshot()
    assert kind_hash(first, "sequence") == kind_hash(second, "sequence")
    PlayFactory(user=person)
    third = take_snapshot()
    assert kind_hash(third, "sequence") != kind_hash(second, "sequence")
    assert kind_hash(third, "sentiment") == kind_hash(second, "sentiment")


def test_reviews_stay_out_until_the_person_opts_in():
    person = UserFactory()
    ReviewFactory(user=person)
    assert _rows(take_snapshot(), REVIEWS) == []
    change_settings(person, train_on_reviews=True)
    assert [r["user"] for r in _rows(take_snapshot(), REVIEWS)] == [str(person.pk)]


def test_items_of_the_history_go_in_with_their_title_genres_and_year():
    noir, drama = GenreFactory(slug="noir"), GenreFactory(slug="drama")
    played = ItemFactory(title="Out of the Past", year=1947, genres=[noir, drama])
    rated = ItemFactory(title="Untitled, with a comma", year=None)
    ItemFactory(genres=[noir])  # in no one's history
    person = UserFactory()
    PlayFactory(user=person, item=played)
    RatingFactory(user=person, item=rated)
    rows = _rows(take_snapshot(), ITEMS)
    assert rows == [
        {
            "item": str(played.pk),
            "title": "Out of the Past",
            "genres": "drama|noir",
            "year": "1947",
        },
        {"item": str(rated.pk), "title": "Untitled, with a comma", "genres": "", "year": ""},
    ]
