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

from entertainment.accounts.erasure import erase_account, erase_history
from entertainment.accounts.export import build
from entertainment.accounts.models import DataExport, ErasureRequest, SettingChange, User
from entertainment.accounts.privacy import change_settings
from entertainment.activity.models import Play, Rating, Review
from recommender import lists, registry
from recommender.models import ModelVersion, Recommendation, SnapshotMember
from recommender.realtime import up_next_key
from recommender.snapshot import INTERACTIONS, take_snapshot
from tests.factories import ItemFactory, PlayFactory, RatingFactory, ReviewFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()


def _model_dir(tmp: Path, name: str) -> str:
    directory = Path(settings.MODEL_DIR) / name
    directory.mkdir(parents=True)
    (directory / "meta.json").write_text("{}")
    return str(directory)


def _person_with_everything(django_capture_on_commit_callbacks):
    person = UserFactory()
    items = [ItemFactory() for _ in range(3)]
    for item in items:
        PlayFactory(user=person, item=item)
        RatingFactory(user=person, item=item)
    ReviewFactory(user=person, item=items[0])
    change_settings(person, review_visibility="private")
    with django_capture_on_commit_callbacks(execute=True):
        lists.store(person.pk, {"film": [lists.Entry(items[1].pk, 0.5, "r")]}, "sequence-v1")
    cache.set(up_next_key(person.pk), [], 60)
    snapshot = take_snapshot()
    version = registry.activate(
        ModelVersion.objects.create(
            kind="sequence",
            path=_model_dir(Path(settings.MODEL_DIR), "v1"),
            snapshot=snapshot,
            main_metric="ndcg@10",
            main_metric_value=0.1,
        )
    )
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
    person, _, version = _person_with_everything(django_capture_on_commit_callbacks)
    person_id, snapshot_dir = person.pk, Path(version.snapshot.path)
    assert _rows_referring_to(person_id)  # the check can see rows when there are some

    with django_capture_on_commit_callbacks(execute=True):
        erase_account(person)

    assert not User.objects.filter(pk=person_id).exists()
    assert _rows_referring_to(person_id) == {}
    assert cache.get(lists.cache_key(person_id, "film")) is None
    assert cache.get(up_next_key(person_id)) is None
    version.refresh_from_db()
    assert version.needs_retrain_since is not None
    assert registry.due_for_erasure_retrain() == []  # within the 24 h window, not yet due
    assert not snapshot_dir.exists()  # the snapshot files held the person's rows
    later = take_snapshot()
    text = (Path(later.path) / INTERACTIONS).read_text()
    assert all(line.split(",")[0] != str(person_id) for line in text.splitlines()[1:])


def test_history_erasure_of_chosen_items(django_capture_on_commit_callbacks):
    person, items, version = _person_with_everything(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        erasure = erase_history(person, item_ids=[items[0].pk])
    assert not Play.objects.filter(user=person, item=items[0]).exists()
    assert not Review.objects.filter(user=person).exists()  # the only review was of items[0]
    assert Play.objects.filter(user=person).count() == 2
    assert erasure.rows_deleted == 3
    assert erasure.pending_versions == [version.pk]
    assert erasure.models_clean_at is None


def test_retraining_settles_the_erasure_and_old_version_cannot_return(
    django_capture_on_commit_callbacks, settings
):
    person, _, old = _person_with_everything(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        erasure = erase_history(person)
    settings.ERASURE_RETRAIN_WINDOW_H = 0
    assert registry.due_for_erasure_retrain() == ["sequence"]
    old.refresh_from_db()
    new = ModelVersion.objects.create(
        kind="sequence", path=_model_dir(Path(settings.MODEL_DIR), "v2"), main_metric="ndcg@10"
    )
    assert registry.passes_policy(new, old)  # a worse metric still replaces erased data
    registry.activate(new)
    erasure.refresh_from_db()
    assert erasure.models_clean_at is not None and erasure.pending_versions == []
    assert registry.due_for_erasure_retrain() == []
    with pytest.raises(registry.CannotActivate):
        registry.activate(old)
    assert registry.previous_version("sequence") is None


def test_personalisation_off_deletes_stored_lists(django_capture_on_commit_callbacks):
    person, _, _ = _person_with_everything(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        change_settings(person, personalised=False)
    assert not Recommendation.objects.filter(user=person).exists()
    assert cache.get(lists.cache_key(person.pk, "film")) is None
    assert cache.get(up_next_key(person.pk)) is None
    assert not lists.for_person(person, "film", 10).personalised


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


def test_export_holds_every_row_table_by_table(django_capture_on_commit_callbacks):
    person, _, version = _person_with_everything(django_capture_on_commit_callbacks)
    export = build(DataExport.objects.create(user=person))
    assert export.status == DataExport.Status.READY and export.expires_at is not None
    assert str(settings.MEDIA_ROOT) not in export.archive.path
    with export.archive.open("rb") as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    document = json.loads(archive.read("encore-export.json"))
    assert document["counts"]["ratings"] == Rating.objects.filter(user=person).count()
    assert document["counts"]["plays"] == Play.objects.filter(user=person).count()
    assert document["counts"]["reviews"] == Review.objects.filter(user=person).count()
    assert (
        document["counts"]["setting_changes"] == SettingChange.objects.filter(user=person).count()
    )
    assert (
        document["counts"]["recommendations"] == Recommendation.objects.filter(user=person).count()
    )
    assert [v["version"] for v in document["model_versions_trained_with_my_data"]] == [
        version.label
    ]
    assert document["profile"][0]["username"] == person.username
    assert {"ratings.csv", "plays.csv", "reviews.csv"} <= set(archive.namelist())
    assert archive.read("plays.csv").decode().count("\n") == 1 + 3


def test_erasure_request_row_is_the_persons_own():
    person = UserFactory()
    erase_history(person)
    assert ErasureRequest.objects.get(user=person).models_clean_at is not None
    assert not SnapshotMember.objects.filter(user=person).exists()


def test_no_redis_key_names_an_erased_person(settings, django_capture_on_commit_callbacks):
    """Against the real Redis of the PostgreSQL pass: lists, up-next and throttle counters."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (set REDIS_URL)")
    import re
    import uuid

    import redis
    from django.core.cache import caches
    from rest_framework.test import APIClient

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
    person, _, _ = _person_with_everything(django_capture_on_commit_callbacks)
    client = APIClient()
    client.force_authenticate(person)
    assert client.get("/api/recommendations/?kind=film").status_code == 200
    server = redis.Redis.from_url(settings.REDIS_URL)
    names = re.compile(rf"(^|[:_]){person.pk}($|[:_])")

    def naming() -> list[str]:
        keys = [k.decode() for k in server.scan_iter(f"{prefix}:*")]
        return [k for k in keys if names.search(k.split(":", 2)[-1])]

    assert naming()  # the person's lists, up-next and throttle counter are there
    with django_capture_on_commit_callbacks(execute=True):
        erase_account(person)
    assert naming() == []
    caches["default"].clear()
