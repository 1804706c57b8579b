"""JSON Lines break only at line feeds: a review holding U+2028, U+0085 or a form feed is text,
not a line end, and errors keep naming the right line."""

from __future__ import annotations

import json
import uuid

import pytest

from entertainment.activity.models import Rating, Review
from tests.factories import ItemFactory

URL = "/api/events/bulk/"
ODD_TEXT = "Loved it\u2028truly\x85a great\u2029film"


@pytest.fixture(autouse=True)
def _own_cache(settings):
    # The bulk throttle counts in the cache: keep the count per test.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"text-ingest-{uuid.uuid4()}",
        }
    }


@pytest.fixture
def items(db):
    return ItemFactory.create_batch(2)


def line(event):
    # ensure_ascii=False: the characters travel as themselves, as most JSON writers send them.
    return json.dumps(event, ensure_ascii=False)


def review(ceid, item, text):
    return {"type": "review", "client_event_id": ceid, "item": item.pk, "text": text}


def rating(ceid, item, value):
    return {"type": "rating", "client_event_id": ceid, "item": item.pk, "value": value}


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_review_text_with_unicode_line_separators_is_stored_exactly(api, user, items, ending):
    a, b = items
    body = ending.join([line(review("v1", a, ODD_TEXT)), line(rating("r1", b, "4.0"))]) + ending
    response = api.post(URL, body.encode(), content_type="application/jsonl")
    assert response.status_code == 200, response.json()
    assert response.json()["stored"] == 2
    assert Review.objects.get(user=user, item=a).text == ODD_TEXT
    assert Rating.objects.filter(user=user, item=b).exists()


def test_errors_after_such_a_line_name_the_right_line(api, user, items):
    a, b = items
    lines = [
        line(review("v1", a, ODD_TEXT)),
        line(rating("r1", b, "9.0")),
        line(review("v2", a, "a\x0cb")).replace("\\f", "\x0c"),  # a raw form feed in a string
    ]
    response = api.post(URL, "\n".join(lines).encode(), content_type="application/x-ndjson")
    assert response.status_code == 400
    errors = response.json()["errors"]
    # A raw form feed inside a JSON string is invalid JSON: refused, on its own line.
    assert [(e["index"], e["line"]) for e in errors] == [(1, 2), (2, 3)]
    assert "value" in errors[0]["errors"]
    assert "Line 3 is not valid JSON" in errors[1]["errors"]["non_field_errors"][0]
    assert not Review.objects.exists()
