"""API shapes of training runs and model versions, for staff."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import ModelVersion, TrainingRun
from .staff_actions import TRAIN_CHOICES
from .staff_metrics import api_metrics


class ShownMetricsField(serializers.Field):
    """A model's metrics as staff may see them: allow-listed names, no count of a small group."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: dict[str, Any]) -> dict[str, float | int]:
        return api_metrics(value)


# The schema of ShownMetricsField: numbers by metric name.
extend_schema_field(
    {
        "type": "object",
        "description": "Allow-listed metrics by name; counts of fewer than "
        "PRIVACY_MIN_GROUP_SIZE people are left out.",
        "additionalProperties": {"type": "number"},
    }
)(ShownMetricsField)


class TrainingRunSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(
        source="requested_by.username", read_only=True, allow_null=True
    )
    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    metrics = ShownMetricsField()

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "kind",
            "status",
            "trigger",
            "requested_by",
            "progress",
            "stage",
            "attempts",
            "snapshot",
            "model_version",
            "metrics",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
        ]
        read_only_fields = fields


class TrainingRequestSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=TRAIN_CHOICES,
        help_text="The model to train, or `all` for every model.",
        error_messages={
            "invalid_choice": "Unknown model kind {input}; use one of "
            + ", ".join(TRAIN_CHOICES)
            + "."
        },
    )


class TrainingStartedSerializer(serializers.Serializer):
    runs = TrainingRunSerializer(many=True)
    already_live = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Ids of the returned runs that were already queued or running: "
        "no second run of those kinds was started.",
    )


class ModelVersionSerializer(serializers.ModelSerializer):
    metrics = ShownMetricsField()

    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "label",
            "kind",
            "status",
            "main_metric",
            "main_metric_value",
            "metrics",
            "hyperparameters",
            "snapshot",
            "data_hash",
            "created_at",
            "activated_at",
            "needs_retrain_since",
        ]
        read_only_fields = fields
