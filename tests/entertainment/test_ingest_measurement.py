"""Bulk ingestion of impression and click events: validated with the others (all or nothing,
the same field messages), idempotent, stored only for people who allow measurement, and the
batch's outcomes counted for the impressions that led to them."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient

from entertainment.activity.events import check_event
from entertainment.activity.models import Click, Impression, Play
from entertainment.activity.serializers import EVENT_SERIALIZERS
from tests.factories import ImpressionFactory, ItemFactory, UserFactory

URL = "/api/events/bulk/"


@pytest.fixture(autouse=True)
def _own_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"api-tests-{uuid.uuid4()}",
        }
    }


def impression(ceid, item, list_name="api", rank=1, **extra):
    return {
        "type": "impression",
        "client_event_id": ceid,
        "item": item.pk,
        "list": list_name,
        "rank": rank,
        **extra,
    }


def click(ceid, item, **extra):
    return {"type": "click", "client_event_id": ceid, "item": item.pk, **extra}


BASE = {"client_event_id": "e-1", "item": 7}
IMPRESSION = {**BASE, "type": "impression", "list": "for_you", "rank": 3}
CLICK = {**BASE, "type": "click"}

SAMPLES = [
    # valid
    IMPRESSION,
    {**IMPRESSION, "model_version": "sequence-v4", "user": "alice"},
    {**IMPRESSION, "model_version": ""},
    {**IMPRESSION, "rank": 32767},
    CLICK,
    {**CLICK, "list": "up_next"},
    {**CLICK, "list": ""},
    # invalid
    {**IMPRESSION, "list": "elsewhere"},
    {**IMPRESSION, "list": None},
    {k: v for k, v in IMPRESSION.items() if k != "list"},
    {k: v for k, v in IMPRESSION.items() if k != "rank"},
    {**IMPRESSION, "rank": 0},
    {**IMPRESSION, "rank": 32768},
    {**IMPRESSION, "rank": 1.5},
    {**IMPRESSION, "model_version": "v" * 41},
    {**IMPRESSION, "model_version": None},
    {**IMPRESSION, "client_event_id": ""},
    {**CLICK, "list": "nowhere"},
    {**CLICK, "item": 0},
]


@pytest.mark.parametrize("event", SAMPLES)
def test_same_verdict_and_fields_as_the_documented_serializer(event):
    cleaned, errors = check_event(event)
    serializer = EVENT_SERIALIZERS[event["type"]](data=event)
    assert serializer.is_valid() == (cleaned is not None), (errors, serializer.errors)
    if cleaned is None:
        assert set(errors) == set(serializer.errors)
    else:
        assert cleaned == {"user": None, **serializer.validated_data}


@pytest.mark.django_db
def test_impressions_and_clicks_are_stored_with_the_items_kind(api, user):
    film, game = ItemFactory(kind="film"), ItemFactory(kind="game")
    events = [
        impression("i1", film, "for_you", 1, model_version="sequence-v2"),
        impression("i2", game, "popular", 2),
        click("c1", film, list="for_you"),
    ]
    response = api.post(URL, events, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["stored"] == 3
    rows = {r.client_event_id: r for r in Impression.objects.filter(user=user)}
    assert (rows["i1"].kind, rows["i1"].list, rows["i1"].rank) == ("film", "for_you", 1)
    assert rows["i1"].model_version == "sequence-v2"
    assert (rows["i2"].kind, rows["i2"].model_version) == ("game", "")
    assert Click.objects.get(user=user).list == "for_you"


@pytest.mark.django_db
def test_resending_stores_nothing_new(api, user):
    item = ItemFactory()
    events = [impression("i1", item), impression("i1", item), click("c1", item)]
    first = api.post(URL, events, format="json").json()
    assert (first["stored"], first["duplicates"]) == (2, 1)
    again = api.post(URL, events, format="json").json()
    assert (again["stored"], again["duplicates"]) == (0, 3)
    assert Impression.objects.count() == 1 and Click.objects.count() == 1


@pytest.mark.django_db
def test_one_invalid_event_stores_nothing(api, user):
    item = ItemFactory()
    events = [
        impression("i1", item),
        impression("i2", item, list_name="sidebar"),
        {"type": "play", "client_event_id": "p1", "item": item.pk},
        click("c1", item, list="nowhere"),
        impression("i3", item, rank=0),
    ]
    response = api.post(URL, events, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["invalid_events"] == 3
    assert [(e["index"], sorted(e["errors"])) for e in body["errors"]] == [
        (1, ["list"]),
        (3, ["list"]),
        (4, ["rank"]),
    ]
    assert body["errors"][0]["errors"]["list"] == ['"sidebar" is not a valid choice.']
    assert not Impression.objects.exists() and not Play.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("setting", "counter"),
    [("measure_recommendations", "skipped_not_measured"), ("history_paused", "skipped_paused")],
)
def test_nothing_is_stored_for_people_who_do_not_allow_it(api, user, setting, counter):
    item = ItemFactory()
    privacy = user.privacy
    setattr(privacy, setting, setting == "history_paused")
    privacy.save()
    body = api.post(URL, [impression("i1", item), click("c1", item)], format="json").json()
    assert body["stored"] == 0 and body[counter] == 2
    assert not Impression.objects.exists() and not Click.objects.exists()


@pytest.mark.django_db
def test_a_service_may_send_them_for_others():
    service = UserFactory(username="ingest-service")
    service.user_permissions.add(Permission.objects.get(codename="ingest_for_others"))
    person, item = UserFactory(username="listener"), ItemFactory()
    client = APIClient()
    client.force_authenticate(service)
    body = client.post(URL, [impression("i1", item, user="listener")], format="json").json()
    assert body["stored"] == 1
    assert Impression.objects.get().user == person


@pytest.mark.django_db
def test_a_batchs_clicks_and_plays_count_for_earlier_impressions(api, user):
    item, other = ItemFactory(), ItemFactory()
    shown = ImpressionFactory(user=user, item=item, created_at=timezone.now() - timedelta(days=1))
    old = ImpressionFactory(user=user, item=other, created_at=timezone.now() - timedelta(days=9))
    events = [
        click("c1", item, list="for_you"),
        {"type": "play", "client_event_id": "p1", "item": item.pk},
        {"type": "rating", "client_event_id": "r1", "item": item.pk, "value": "4.5"},
        {"type": "play", "client_event_id": "p2", "item": other.pk},
    ]
    assert api.post(URL, events, format="json").status_code == 200
    shown.refresh_from_db()
    old.refresh_from_db()
    assert shown.clicked_at and shown.played_at and shown.rated_at
    assert shown.reviewed_at is None
    assert old.played_at is None  # outside the 7-day window
