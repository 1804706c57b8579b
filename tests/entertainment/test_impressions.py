"""Impressions are buffered by requests and written in batches, only for people who allow it.

The buffer here is the process's memory (the tests' cache is per process); the file spool of
the embedded default and Redis are tested below and in tests/recommender/
test_impressions_worker.py.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from entertainment.accounts.erasure import erase_history
from entertainment.accounts.privacy import change_settings
from entertainment.activity import impressions
from entertainment.activity.impressions import Shown
from entertainment.activity.models import Click, Impression
from tests.factories import ClickFactory, ImpressionFactory, ItemFactory, UserFactory

pytestmark = pytest.mark.django_db


def _shown(person, items, list_name="for_you", **extra) -> Shown:
    return Shown(person.pk, list_name, "film", "sequence-v3", [i.pk for i in items], **extra)


def test_a_flush_writes_each_item_with_its_list_version_rank_and_time(user):
    items = ItemFactory.create_batch(3)
    person = user
    person.privacy  # noqa: B018  the row a page or the API creates on first use
    at = time.time() - 30
    impressions.note(
        [_shown(person, items, experiment_id=None, at=at), _shown(person, items[:1], "up_next")]
    )
    assert not Impression.objects.exists()  # nothing written by the request itself

    assert impressions.flush() == 4
    rows = list(Impression.objects.filter(list="for_you").order_by("rank"))
    assert [(r.item_id, r.rank) for r in rows] == [(i.pk, n) for n, i in enumerate(items, 1)]
    assert {(r.kind, r.model_version) for r in rows} == {("film", "sequence-v3")}
    assert abs(rows[0].created_at.timestamp() - at) < 0.01  # when shown, not when written
    assert Impression.objects.get(list="up_next").rank == 1
    assert impressions.flush() == 0  # the buffer was emptied


def test_explicit_ranks_and_the_experiment_arm_are_kept(user):
    a, b = ItemFactory.create_batch(2)
    user.privacy  # noqa: B018
    impressions.note([_shown(user, [a, b], "api", experiment_id=7, arm="b", ranks=[2, 5])])
    impressions.flush()
    assert sorted(Impression.objects.values_list("item_id", "rank", "experiment_id", "arm")) == [
        (a.pk, 2, 7, "b"),
        (b.pk, 5, 7, "b"),
    ]


@pytest.mark.parametrize(
    "change", [{"measure_recommendations": False}, {"history_paused": True}], ids=["off", "paused"]
)
def test_a_person_who_switched_off_or_paused_after_being_shown_gets_nothing(user, change):
    item = ItemFactory()
    user.privacy  # noqa: B018
    impressions.note([_shown(user, [item], at=time.time() - 5)])
    change_settings(user, **change)
    assert impressions.flush() == 0
    assert not Impression.objects.exists()


def test_switching_off_then_on_again_drops_what_was_shown_before(user):
    item = ItemFactory()
    user.privacy  # noqa: B018
    impressions.note([_shown(user, [item], at=time.time() - 5)])
    change_settings(user, measure_recommendations=False)
    change_settings(user, measure_recommendations=True)
    assert impressions.flush() == 0


def test_an_erasure_after_being_shown_drops_what_was_shown_before_it(user):
    item = ItemFactory()
    user.privacy  # noqa: B018
    impressions.note([_shown(user, [item], at=time.time() - 5)])
    erase_history(user)
    assert impressions.flush() == 0


def test_an_erased_account_or_a_deleted_item_is_skipped(user):
    gone_person, item, gone_item = UserFactory(), ItemFactory(), ItemFactory()
    gone_person.privacy  # noqa: B018
    user.privacy  # noqa: B018
    impressions.note([_shown(gone_person, [item]), _shown(user, [gone_item, item])])
    gone_person.delete()
    gone_item.delete()
    assert impressions.flush() == 1
    assert Impression.objects.get().item_id == item.pk


def test_a_failed_write_puts_the_batch_back(user, monkeypatch):
    item = ItemFactory()
    user.privacy  # noqa: B018
    impressions.note([_shown(user, [item])])

    def broken(records):
        raise RuntimeError("database gone")

    monkeypatch.setattr(impressions, "_write", broken)
    with pytest.raises(RuntimeError):
        impressions.flush()
    monkeypatch.undo()
    assert impressions.flush() == 1


def test_a_malformed_record_is_dropped_not_fatal(user):
    item = ItemFactory()
    user.privacy  # noqa: B018
    impressions.buffer().push(["not json", '["x"]', _shown(user, [item]).encode()])
    assert impressions.flush() == 1


def test_the_file_spool_of_the_embedded_default(user, settings, tmp_path):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    settings.IMPRESSION_SPOOL_DIR = tmp_path / "spool"
    items = ItemFactory.create_batch(2)
    user.privacy  # noqa: B018
    impressions.note([_shown(user, items)])
    impressions.note([_shown(user, items[:1], "popular")])
    assert isinstance(impressions.buffer(), impressions._FileBuffer)
    assert impressions.flush() == 3
    assert impressions.flush() == 0
    assert not list((tmp_path / "spool").glob("*.jsonl"))


def test_a_full_buffer_asks_for_a_flush(user, settings, monkeypatch):
    settings.IMPRESSION_FLUSH_AT = 3
    sent = []
    monkeypatch.setattr(
        impressions.tasks.flush_impressions, "apply_async", lambda **kw: sent.append(kw)
    )
    item = ItemFactory()
    impressions.note([_shown(user, [item])] * 2)
    assert sent == []
    impressions.note([_shown(user, [item])] * 2)  # 4 >= 3: once
    impressions.note([_shown(user, [item])])
    assert len(sent) == 1


def test_raw_impressions_and_clicks_expire(user):
    old = timezone.now() - timedelta(days=31)
    ImpressionFactory(user=user, created_at=old)
    kept = ImpressionFactory(user=user)
    click = ClickFactory(user=user)
    Click.objects.filter(pk=click.pk).update(created_at=old)
    ClickFactory(user=user)
    assert impressions.expire() == 2
    assert list(Impression.objects.all()) == [kept]
    assert Click.objects.count() == 1


def test_may_measure_is_cached_and_dropped_on_a_change(user, django_assert_num_queries):
    user.privacy  # noqa: B018
    assert impressions.may_measure(user) is True
    with django_assert_num_queries(0):
        assert impressions.may_measure(user, {impressions.measure_key(user.pk): True})
        assert impressions.may_measure(user)  # from the cache
    change_settings(user, measure_recommendations=False)
    impressions.forget_consent(user.pk)  # on commit, in a request
    assert impressions.may_measure(user) is False


def test_a_process_gathers_records_and_pushes_them_together(user, settings, monkeypatch):
    settings.IMPRESSION_BATCH_S = 60  # the timer never fires during the test: drain() does
    monkeypatch.setattr(impressions, "PENDING_MAX", 3)
    item = ItemFactory()
    pushes: list[int] = []
    real_push = impressions._push

    def counted(store, records):
        pushes.append(len(records))
        real_push(store, records)

    monkeypatch.setattr(impressions, "_push", counted)
    impressions.note([_shown(user, [item])])
    impressions.note([_shown(user, [item])])
    assert pushes == [] and impressions.buffer().take(10) == []
    impressions.note([_shown(user, [item])])  # the third fills the batch: one push of three
    assert pushes == [3]
    impressions.note([_shown(user, [item])])
    impressions.drain()  # the timer's (and a flush's, and the process exit's) work
    assert pushes == [3, 1]
    assert len(impressions.buffer().take(10)) == 4
