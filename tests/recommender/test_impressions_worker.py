"""The impression buffer through real parts: pages push to Redis, a real Celery worker on the
`cpu` queue writes the batch into PostgreSQL (queued by a full buffer, and by the task the
beat sends), under the consent each person has when it runs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from entertainment.accounts.privacy import change_settings
from entertainment.activity import impressions
from entertainment.activity.models import Impression
from entertainment.activity.tasks import flush_impressions
from tests.conftest import wait_for
from tests.factories import ItemFactory, RatingFactory, UserFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_env(redis_cache, settings) -> dict[str, str]:
    # The worker reads the buffer under this test's own key prefix.
    return {"CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"]}


def test_a_full_buffer_is_flushed_by_the_worker(client, settings, celery_worker_process):
    settings.IMPRESSION_FLUSH_AT = 1
    RatingFactory(item=ItemFactory(title="Well Liked"))
    person = UserFactory()
    client.force_login(person)
    assert "Well Liked" in client.get(reverse("home")).content.decode()
    assert isinstance(impressions.buffer(), impressions._RedisBuffer)

    row = wait_for(Impression.objects.first, 60, "the worker to write the impression")
    assert (row.user_id, row.list, row.rank) == (person.pk, "popular", 1)


def test_the_beat_task_writes_only_for_people_who_still_allow_it(
    client, settings, celery_worker_process
):
    settings.IMPRESSION_FLUSH_AT = 10_000
    RatingFactory(item=ItemFactory(title="Well Liked"))
    stays, leaves = UserFactory(), UserFactory()
    for person in (stays, leaves):
        client.force_login(person)
        client.get(reverse("home"))
    change_settings(leaves, measure_recommendations=False)
    assert not Impression.objects.exists()

    flush_impressions.delay()
    wait_for(Impression.objects.exists, 60, "the worker to write the batch")
    assert list(Impression.objects.values_list("user_id", flat=True)) == [stays.pk]
    assert impressions.buffer().take(10) == []  # the batch was taken whole
