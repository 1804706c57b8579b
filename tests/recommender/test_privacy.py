"""Each privacy promise, tested where the data lives: tables, cache, snapshots and models."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import models
from rest_framework.test import APIClient

from entertainment.accounts.erasure import erase_account, erase_history
from entertainment.accounts.export import build
from entertainment.accounts.models import DataExport, ErasureRequest, SettingChange, User
from entertainment.accounts.privacy import change_settings
from entertainment.activity.models import Play, Rating, Review
from entertainment.catalogue.models import Item, Kind
from recommender import lists, realtime, registry, serving
from recommender.models import ModelVersion, SnapshotMember
from recommender.realtime import up_next_key
from recommender.snapshot import INTERACTIONS, take_snapshot
from tests.factories import ItemFactory, PlayFactory, RatingFactory, ReviewFactory, UserFactory
from tests.recommender.serving_model import write_model

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    serving.forget_active()  # the active versions are looked up again in every test
    yield
    serving.forget_active()


def _model_dir(name: str, items=()) -> str:
    """A version's directory: a planted serving model over `items` (tests/recommender/
    serving_model.py), or only a meta.json when nothing reads it."""
    directory = Path(settings.MODEL_DIR) / name
    if items:
        write_model(directory, [i.pk for i in items])
    else:
        directory.mkdir(parents=True)
        (directory / "meta.json").write_text("{}")
    return str(directory)


def _keys_of(user_id: int) -> set[str]:
    """Every cache key the recommender keeps about a person: their lists of each kind, their
    stamp, their cached personalisation switch and their up-next list."""
    return {
        *(lists.cache_key(user_id, kind) for kind in Kind.values),
        lists.stamp_key(user_id),
        lists.personalised_key(user_id),
        up_next_key(user_id),
    }


def _cached(user_id: int) -> set[str]:
    return {key for key in _keys_of(user_id) if cache.get(key) is not None}


def _own_lists(person) -> dict[str, lists.RecommendationList]:
    return lists.for_kinds(person, list(Kind.values), settings.RECOMMENDATIONS_PER_KIND)


def _person_with_everything():
    """A person with plays, ratings and a private review, a snapshot and an active version
    trained on it, and their lists and up-next read once (so cached)."""
    person = UserFactory()
    items = [ItemFactory(title=f"Owned {n}") for n in range(3)]
    unplayed = [ItemFactory(kind=kind, title=f"Unplayed {kind}") for kind in Kind.values]
    for item in items:
        PlayFactory(user=person, item=item)
        RatingFactory(user=person, item=item)
    ReviewFactory(user=person, item=items[0])
    change_settings(person, review_visibility="private")
    lists.touch([person.pk])  # factories send no signal: the stamp their events replace
    snapshot = take_snapshot()
    version = registry.activate(
        ModelVersion.objects.create(
            kind="sequence",
            path=_model_dir("v1", [*items, *unplayed]),
            snapshot=snapshot,
            main_metric="ndcg@10",
            main_metric_value=0.1,
        )
    )
    serving.forget_active()
    found = _own_lists(person)
    assert all(f.personalised and f.model_version == version.label for f in found.values())
    assert realtime.up_next(person.pk)
    return person, items, version


def _rows_referring_to(user_id: int) -> dict[str, int]:
    found = {}
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if (
                isinstance(field, models.ForeignKey | models.OneToOneField)
                and field.related_model is User
            ):
                count = model._default_manager.filter(**{field.name: user_id}).count()
                if count:
                    found[f"{model._meta.label}.{field.name}"] = count
    return found


def test_account_erasure_leaves_no_row_no_cache_key_and_marks_models(
    django_capture_on_commit_callbacks,
):
    person, _, version = _person_with_everything()
    person_id, snapshot_dir = person.pk, Path(version.snapshot.path)
    assert _rows_referring_to(person_id)  # the check can see rows when there are some
    assert _cached(person_id) == _keys_of(person_id)  # and cache keys when there are some

    with django_capture_on_commit_callbacks(execute=True):
        erase_account(person)

    assert not User.objects.filter(pk=person_id).exists()
    assert _rows_referring_to(person_id) == {}
    assert _cached(person_id) == set()  # lists, stamp, switch and up next: all gone
    version.refresh_from_db()
    assert version.needs_retrain_since is not None
    assert registry.due_for_erasure_retrain() == []  # within the 24 h window, not yet due
    assert not snapshot_dir.exists()  # the snapshot files held the person's rows
    later = take_snapshot()
    text = (Path(later.path) / INTERACTIONS).read_text()
    assert all(line.split(",")[0] != str(person_id) for line in text.splitlines()[1:])


def test_history_erasure_of_chosen_items(django_capture_on_commit_callbacks):
    person, items, version = _person_with_everything()
    with django_capture_on_commit_callbacks(execute=True):
        erasure = erase_history(person, item_ids=[items[0].pk])
    assert not Play.objects.filter(user=person, item=items[0]).exists()
    assert not Review.objects.filter(user=person).exists()  # the only review was of items[0]
    assert Play.objects.filter(user=person).count() == 2
    assert erasure.rows_deleted == 3
    assert erasure.pending_versions == [version.pk]
    assert erasure.models_clean_at is None
    # Nothing computed from the erased rows stays: the next lists know nothing of the item.
    assert not _cached(person.pk) & {lists.cache_key(person.pk, k) for k in Kind.values}
    assert cache.get(up_next_key(person.pk)) is None
    found = _own_lists(person)
    assert all(f.personalised for f in found.values())
    assert not any(items[0].title in e.reason for f in found.values() for e in f.entries)
    assert items[0].pk in {e.item_id for e in found["film"].entries}  # no longer theirs


def test_retraining_settles_the_erasure_and_old_version_cannot_return(
    django_capture_on_commit_callbacks, settings
):
    person, _, old = _person_with_everything()
    with django_capture_on_commit_callbacks(execute=True):
        erasure = erase_history(person)
    settings.ERASURE_RETRAIN_WINDOW_H = 0
    assert registry.due_for_erasure_retrain() == ["sequence"]
    old.refresh_from_db()
    new = ModelVersion.objects.create(kind="sequence", path=_model_dir("v2"), main_metric="ndcg@10")
    assert registry.passes_policy(new, old)  # a worse metric still replaces erased data
    registry.activate(new)
    erasure.refresh_from_db()
    assert erasure.models_clean_at is not None and erasure.pending_versions == []
    assert registry.due_for_erasure_retrain() == []
    with pytest.raises(registry.CannotActivate):
        registry.activate(old)
    assert registry.previous_version("sequence") is None


def test_personalisation_off_forgets_the_lists_and_caches_none(
    client, django_capture_on_commit_callbacks
):
    person, items, _ = _person_with_everything()
    with django_capture_on_commit_callbacks(execute=True):
        change_settings(person, personalised=False)
    assert _cached(person.pk) == set()

    # Every way the person can see recommendations: popular lists, and none of their own
    # is computed or cached.
    found = _own_lists(person)
    assert not any(f.personalised for f in found.values())
    assert {f.model_version for f in found.values()} == {lists.NON_PERSONAL}
    api = APIClient()
    api.force_authenticate(person)
    body = api.get("/api/recommendations/").json()
    assert body["personalised"] is False
    assert not any(r["reason"].startswith("Because you played") for r in body["results"])
    client.force_login(person)
    for url in ("/", items[1].get_absolute_url()):
        page = client.get(url)
        assert page.status_code == 200
        assert "Because you played" not in page.content.decode()
        assert "Up next" not in page.content.decode()
    own = {lists.cache_key(person.pk, k) for k in Kind.values} | {up_next_key(person.pk)}
    assert not _cached(person.pk) & own

    # Switched on again: their own lists, computed on the next read.
    with django_capture_on_commit_callbacks(execute=True):
        change_settings(person, personalised=True)
    assert all(f.personalised for f in _own_lists(person).values())


def test_every_change_of_a_setting_is_recorded():
    person = UserFactory()
    change_settings(person, history_paused=True, train_on_reviews=True)
    change_settings(person, history_paused=True)  # no change, no record
    changes = {
        (c.setting, c.old_value, c.new_value) for c in SettingChange.objects.filter(user=person)
    }
    assert changes == {("history_paused", "off", "on"), ("train_on_reviews", "off", "on")}
    with pytest.raises(ValueError):
        change_settings(person, is_staff=True)


def _exported(person) -> tuple[dict, zipfile.ZipFile]:
    export = build(DataExport.objects.create(user=person))
    assert export.status == DataExport.Status.READY and export.expires_at is not None
    assert str(settings.MEDIA_ROOT) not in export.archive.path
    with export.archive.open("rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    return json.loads(archive.read("encore-export.json")), archive


def test_export_holds_every_row_table_by_table():
    person, _, version = _person_with_everything()
    document, archive = _exported(person)
    assert document["counts"]["ratings"] == Rating.objects.filter(user=person).count()
    assert document["counts"]["plays"] == Play.objects.filter(user=person).count()
    assert document["counts"]["reviews"] == Review.objects.filter(user=person).count()
    assert (
        document["counts"]["setting_changes"] == SettingChange.objects.filter(user=person).count()
    )
    assert [v["version"] for v in document["model_versions_trained_with_my_data"]] == [
        version.label
    ]
    assert document["profile"][0]["username"] == person.username
    assert {"ratings.csv", "plays.csv", "reviews.csv", "recommendations.csv"} <= set(
        archive.namelist()
    )
    assert archive.read("plays.csv").decode().count("\n") == 1 + 3


def test_export_holds_the_persons_current_lists():
    person, items, version = _person_with_everything()
    film = ItemFactory(kind="film", title="Played Just Now")
    new_version = registry.activate(
        ModelVersion.objects.create(
            kind="sequence",
            path=_model_dir("v3", Item.objects.all()),
            main_metric="ndcg@10",
        )
    )
    serving.forget_active()
    PlayFactory(user=person, item=film)  # after the lists were cached: the export is current
    lists.touch([person.pk])

    document, archive = _exported(person)
    rows = document["recommendations"]
    expected = [
        (f.kind, rank, e.item_id, e.reason)
        for f in _own_lists(person).values()
        for rank, e in enumerate(f.entries, start=1)
    ]
    assert expected
    assert [(r["kind"], r["rank"], r["item_id"], r["reason"]) for r in rows] == expected
    assert document["counts"]["recommendations"] == len(rows)
    assert {r["model_version"] for r in rows} == {new_version.label} != {version.label}
    owned = {i.pk for i in items} | {film.pk}
    assert not owned & {r["item_id"] for r in rows}
    titles = dict(Item.objects.values_list("pk", "title"))
    assert all(r["item__title"] == titles[r["item_id"]] for r in rows)
    assert archive.read("recommendations.csv").decode().count("\n") == 1 + len(rows)


def test_export_holds_no_lists_while_personalisation_is_off(django_capture_on_commit_callbacks):
    person, _, _ = _person_with_everything()
    with django_capture_on_commit_callbacks(execute=True):
        change_settings(person, personalised=False)
    document, _ = _exported(person)
    assert document["recommendations"] == []
    assert document["counts"]["recommendations"] == 0
    own = {lists.cache_key(person.pk, k) for k in Kind.values}
    assert not _cached(person.pk) & own  # and exporting computed none


def test_erasure_request_row_is_the_persons_own():
    person = UserFactory()
    erase_history(person)
    assert ErasureRequest.objects.get(user=person).models_clean_at is not None
    assert not SnapshotMember.objects.filter(user=person).exists()


def test_no_redis_key_names_an_erased_person(settings, django_capture_on_commit_callbacks):
    """Against the real Redis of the PostgreSQL pass: lists, stamp, switch, up-next and
    throttle counters."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (set REDIS_URL)")
    import re
    import uuid

    import redis
    from django.core.cache import caches

    prefix = f"erasure-test-{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1000/min", "user": "1000/min", "bulk": "1000/min"},
    }
    caches["default"].clear()
    person, _, _ = _person_with_everything()
    client = APIClient()
    client.force_authenticate(person)
    assert client.get("/api/recommendations/?kind=film").status_code == 200
    server = redis.Redis.from_url(settings.REDIS_URL)
    names = re.compile(rf"(^|[:_]){person.pk}($|[:_])")

    def naming() -> list[str]:
        keys = [k.decode() for k in server.scan_iter(f"{prefix}:*")]
        return [k for k in keys if names.search(k.split(":", 2)[-1])]

    # The person's lists, stamp, switch, up-next and throttle counter are there.
    throttle = f"throttle_user_{person.pk}"
    assert _keys_of(person.pk) | {throttle} <= {k.split(":", 2)[-1] for k in naming()}
    with django_capture_on_commit_callbacks(execute=True):
        erase_account(person)
    assert naming() == []
    caches["default"].clear()
