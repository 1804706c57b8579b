"""Redis stopped: pages and the recommendations API keep answering, and writes are stored."""

from __future__ import annotations

from decimal import Decimal

import pytest

from entertainment.activity.models import Play, Rating
from tests.factories import ItemFactory, PlayFactory

pytestmark = pytest.mark.django_db

# Nothing listens here: every cache call fails at once with a connection error.
DOWN = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": DOWN,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    yield


def test_api_answers_and_stores_with_redis_down(redis_down, api, user):
    item = ItemFactory(kind="film")
    PlayFactory(item=item)
    response = api.get("/api/recommendations/?kind=film")
    assert response.status_code == 200, response.content
    assert response.json()["results"]
    created = api.post("/api/ratings/", {"item": item.pk, "value": "4.0"}, format="json")
    assert created.status_code == 201, created.content
    assert Rating.objects.get(user=user).value == Decimal("4.0")


def test_pages_answer_and_plays_are_stored_with_redis_down(redis_down, client, user):
    item = ItemFactory(kind="film")
    client.force_login(user)
    assert client.get("/").status_code == 200
    assert client.get(item.get_absolute_url()).status_code == 200
    response = client.post(f"/me/items/{item.pk}/play/", {})
    assert response.status_code in (200, 302)
    assert Play.objects.filter(user=user, item=item).exists()
