"""Bulk ingestion: all or nothing, per-event errors, JSON Lines, duplicates, paused history."""

from __future__ import annotations

import json
import threading
import uuid
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission
from django.db import connection
from rest_framework.test import APIClient

from entertainment.activity.api import BulkIngestThrottle
from entertainment.activity.models import Play, Rating, Review
from entertainment.activity.signals import events_ingested
from tests.factories import ItemFactory, RatingFactory, ReviewFactory, UserFactory

URL = "/api/events/bulk/"


@pytest.fixture(autouse=True)
def _own_cache(settings):
    # The bulk throttle counts in the cache: keep the count per test.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"api-tests-{uuid.uuid4()}",
        }
    }


@pytest.fixture
def items(db):
    return ItemFactory.create_batch(3)


@pytest.fixture
def service(db):
    account = UserFactory(username="ingest-service")
    account.user_permissions.add(Permission.objects.get(codename="ingest_for_others"))
    client = APIClient()
    client.force_authenticate(account)
    return client


def pause(user):
    privacy = user.privacy
    privacy.history_paused = True
    privacy.save()


def rating(ceid, item, value="4.0", **extra):
    return {"type": "rating", "client_event_id": ceid, "item": item.pk, "value": value, **extra}


def play(ceid, item, started_at="2026-11-01T20:00:00Z", **extra):
    return {
        "type": "play",
        "client_event_id": ceid,
        "item": item.pk,
        "started_at": started_at,
        **extra,
    }


def review(ceid, item, text="Lovely.", **extra):
    return {"type": "review", "client_event_id": ceid, "item": item.pk, "text": text, **extra}


def jsonl(events, blank_lines=False):
    lines = [json.dumps(event) for event in events]
    return ("\n\n" if blank_lines else "\n").join(lines) + "\n"


def test_a_valid_batch_is_stored(api, user, items):
    a, b, c = items
    events = [
        rating("r1", a, "4.5"),
        play("p1", a, seconds_played=300, completed=True),
        play("p2", b, play_count=7, started_at=None),
        review("v1", c, rating="2.0"),
    ]
    response = api.post(URL, events, format="json")
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "received": 4,
        "stored": 4,
        "duplicates": 0,
        "superseded": 0,
        "skipped_paused": 0,
        "skipped_not_measured": 0,
    }
    assert Rating.objects.get(user=user, item=a).value == Decimal("4.5")
    assert Play.objects.get(user=user, client_event_id="p1").completed
    assert Play.objects.get(user=user, client_event_id="p2").play_count == 7
    assert Review.objects.get(user=user, item=c).rating == Decimal("2.0")


def test_one_invalid_event_stores_nothing_and_each_error_is_listed(api, user, items):
    a, b, _ = items
    events = [
        rating("r1", a, "4.5"),
        rating("r2", b, "4.3"),
        play("p1", a, seconds_played=-5),
        {"type": "rating", "item": a.pk, "value": "3.0"},
        review("v1", a, text=""),
        {"type": "sleep", "client_event_id": "z"},
        "not an object",
        play("p2", a),
        {**rating("r3", b), "item": 10**30},
        {**rating("r4", b), "item": 987654},
    ]
    response = api.post(URL, events, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["invalid_events"] == 8
    by_index = {error["index"]: error["errors"] for error in body["errors"]}
    assert set(by_index) == {1, 2, 3, 4, 5, 6, 8, 9}
    assert "value" in by_index[1]
    assert "seconds_played" in by_index[2]
    assert "client_event_id" in by_index[3]
    assert "text" in by_index[4]
    assert "type" in by_index[5]
    assert "non_field_errors" in by_index[6]
    assert "item" in by_index[8]
    assert by_index[9] == {"item": ["No item with id 987654."]}
    assert all("line" not in error for error in body["errors"])
    assert not Rating.objects.exists() and not Play.objects.exists()


@pytest.mark.parametrize("content_type", ["application/jsonl", "application/x-ndjson"])
def test_json_lines_are_stored(api, user, items, content_type):
    a, b, _ = items
    body = jsonl([rating("r1", a), play("p1", b), review("v1", b)], blank_lines=True)
    response = api.post(URL, body, content_type=content_type)
    assert response.status_code == 200, response.json()
    assert response.json()["stored"] == 3


def test_json_lines_errors_name_the_line(api, user, items):
    a, _, _ = items
    lines = [
        json.dumps(rating("r1", a)),
        "",
        json.dumps(rating("r2", a, "9.0")),
        '{"type": "play", "client_event_id": "p1", ',
        json.dumps(play("p2", a)),
    ]
    response = api.post(URL, "\n".join(lines), content_type="application/jsonl")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [(e["index"], e["line"]) for e in errors] == [(1, 3), (2, 4)]
    assert "value" in errors[0]["errors"]
    assert "Line 4 is not valid JSON" in errors[1]["errors"]["non_field_errors"][0]
    assert not Rating.objects.exists()


def test_duplicates_in_the_database_and_in_the_batch_are_counted(api, user, items):
    a, b, _ = items
    RatingFactory(user=user, item=a, value=Decimal("1.0"), client_event_id="r-old")
    events = [
        rating("r-old", a, "5.0"),
        play("p1", b),
        play("p1", b),
        play("p2", b),
    ]
    response = api.post(URL, events, format="json")
    assert response.json() == {
        "received": 4,
        "stored": 2,
        "duplicates": 2,
        "superseded": 0,
        "skipped_paused": 0,
        "skipped_not_measured": 0,
    }
    assert Rating.objects.get(user=user, item=a).value == Decimal("1.0")
    assert Play.objects.filter(user=user).count() == 2


def test_resending_a_batch_changes_nothing(api, user, items):
    a, b, _ = items
    events = [rating("r1", a, "2.0"), rating("r2", a, "4.0"), play("p1", b), review("v1", b)]
    first = api.post(URL, events, format="json").json()
    assert first["stored"] == 3 and first["superseded"] == 1
    second = api.post(URL, events, format="json").json()
    assert second["stored"] == 0
    assert second["duplicates"] + second["superseded"] == 4
    assert Rating.objects.get(user=user, item=a).value == Decimal("4.0")
    assert Play.objects.count() == 1 and Review.objects.count() == 1


def test_new_ratings_and_reviews_update_the_stored_ones(api, user, items):
    a, _, _ = items
    RatingFactory(user=user, item=a, value=Decimal("1.0"))
    old_review = ReviewFactory(user=user, item=a, text="Old words")
    Review.objects.filter(pk=old_review.pk).update(sentiment="positive", sentiment_score=0.9)
    response = api.post(URL, [rating("r1", a, "3.5"), review("v1", a, "New words")], format="json")
    assert response.json()["stored"] == 2
    assert Rating.objects.get(user=user, item=a).value == Decimal("3.5")
    updated = Review.objects.get(user=user, item=a)
    assert updated.pk == old_review.pk and updated.text == "New words"
    assert updated.sentiment == "" and updated.sentiment_score is None


def test_paused_history_stores_nothing(api, user, items):
    pause(user)
    a, b, _ = items
    response = api.post(URL, [rating("r1", a), play("p1", b), review("v1", b)], format="json")
    assert response.status_code == 200
    assert response.json()["skipped_paused"] == 3 and response.json()["stored"] == 0
    assert not Rating.objects.exists() and not Play.objects.exists()
    assert not Review.objects.exists()


def test_service_account_sends_for_others_and_paused_people_are_skipped(service, items):
    a, b, _ = items
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    pause(bob)
    events = [
        rating("r1", a, user="alice"),
        play("p1", b, user="alice"),
        rating("r1", a, user="bob"),
        play("p1", b, user="bob"),
    ]
    response = service.post(URL, events, format="json")
    assert response.json()["stored"] == 2 and response.json()["skipped_paused"] == 2
    assert set(Rating.objects.values_list("user__username", flat=True)) == {"alice"}
    assert set(Play.objects.values_list("user_id", flat=True)) == {alice.pk}


def test_sending_for_others_needs_the_permission(api, user, items):
    UserFactory(username="victim")
    a, _, _ = items
    events = [rating("r1", a, user=user.username), rating("r2", a, user="victim")]
    response = api.post(URL, events, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 1, "errors": {"user": ["You may only send your own events."]}}
    ]
    assert not Rating.objects.exists()


def test_unknown_usernames_are_errors(service, items):
    response = service.post(URL, [rating("r1", items[0], user="nobody")], format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["errors"] == {"user": ["No account named 'nobody'."]}


def test_the_event_limit(api, user, items, settings):
    assert django_settings.BULK_INGEST_MAX_EVENTS == 10_000
    too_many = [play(f"p{i}", items[0]) for i in range(10_001)]
    response = api.post(URL, too_many, format="json")
    assert response.status_code == 400
    assert "at most 10000 events" in response.json()["detail"]
    assert not Play.objects.exists()


def test_a_batch_at_the_limit_is_stored(api, user, items, settings):
    settings.BULK_INGEST_MAX_EVENTS = 2_000
    events = [play(f"p{i}", items[i % 3], seconds_played=i) for i in range(2_000)]
    response = api.post(URL, events, format="json")
    assert response.json()["stored"] == 2_000
    assert Play.objects.filter(user=user).count() == 2_000


def test_query_count_does_not_grow_with_the_batch(api, user, items, django_assert_max_num_queries):
    def batch(n, prefix):
        return [
            event
            for i in range(n)
            for event in (
                play(f"{prefix}p{i}", items[i % 3]),
                rating(f"{prefix}r{i}", items[i % 3]),
                review(f"{prefix}v{i}", items[i % 3]),
            )
        ]

    api.post(URL, batch(3, "a"), format="json")
    # Both measured batches rewrite stored ratings and reviews (which acts on the models once
    # per batch, recommender.withdrawal): the same work, at 3 and at 300 events.
    with django_assert_max_num_queries(40) as small:
        api.post(URL, batch(3, "c"), format="json")
    with django_assert_max_num_queries(len(small.captured_queries) + 6):
        assert api.post(URL, batch(300, "b"), format="json").json()["stored"] == 306


def test_one_signal_per_batch_after_commit(api, user, items, django_capture_on_commit_callbacks):
    a, b, _ = items
    heard = []

    def listener(sender, **kwargs):
        heard.append(kwargs)

    events_ingested.connect(listener)
    try:
        events = [
            play("p1", a, started_at="2026-11-01T20:00:00Z"),
            play("p2", b, started_at="2026-11-02T20:00:00Z"),
            play("p3", a, started_at="2026-10-01T20:00:00Z"),
            review("v1", a),
        ]
        with django_capture_on_commit_callbacks(execute=True):
            api.post(URL, events, format="json")
    finally:
        events_ingested.disconnect(listener)
    assert len(heard) == 1
    newest = Play.objects.get(client_event_id="p2")
    assert heard[0]["user_ids"] == [user.pk]
    assert heard[0]["last_play_ids"] == {user.pk: newest.pk}
    assert heard[0]["review_ids"] == [Review.objects.get().pk]


def test_no_signal_when_nothing_is_stored(api, user, items, django_capture_on_commit_callbacks):
    pause(user)
    with django_capture_on_commit_callbacks() as callbacks:
        api.post(URL, [play("p1", items[0])], format="json")
    assert callbacks == []


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('[{"type": "rating", ', "application/json"),
        ('{"type": "rating"}', "application/json"),
        ("[NaN]", "application/json"),
        ("[1e999999]", "application/json"),
        ("\xff\xfe", "application/jsonl"),
        ("[" * 50_000 + "]" * 50_000, "application/json"),
        ("<xml/>", "application/xml"),
    ],
)
def test_bodies_that_are_not_batches_are_refused_cleanly(api, user, body, content_type):
    response = api.post(URL, body, content_type=content_type)
    assert response.status_code in (400, 415)
    assert isinstance(response.json(), dict)


def test_an_oversized_body_is_a_413(api, user, items, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    events = [play(f"p{i}", items[0]) for i in range(50)]
    response = api.post(URL, jsonl(events), content_type="application/jsonl")
    assert response.status_code == 413
    assert not Play.objects.exists()


def test_bulk_ingestion_has_its_own_throttle(api, user, items, monkeypatch):
    monkeypatch.setattr(BulkIngestThrottle, "rate", "2/min", raising=False)
    statuses = [
        api.post(URL, [play(f"p{i}", items[0])], format="json").status_code for i in range(3)
    ]
    assert statuses == [200, 200, 429]
    # Other endpoints keep their own budget.
    assert api.get("/api/plays/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_same_batch_sent_twice_at_once_is_stored_once(user, items):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite's in-memory test database is per connection")
    events = [play(f"p{i}", items[i % 3]) for i in range(300)]
    events += [rating(f"r{i}", item) for i, item in enumerate(items)]
    # One rating updates a row stored before: both copies want to change it.
    RatingFactory(user=user, item=items[0], value=Decimal("1.0"))
    barrier = threading.Barrier(2)
    results: list[dict] = []

    def send():
        client = APIClient()
        client.force_authenticate(user)
        barrier.wait()
        results.append(client.post(URL, events, format="json").json())
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Play.objects.filter(user=user).count() == 300
    assert Rating.objects.filter(user=user).count() == 3
    assert Rating.objects.get(user=user, item=items[0]).value == Decimal("4.0")
    assert sorted(result["stored"] for result in results) == [0, 303]
    assert sorted(result["duplicates"] for result in results) == [0, 303]


def test_query_count_does_not_grow_with_the_number_of_people(
    service, items, django_assert_max_num_queries
):
    people = UserFactory.create_batch(40)

    def batch(persons, prefix):
        return [
            event
            for n, person in enumerate(persons)
            for event in (
                play(f"{prefix}p{n}", items[0], user=person.username),
                rating(f"{prefix}r{n}", items[n % 3], user=person.username),
                review(f"{prefix}v{n}", items[n % 3], user=person.username),
            )
        ]

    RatingFactory(user=people[-1], item=items[(len(people) - 1) % 3], value=Decimal("1.0"))
    # A rewrite in the small batch too: it acts on the models once per batch, whatever its size.
    RatingFactory(user=people[0], item=items[0], value=Decimal("1.0"))
    with django_assert_max_num_queries(40) as few:
        assert service.post(URL, batch(people[:2], "a"), format="json").json()["stored"] == 6
    with django_assert_max_num_queries(len(few.captured_queries) + 4):
        result = service.post(URL, batch(people, "b"), format="json").json()
    assert result["stored"] == 120
    assert Rating.objects.get(user=people[-1], item=items[(len(people) - 1) % 3]).value == Decimal(
        "4.0"
    )
