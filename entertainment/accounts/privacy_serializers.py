"""Serializers of the privacy API: settings, their changes, exports, erasures."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from entertainment.strict_fields import STRICT_FIELD_MAPPING, StrictCharField

from . import own_data
from .models import DataExport, ErasureRequest, PrivacySettings, SettingChange, User
from .privacy import SETTINGS
from .privacy_forms import EXPLANATIONS, MAX_ITEM_ID, MAX_ITEMS_PER_ERASURE


class PrivacySettingsSerializer(serializers.ModelSerializer[PrivacySettings]):
    # A consent is given by `true`, not by 1 or "yes" (and the choice is a string).
    serializer_field_mapping = STRICT_FIELD_MAPPING

    class Meta:
        model = PrivacySettings
        fields = [*SETTINGS, "updated_at"]
        read_only_fields = ["updated_at"]
        extra_kwargs = {name: {"help_text": EXPLANATIONS[name]} for name in SETTINGS}

    def to_internal_value(self, data: Any) -> Any:
        # A misspelt setting must not be ignored silently: the person would believe it applied.
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(SETTINGS))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Not a privacy setting you can change."] for name in unknown}
                )
        return super().to_internal_value(data)


class SettingChangeSerializer(serializers.ModelSerializer[SettingChange]):
    class Meta:
        model = SettingChange
        fields = ["setting", "old_value", "new_value", "changed_at"]


class DataExportSerializer(serializers.ModelSerializer[DataExport]):
    expired = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(
        help_text="Where the ZIP is downloaded (only by you); null until ready or once expired."
    )

    class Meta:
        model = DataExport
        fields = [
            "id",
            "status",
            "progress",
            "created_at",
            "finished_at",
            "expires_at",
            "expired",
            "download_url",
        ]

    def get_expired(self, export: DataExport) -> bool:
        return own_data.is_expired(export)

    # Nullable: an export not ready (or expired) has no address.
    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download_url(self, export: DataExport) -> str | None:
        if export.status != DataExport.Status.READY or own_data.is_expired(export):
            return None
        path = reverse("my-export-download", args=[export.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class ErasureSerializer(serializers.ModelSerializer[ErasureRequest]):
    models_clean_by = serializers.SerializerMethodField(
        help_text="While the models still hold the data: when they will have been retrained."
    )
    models_withdrawn_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text=(
            "Set when a model holding the data could not be retrained in time and was withdrawn "
            "instead: an earlier version, or the popular lists, serve since."
        ),
    )

    class Meta:
        model = ErasureRequest
        fields = [
            "id",
            "scope",
            "rows_deleted",
            "requested_at",
            "models_clean_at",
            "models_clean_by",
            "models_withdrawn_at",
        ]

    # Null once the models are clean (nothing left to wait for).
    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_models_clean_by(self, erasure: ErasureRequest) -> Any:
        return own_data.retrain_deadline(erasure)


class EraseRequestSerializer(serializers.Serializer):
    SCOPES = ("items", "history", "account")

    scope = serializers.ChoiceField(choices=SCOPES)
    items = serializers.ListField(
        # Bounded: a larger number overflows the database's integer (a 500, not a 400).
        child=serializers.IntegerField(min_value=1, max_value=MAX_ITEM_ID),
        required=False,
        allow_empty=False,
        max_length=MAX_ITEMS_PER_ERASURE,
        help_text="scope `items`: ids of items whose ratings, plays and reviews are erased.",
    )
    confirm = StrictCharField(
        required=False,
        help_text="scope `account`: your username, typed, to confirm.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        user: User = self.context["user"]
        scope = attrs["scope"]
        if scope == "items":
            ids = sorted(set(attrs.get("items") or []))
            if not ids:
                raise serializers.ValidationError({"items": ["Name the items to erase."]})
            known = set(
                own_data.items_with_history(user).filter(pk__in=ids).values_list("pk", flat=True)
            )
            if missing := [pk for pk in ids if pk not in known]:
                raise serializers.ValidationError(
                    {"items": [f"Not in your history: {', '.join(map(str, missing))}."]}
                )
            attrs["items"] = ids
        elif attrs.get("items"):
            raise serializers.ValidationError({"items": ["Only for scope `items`."]})
        if scope == "account" and attrs.get("confirm") != user.get_username():
            raise serializers.ValidationError(
                {"confirm": ["Type your username exactly to erase your account."]}
            )
        return attrs
