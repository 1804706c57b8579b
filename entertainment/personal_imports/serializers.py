"""Serializers of the imports API."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from entertainment.activity.serializers import MAX_DB_ID
from entertainment.catalogue.models import Item
from entertainment.strict_fields import StrictIntegerField

from .models import Format, PersonalImport, UnmatchedRow


# A multipart part with no bytes at all is lost by some encoders (Werkzeug's test client
# writes no line break before the closing boundary, and Django then sees no file): the schema
# asks for at least one byte, which every export has.
@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class ExportFileField(serializers.FileField):
    pass


class ImportUploadSerializer(serializers.Serializer[Any]):
    file = ExportFileField(
        allow_empty_file=True,
        help_text="The export as downloaded: a Letterboxd ZIP (or one of its CSV files), an "
        "IMDb ratings CSV, Steam's GetOwnedGames JSON or a Playnite library JSON.",
    )
    format = serializers.ChoiceField(
        choices=Format.choices,
        default=Format.AUTO,
        help_text="Which export it is; `auto` tells it from the content.",
    )


class UnmatchedRowSerializer(serializers.ModelSerializer[UnmatchedRow]):
    row = serializers.IntegerField(source="number", read_only=True)
    would_record = serializers.CharField(
        source="describe", read_only=True, help_text="What matching it records, in words."
    )
    event_count = serializers.SerializerMethodField()

    class Meta:
        model = UnmatchedRow
        fields = [
            "row",
            "source",
            "kind",
            "title",
            "year",
            "external_id",
            "would_record",
            "event_count",
            "status",
            "item",
            "resolved_at",
        ]
        read_only_fields = fields

    def get_event_count(self, row: UnmatchedRow) -> int:
        return len(row.events)


class PersonalImportSerializer(serializers.ModelSerializer[PersonalImport]):
    unmatched_rows = UnmatchedRowSerializer(many=True, read_only=True)

    class Meta:
        model = PersonalImport
        fields = [
            "id",
            "format",
            "filename",
            "status",
            "progress",
            "error",
            "rows",
            "matched",
            "unmatched",
            "skipped",
            "stored",
            "duplicates",
            "created_at",
            "finished_at",
            "unmatched_rows",
        ]
        read_only_fields = fields


class PersonalImportListSerializer(serializers.ModelSerializer[PersonalImport]):
    class Meta:
        model = PersonalImport
        fields = [f for f in PersonalImportSerializer.Meta.fields if f != "unmatched_rows"]
        read_only_fields = fields


class MatchSerializer(serializers.Serializer[Any]):
    item = StrictIntegerField(
        min_value=1, max_value=MAX_DB_ID, help_text="The catalogue item this title is."
    )

    def validate_item(self, value: int) -> Item:
        item = Item.objects.filter(pk=value).first()
        if item is None:
            raise serializers.ValidationError(f"No item with id {value}.")
        return item


class MatchResultSerializer(serializers.Serializer[Any]):
    row = UnmatchedRowSerializer()
    stored = serializers.IntegerField(help_text="Activity rows stored by the match.")
    duplicates = serializers.IntegerField(help_text="Rows already stored before.")
