"""The fast bulk event checks agree with the serializers the schema documents."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from entertainment.activity.events import check_event
from entertainment.activity.serializers import EVENT_SERIALIZERS

BASE = {"client_event_id": "e-1", "item": 7}
RATING = {**BASE, "type": "rating", "value": "4.5"}
PLAY = {**BASE, "type": "play", "started_at": "2026-11-28T20:15:00+01:00", "seconds_played": 60}
REVIEW = {**BASE, "type": "review", "text": "Lovely", "rating": None}

SAMPLES = [
    # valid
    RATING,
    {**RATING, "value": 3},
    {**RATING, "value": 0.5},
    {**RATING, "user": "alice"},
    PLAY,
    {**BASE, "type": "play"},
    {**PLAY, "started_at": None, "play_count": 12, "completed": True},
    REVIEW,
    {**REVIEW, "rating": "2.0"},
    # invalid
    {**RATING, "value": "4.3"},
    {**RATING, "value": "5.5"},
    {**RATING, "value": "0"},
    {**RATING, "value": "nan"},
    {**RATING, "value": "Infinity"},
    {**RATING, "value": "1e5000"},
    {**RATING, "value": None},
    {**RATING, "value": [4]},
    {k: v for k, v in RATING.items() if k != "value"},
    {k: v for k, v in RATING.items() if k != "client_event_id"},
    {**RATING, "client_event_id": ""},
    {**RATING, "client_event_id": "x" * 65},
    {**RATING, "client_event_id": "a\x00b"},
    {**RATING, "item": 0},
    {**RATING, "item": 2**63},
    {**RATING, "item": None},
    {**RATING, "user": "u" * 151},
    {**PLAY, "seconds_played": -1},
    {**PLAY, "seconds_played": 2**31},
    {**PLAY, "play_count": 0},
    {**PLAY, "started_at": "yesterday"},
    {**PLAY, "started_at": "2026-13-45T99:00:00Z"},
    {**PLAY, "completed": None},
    {**REVIEW, "text": ""},
    {**REVIEW, "text": "   "},
    {**REVIEW, "text": "a" * 10_001},
    {**REVIEW, "text": "bad \ud800 surrogate"},
    {**REVIEW, "rating": "4.25"},
]


@pytest.mark.parametrize("event", SAMPLES)
def test_same_verdict_and_fields_as_the_documented_serializer(event):
    cleaned, errors = check_event(event)
    serializer = EVENT_SERIALIZERS[event["type"]](data=event)
    assert serializer.is_valid() == (cleaned is not None), (errors, serializer.errors)
    if cleaned is None:
        assert set(errors) == set(serializer.errors)
    else:
        documented = {"user": None, **serializer.validated_data}
        assert cleaned == documented


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"type": "rating", **BASE, "value": True}, "value"),
        ({"type": "play", **BASE, "seconds_played": "60"}, "seconds_played"),
        ({"type": "play", **BASE, "completed": "yes"}, "completed"),
        ({"type": "rating", **BASE, "value": "4.5", "item": "7"}, "item"),
        ({"type": "nap", **BASE}, "type"),
        ({**BASE}, "type"),
    ],
)
def test_json_types_are_taken_strictly(raw, field):
    cleaned, errors = check_event(raw)
    assert cleaned is None and field in errors


def test_cleaned_values():
    cleaned, _ = check_event(PLAY)
    assert cleaned is not None
    assert cleaned["started_at"] == datetime(2026, 11, 28, 19, 15, tzinfo=UTC)
    assert cleaned["completed"] is False and cleaned["play_count"] == 1
    rating, _ = check_event({**RATING, "value": 4})
    assert rating is not None and rating["value"] == Decimal("4.0")
    assert check_event(["not", "an", "object"])[1] == {
        "non_field_errors": ["An event is a JSON object."]
    }
