"""API shapes of ratings, plays and reviews, and of bulk ingestion's events and answers.

Writes never go through `serializer.save()`: views pass the validated data to
`recording.py`, the one write path (idempotent, and silent while history is paused).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from entertainment.catalogue.models import Item
from entertainment.strict_fields import (
    STRICT_FIELD_MAPPING,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
)

from .models import (
    MAX_STARS,
    MIN_STARS,
    Dismissal,
    ListName,
    Play,
    Rating,
    Review,
    Sentiment,
    validate_half_star,
)

# Bounds that keep every number a client sends inside what the database columns hold.
MAX_DB_ID = 2**63 - 1
MAX_POSITIVE_INT = 2**31 - 1


# What a star field takes: "4.5" (as it answers) or 4.5, in half steps from 0.5 to 5. The
# schema drf-spectacular derives from the DecimalField allows "-", "" or "0.0".
STARS_SCHEMA = {
    "anyOf": [
        {
            "type": "string",
            "format": "decimal",
            "pattern": r"^(?:0\.5|[1-4](?:\.[05])?|5(?:\.0)?)$",
        },
        {"type": "number", "enum": [n / 2 for n in range(1, 11)]},
    ]
}


@extend_schema_field(STARS_SCHEMA)
class StarsField(serializers.DecimalField):
    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        # DRF reads "" as null for a nullable decimal; the schema says null is null.
        if isinstance(data, str) and not data.strip():
            self.fail("invalid")
        return super().validate_empty_values(data)


def star_field(**kwargs: Any) -> serializers.DecimalField:
    return StarsField(
        max_digits=2,
        decimal_places=1,
        min_value=MIN_STARS,
        max_value=MAX_STARS,
        validators=[validate_half_star],
        help_text="Stars, 0.5 to 5.0 in half steps.",
        **kwargs,
    )


def client_event_id_field(**kwargs: Any) -> serializers.CharField:
    return StrictCharField(
        max_length=64,
        help_text=(
            "Your id for this event. A write repeating an id you already used stores nothing "
            "new and answers with the stored row."
        ),
        **kwargs,
    )


class _OwnRowSerializer(serializers.ModelSerializer):
    # Text as text, true as true: DRF would take 0 for "0" and 1 for true.
    serializer_field_mapping = STRICT_FIELD_MAPPING
    item = serializers.PrimaryKeyRelatedField(queryset=Item.objects.all())
    item_title = serializers.CharField(source="item.title", read_only=True)
    client_event_id = client_event_id_field(
        required=False, allow_null=True, allow_blank=True, default=None
    )

    def validate_client_event_id(self, value: str | None) -> str | None:
        return value or None


class RatingSerializer(_OwnRowSerializer):
    value = star_field()

    class Meta:
        model = Rating
        fields = [
            "id",
            "item",
            "item_title",
            "value",
            "client_event_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        # A second rating of the same item updates the first (recording.py), so the model's
        # unique constraints are not validation errors here.
        validators: list[Any] = []


class RatingUpdateSerializer(RatingSerializer):
    """A rating belongs to its item for good; only the value changes."""

    item = serializers.PrimaryKeyRelatedField(read_only=True)


class PlaySerializer(_OwnRowSerializer):
    seconds_played = serializers.IntegerField(min_value=0, max_value=MAX_POSITIVE_INT, default=0)

    class Meta:
        model = Play
        fields = [
            "id",
            "item",
            "item_title",
            "started_at",
            "seconds_played",
            "completed",
            "play_count",
            "client_event_id",
            "created_at",
        ]
        read_only_fields = ["play_count", "created_at"]
        validators: list[Any] = []


class PlayUpdateSerializer(PlaySerializer):
    item = serializers.PrimaryKeyRelatedField(read_only=True)


class ReviewSerializer(_OwnRowSerializer):
    text = StrictCharField(max_length=10_000)
    # Blank until the sentiment model has read the review: the schema must allow "".
    sentiment = serializers.ChoiceField(choices=Sentiment.choices, allow_blank=True, read_only=True)
    rating = star_field(required=False, allow_null=True, default=None)

    class Meta:
        model = Review
        fields = [
            "id",
            "item",
            "item_title",
            "text",
            "rating",
            "client_event_id",
            "sentiment",
            "sentiment_score",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["sentiment", "sentiment_score", "created_at", "updated_at"]
        validators: list[Any] = []


class ReviewUpdateSerializer(ReviewSerializer):
    item = serializers.PrimaryKeyRelatedField(read_only=True)


class DismissalSerializer(_OwnRowSerializer):
    """ "Not for me": the item leaves the person's lists and counts as negative feedback."""

    class Meta:
        model = Dismissal
        fields = ["id", "item", "item_title", "client_event_id", "created_at"]
        read_only_fields = ["created_at"]
        # A second "not for me" of the same item answers with the first (recording.py).
        validators: list[Any] = []


class NotRecordedSerializer(serializers.Serializer):
    """The 202 answer to a write made while the person's history is paused."""

    recorded = serializers.BooleanField(default=False)
    reason = serializers.ChoiceField(choices=["history_paused"])
    detail = serializers.CharField()


NOT_RECORDED_BODY = {
    "recorded": False,
    "reason": "history_paused",
    "detail": (
        "Not recorded: your history is paused, so Encore stores no plays, ratings or "
        "reviews. Resume it in your privacy settings to record again."
    ),
}


# --- Bulk ingestion -------------------------------------------------------------------------


class _EventSerializer(serializers.Serializer):
    client_event_id = client_event_id_field()
    item = serializers.IntegerField(
        min_value=1, max_value=MAX_DB_ID, help_text="The item's id in this catalogue."
    )
    user = serializers.CharField(
        max_length=150,
        required=False,
        help_text=(
            "Username the event belongs to; only for accounts holding the "
            "activity.ingest_for_others permission. Default: the caller."
        ),
    )


class RatingEventSerializer(_EventSerializer):
    type = serializers.ChoiceField(choices=["rating"])
    value = star_field()


class PlayEventSerializer(_EventSerializer):
    type = serializers.ChoiceField(choices=["play"])
    started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    seconds_played = serializers.IntegerField(min_value=0, max_value=MAX_POSITIVE_INT, default=0)
    completed = StrictBooleanField(default=False)
    play_count = serializers.IntegerField(
        min_value=1,
        max_value=MAX_POSITIVE_INT,
        default=1,
        help_text="How many plays this event stands for (sources that only give counts).",
    )


class ReviewEventSerializer(_EventSerializer):
    type = serializers.ChoiceField(choices=["review"])
    text = StrictCharField(max_length=10_000)
    rating = star_field(required=False, allow_null=True, default=None)


class ImpressionEventSerializer(_EventSerializer):
    """An item a client showed the person in one of Encore's lists (measurement only: stored
    while the person lets what they are shown be measured)."""

    type = serializers.ChoiceField(choices=["impression"])
    list = serializers.ChoiceField(
        choices=ListName.choices, help_text="The list the item was shown in."
    )
    rank = StrictIntegerField(
        min_value=1, max_value=32767, help_text="The item's place in the list, from 1."
    )
    model_version = StrictCharField(
        max_length=40,
        required=False,
        allow_blank=True,
        default="",
        help_text="The model_version the list came with (from /api/recommendations/).",
    )


class ClickEventSerializer(_EventSerializer):
    """The person opened an item from a list (counted for the impression that led to it)."""

    type = serializers.ChoiceField(choices=["click"])
    list = serializers.ChoiceField(
        choices=ListName.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="The list the item was opened from, if any.",
    )


EVENT_SERIALIZERS: dict[str, type[_EventSerializer]] = {
    "rating": RatingEventSerializer,
    "play": PlayEventSerializer,
    "review": ReviewEventSerializer,
    "impression": ImpressionEventSerializer,
    "click": ClickEventSerializer,
}


class IngestResultSerializer(serializers.Serializer):
    received = serializers.IntegerField(help_text="Events in the request.")
    stored = serializers.IntegerField(help_text="Events written (new rows or updated ones).")
    duplicates = serializers.IntegerField(
        help_text="Events whose client_event_id was already stored or came earlier in the batch."
    )
    superseded = serializers.IntegerField(
        help_text=(
            "Ratings and reviews followed by a later one for the same person and item in the "
            "same batch: only the last one counts."
        )
    )
    skipped_paused = serializers.IntegerField(
        help_text="Events of people whose history is paused: nothing stored."
    )
    skipped_not_measured = serializers.IntegerField(
        help_text=(
            "Impression and click events of people who switched off measuring what they are "
            "shown: nothing stored."
        )
    )


class EventErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the event in the batch, from 0.")
    line = serializers.IntegerField(
        required=False, help_text="Line number (from 1), for JSON Lines bodies."
    )
    errors = serializers.DictField(  # type: ignore[assignment]  # a field, popped by DRF's metaclass
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Messages per field.",
    )


class IngestRejectedSerializer(serializers.Serializer):
    # A body that is not a batch at all (not an array, unparseable) gets only the detail.
    detail = serializers.CharField()
    invalid_events = serializers.IntegerField(
        required=False, help_text="How many events are invalid (absent if no batch was read)."
    )
    errors = EventErrorSerializer(  # type: ignore[assignment]  # a field, popped by DRF
        many=True,
        required=False,
        help_text="The first invalid events, in order (absent if no batch was read).",
    )
