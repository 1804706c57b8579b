""" "Not for me": the item leaves every list of the person at once, teaches the ranking and the
training snapshot, and comes back when taken back."""

from __future__ import annotations

import csv
import itertools
import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from entertainment.accounts.privacy import change_settings
from entertainment.activity import recording
from entertainment.activity.models import Dismissal
from entertainment.catalogue.models import Kind
from recommender import lists, personal, realtime, serving, shelves
from recommender.models import SnapshotMember
from recommender.snapshot import DISMISSALS, REVIEWS, kind_hash, take_snapshot
from tests.factories import ItemFactory, PlayFactory, RatingFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_lists")]

_START = timezone.now() - timedelta(days=1)
_step = itertools.count()


def _played(user, *items):
    for item in items:
        PlayFactory(user=user, item=item, started_at=_START + timedelta(seconds=next(_step)))
    lists.touch([user.pk])  # factories send no signal: what the receivers do after an event


def _ids(entries):
    return [e.item_id for e in entries]


def _dismiss(user, item, capture):
    with capture(execute=True):  # the receivers run after commit
        recording.record_dismissal(user, item)


def _undo(user, item, capture):
    with capture(execute=True):
        recording.undo_dismissal(user, item.pk)


def _with_feedback(version, weight=1.0):
    """The planted model, with the blend's item-kNN feedback weighed in (the planted one
    leaves it out)."""
    meta = Path(version.path) / "meta.json"
    data = json.loads(meta.read_text())
    data["weights"]["feedback"] = weight
    meta.write_text(json.dumps(data))
    serving.forget_active()
    return version


def test_not_for_me_leaves_every_list_at_once_and_comes_back(
    client, user, serving_model, django_capture_on_commit_callbacks
):
    seed, gone, *others = ItemFactory.create_batch(8, kind=Kind.FILM)
    serving_model(
        [seed, gone, *others],
        follows={seed.pk: gone.pk},
        popular=[gone.pk, *(o.pk for o in others)],
        co_played={seed.pk: [(gone.pk, 3), *((o.pk, 2) for o in others[:3])]},
    )
    _played(user, seed)
    for_you = lists.for_person(user, Kind.FILM, 10)
    assert gone.pk in _ids(for_you.entries)
    assert gone.pk in _ids(realtime.up_next(user.pk))

    _dismiss(user, gone, django_capture_on_commit_callbacks)

    assert gone.pk not in _ids(lists.for_person(user, Kind.FILM, 10).entries)
    assert gone.pk not in _ids(realtime.up_next(user.pk))
    client.force_login(user)
    api = client.get(reverse("recommendations"), {"kind": "film"}).json()
    assert gone.pk not in [r["item"]["id"] for r in api["results"]]
    similar = client.get(reverse("item-similar", kwargs={"pk": seed.pk})).json()
    assert gone.pk not in [r["item"]["id"] for r in similar["results"]]
    panels = shelves.item_panels(seed, user, client.session)
    assert all(card.item.pk != gone.pk for shelf in panels.shelves for card in shelf.cards)

    _undo(user, gone, django_capture_on_commit_callbacks)
    assert gone.pk in _ids(lists.for_person(user, Kind.FILM, 10).entries)
    assert gone.pk in _ids(realtime.up_next(user.pk))


def test_not_for_me_leaves_the_popular_lists_of_a_person_with_personalisation_off(
    user, django_capture_on_commit_callbacks
):
    items = ItemFactory.create_batch(4, kind=Kind.GAME)
    for n, item in enumerate(items):
        for _ in range(4 - n):
            RatingFactory(item=item)
    change_settings(user, personalised=False)
    user.refresh_from_db()
    assert _ids(lists.for_person(user, Kind.GAME, 3).entries) == [i.pk for i in items[:3]]
    _dismiss(user, items[0], django_capture_on_commit_callbacks)
    # Still the popular list, still full: read one deeper.
    assert _ids(lists.for_person(user, Kind.GAME, 3).entries) == [i.pk for i in items[1:]]


def test_negative_feedback_moves_what_is_like_it_down(
    user, serving_model, django_capture_on_commit_callbacks
):
    seed, disliked, lookalike, *others = ItemFactory.create_batch(9, kind=Kind.FILM)
    version = serving_model(
        [seed, disliked, lookalike, *others],
        popular=[lookalike.pk, disliked.pk, *(o.pk for o in others)],
        co_played={disliked.pk: [(lookalike.pk, 3)]},
    )
    _with_feedback(version)
    _played(user, seed)
    before = _ids(lists.for_person(user, Kind.FILM, 10).entries)
    assert before[0] == lookalike.pk  # the most popular

    _dismiss(user, disliked, django_capture_on_commit_callbacks)
    found = personal.history(user.pk)
    assert found.feedback[found.items.index(str(disliked.pk))] == pytest.approx(-2.0)
    after = _ids(lists.for_person(user, Kind.FILM, 10).entries)
    assert disliked.pk not in after
    assert after.index(lookalike.pk) > before.index(lookalike.pk)


def test_a_dismissal_outweighs_a_review_of_the_same_item(user):
    item = ItemFactory()
    PlayFactory(user=user, item=item)
    Dismissal.objects.create(user=user, item=item)
    found = personal.history(user.pk)
    assert found.feedback == [pytest.approx(-2.0)]
    assert personal.owned(user.pk) == {item.pk}


def test_stored_while_the_history_is_paused(user):
    change_settings(user, history_paused=True)
    user.refresh_from_db()
    item = ItemFactory()
    first = recording.record_dismissal(user, item)
    again = recording.record_dismissal(user, item)
    assert first.created and first.stored
    assert again.row is not None and again.row.pk == first.row.pk and not again.created
    assert recording.undo_dismissal(user, item.pk) is True
    assert recording.undo_dismissal(user, item.pk) is False


def _rows(snapshot, name):
    with (Path(snapshot.path) / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_snapshot_exports_dismissals_as_negative_feedback_where_ratings_may_train():
    keeper, refuser = UserFactory(), UserFactory()
    item = ItemFactory()
    for person in (keeper, refuser):
        PlayFactory(user=person, item=item)
        Dismissal.objects.create(user=person, item=item)
    change_settings(refuser, train_on_ratings=False)

    snapshot = take_snapshot()
    rows = _rows(snapshot, DISMISSALS)
    assert rows == [{"user": str(keeper.pk), "item": str(item.pk), "text": "", "rating": "0.5"}]
    # Never among the reviews the sentiment model reads.
    assert _rows(snapshot, REVIEWS) == []
    assert snapshot.counts["dismissals"] == 1
    members = SnapshotMember.objects.filter(snapshot=snapshot).values_list("user_id", flat=True)
    assert set(members) == {keeper.pk, refuser.pk}  # the refuser's play went in

    # The sequence model's inputs change with a dismissal; the sentiment model's do not.
    other = ItemFactory()
    Dismissal.objects.create(user=keeper, item=other)
    later = take_snapshot()
    assert kind_hash(later, "sequence") != kind_hash(snapshot, "sequence")
    assert kind_hash(later, "sentiment") == kind_hash(snapshot, "sentiment")


def test_training_reads_the_dismissals_as_the_most_negative_reviews(tmp_path):
    from ml.data import read_reviews
    from ml.hybrid import feedback_weights

    keeper = UserFactory()
    item = ItemFactory()
    PlayFactory(user=keeper, item=item)
    Dismissal.objects.create(user=keeper, item=item)
    snapshot = take_snapshot()
    reviews = read_reviews(Path(snapshot.path) / DISMISSALS)
    user, key = str(keeper.pk), str(item.pk)
    weights = feedback_weights({user: []}, reviews, None)
    assert weights[(user, key)] == pytest.approx(-2.0)
    assert Path(settings.SNAPSHOT_DIR) in Path(snapshot.path).parents
