"""Every other way a rating, play or review leaves (issue 12, finding 5) acts on snapshots and
models as an erasure of that row does: the snapshot files holding the person are deleted, the
versions trained on them are marked (the active one retrained within the window, the others
discarded), and a snapshot being written meanwhile is taken again without the row."""

from __future__ import annotations

import csv
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from entertainment.accounts.models import User
from entertainment.activity.models import Play, Rating, Review
from entertainment.catalogue.models import Item
from recommender import registry, snapshot
from recommender.models import ModelVersion, Snapshot
from recommender.snapshot import INTERACTIONS, take_snapshot
from tests.factories import ItemFactory, PlayFactory, RatingFactory, ReviewFactory, UserFactory

pytestmark = pytest.mark.django_db


def _version(name: str, snap, active: bool) -> ModelVersion:
    directory = Path(settings.MODEL_DIR) / name
    directory.mkdir(parents=True)
    (directory / "meta.json").write_text("{}")
    version = ModelVersion.objects.create(
        kind="sequence", path=str(directory), snapshot=snap, main_metric="ndcg@10"
    )
    return registry.activate(version) if active else version


@pytest.fixture
def world():
    """A person with a rating, plays and a review of one item, in a snapshot that an active
    version and a candidate were trained on; someone else's data alongside."""
    person, other = UserFactory(), UserFactory()
    item, elsewhere = ItemFactory(), ItemFactory()
    RatingFactory(user=person, item=item, value=Decimal("4.0"))
    PlayFactory(user=person, item=item)
    PlayFactory(user=person, item=elsewhere)
    ReviewFactory(user=person, item=item)
    PlayFactory(user=other, item=elsewhere)
    snap = take_snapshot()
    candidate = _version("candidate", snap, active=False)
    active = _version("active", snap, active=True)
    return person, item, snap, active, candidate


def _api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _page(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _admin() -> Client:
    client = Client()  # the admin's forms, not JSON
    client.force_login(User.objects.create_superuser("admin", "admin@example.org", "x-pass-1"))
    return client


WAYS: dict[str, Callable[[User, Item], int]] = {
    "API DELETE rating": lambda p, i: (
        _api(p).delete(f"/api/ratings/{Rating.objects.get(user=p, item=i).pk}/").status_code
    ),
    "API PUT rating": lambda p, i: (
        _api(p)
        .put(
            f"/api/ratings/{Rating.objects.get(user=p, item=i).pk}/",
            {"value": "1.0"},
            format="json",
        )
        .status_code
    ),
    "API POST rating of a rated item": lambda p, i: (
        _api(p).post("/api/ratings/", {"item": i.pk, "value": "2.0"}, format="json").status_code
    ),
    "API DELETE play": lambda p, i: (
        _api(p).delete(f"/api/plays/{Play.objects.filter(user=p, item=i).first().pk}/").status_code
    ),
    "API PATCH play": lambda p, i: (
        _api(p)
        .patch(
            f"/api/plays/{Play.objects.filter(user=p, item=i).first().pk}/",
            {"seconds_played": 3},
            format="json",
        )
        .status_code
    ),
    "API DELETE review": lambda p, i: (
        _api(p).delete(f"/api/reviews/{Review.objects.get(user=p, item=i).pk}/").status_code
    ),
    "API PUT review": lambda p, i: (
        _api(p)
        .put(
            f"/api/reviews/{Review.objects.get(user=p, item=i).pk}/",
            {"text": "Changed my mind.", "rating": "1.0"},
            format="json",
        )
        .status_code
    ),
    "admin deletes a rating": lambda p, i: (
        _admin()
        .post(
            f"/admin/activity/rating/{Rating.objects.get(user=p, item=i).pk}/delete/",
            {"post": "yes"},
        )
        .status_code
    ),
    "admin deletes a play": lambda p, i: (
        _admin()
        .post(
            f"/admin/activity/play/{Play.objects.filter(user=p, item=i).first().pk}/delete/",
            {"post": "yes"},
        )
        .status_code
    ),
    "admin changes a rating": lambda p, i: (
        _admin()
        .post(
            f"/admin/activity/rating/{Rating.objects.get(user=p, item=i).pk}/change/",
            {"user": p.pk, "item": i.pk, "value": "1.0", "client_event_id": ""},
        )
        .status_code
    ),
    "bulk ingestion rewrites a rating": lambda p, i: (
        _api(p)
        .post(
            "/api/events/bulk/",
            [{"type": "rating", "client_event_id": "again", "item": i.pk, "value": "1.0"}],
            format="json",
        )
        .status_code
    ),
    "re-rating on the item page": lambda p, i: (
        _page(p).post(f"/me/items/{i.pk}/rate/", {"value": "1.0"}).status_code
    ),
    "rewriting the review on the item page": lambda p, i: (
        _page(p)
        .post(f"/me/items/{i.pk}/review/", {"text": "Changed my mind.", "rating": ""})
        .status_code
    ),
    "staff deletes the item by the API": lambda p, i: (
        _api(User.objects.create_user("editor", password="x-pass-1", is_staff=True))
        .delete(f"/api/items/{i.pk}/")
        .status_code
    ),
    "staff deletes the item in the admin": lambda p, i: (
        _admin().post(f"/admin/catalogue/item/{i.pk}/delete/", {"post": "yes"}).status_code
    ),
}


@pytest.mark.parametrize("way", list(WAYS))
def test_a_row_leaving_acts_on_snapshots_and_models_as_an_erasure(
    way, world, django_capture_on_commit_callbacks
):
    person, item, snap, active, candidate = world
    assert Path(snap.path).exists()
    with django_capture_on_commit_callbacks(execute=True):
        status = WAYS[way](person, item)
    assert status in (200, 204, 302), status

    active.refresh_from_db()
    candidate.refresh_from_db()
    # The active version is retrained within the window; the idle one is discarded now.
    assert active.needs_retrain_since is not None
    assert active.status == ModelVersion.Status.ACTIVE
    assert candidate.needs_retrain_since is not None and candidate.path == ""
    assert not Path(settings.MODEL_DIR, "candidate").exists()
    with pytest.raises(registry.CannotActivate):
        registry.activate(candidate)
    assert not Path(snap.path).exists()  # the files that held the row are gone


def test_a_deletion_while_a_snapshot_is_written_keeps_the_row_out(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    person, item, *_ = world
    rating_id = Rating.objects.get(user=person, item=item).pk
    original = snapshot._export_artwork
    done: list[int] = []

    def export_then_delete(directory: Path) -> int:
        count = original(directory)
        if not done:
            done.append(1)
            with django_capture_on_commit_callbacks(execute=True):
                assert _api(person).delete(f"/api/ratings/{rating_id}/").status_code == 204
        return count

    monkeypatch.setattr(snapshot, "_export_artwork", export_then_delete)
    taken = take_snapshot()
    with (Path(taken.path) / INTERACTIONS).open(newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["user"] == str(person.pk)]
    assert rows and all(r["weight"] != "4.0" for r in rows)  # plays stay, the rating went


def test_a_write_that_changes_nothing_stored_marks_nothing(world):
    """A new play or a first rating adds data: the models are not retrained for it."""
    person, _, _, active, _ = world
    fresh = ItemFactory()
    assert _api(person).post("/api/plays/", {"item": fresh.pk}, format="json").status_code == 201
    assert (
        _api(person).post("/api/ratings/", {"item": fresh.pk, "value": "3.0"}, format="json")
    ).status_code == 201
    active.refresh_from_db()
    assert active.needs_retrain_since is None


def test_a_bulk_batch_sent_again_marks_nothing(world, django_capture_on_commit_callbacks):
    """Clients resend whole batches (idempotent by client_event_id): a rating stored already
    is not a rewrite, and the models are not retrained for it."""
    person, _, _, active, _ = world
    fresh = ItemFactory()
    batch = [{"type": "rating", "client_event_id": "r-1", "item": fresh.pk, "value": "3.0"}]
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            answer = _api(person).post("/api/events/bulk/", batch, format="json")
        assert answer.status_code == 200, answer.content
    assert answer.json()["duplicates"] == 1
    active.refresh_from_db()
    assert active.needs_retrain_since is None


@pytest.mark.django_db(transaction=True)
def test_each_committed_deletion_acts_again():
    """Real commits (no test transaction around them): the second deletion, in its own
    transaction, acts on the snapshot taken after the first."""
    person = UserFactory()
    for item in (ItemFactory(), ItemFactory(), ItemFactory()):
        RatingFactory(user=person, item=item)
        PlayFactory(user=person, item=item)
    UserFactory()
    api = _api(person)
    first = take_snapshot()
    assert (
        api.delete(f"/api/ratings/{Rating.objects.filter(user=person)[0].pk}/").status_code == 204
    )
    assert Snapshot.objects.get(pk=first.pk).erased_at is not None
    assert not Path(first.path).exists()
    second = take_snapshot()
    assert api.delete(f"/api/plays/{Play.objects.filter(user=person)[0].pk}/").status_code == 204
    assert Snapshot.objects.get(pk=second.pk).erased_at is not None
    assert not Path(second.path).exists()
