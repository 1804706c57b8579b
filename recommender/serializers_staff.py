"""API shapes of training runs, model versions and online experiments, for staff."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from entertainment.activity.serializers import MAX_DB_ID
from entertainment.strict_fields import StrictCharField, StrictIntegerField

from . import experiments
from .models import Experiment, ModelKind, ModelVersion, TrainingRun
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


# --- Online experiments -------------------------------------------------------------------------


class ShareField(serializers.FloatField):
    """A share strictly between 0 and 1, as a JSON number (not "0.5", not true)."""

    default_error_messages = {
        "invalid": "Must be a number.",
        "range": "The share of people in arm B must be between 0 and 1 (exclusive).",
    }

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, int | float):
            self.fail("invalid")
        value = float(super().to_internal_value(data))
        if not 0.0 < value < 1.0:
            self.fail("range")
        return value


extend_schema_field(
    {
        "type": "number",
        "format": "double",
        "minimum": 0,
        "exclusiveMinimum": True,
        "maximum": 1,
        "exclusiveMaximum": True,
        "description": "Share of people who see arm B (the rest see arm A).",
    }
)(ShareField)


def _version_field(**kwargs: Any) -> serializers.PrimaryKeyRelatedField:
    # Bounded like every id in a body: a larger number overflows the database's integer.
    return serializers.PrimaryKeyRelatedField(
        queryset=ModelVersion.objects.all(),
        pk_field=StrictIntegerField(min_value=1, max_value=MAX_DB_ID),
        **kwargs,
    )


class ExperimentCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100)
    kind = serializers.ChoiceField(
        choices=ModelKind.choices,
        help_text="Only `sequence` is accepted: its versions make the lists (the others are "
        "refused with a message saying why).",
    )
    version_a = _version_field(help_text="The version arm A sees (usually the active one).")
    version_b = _version_field(
        allow_null=True, help_text="The version arm B sees; null: the popular lists."
    )
    share = ShareField()


class IntervalSerializer(serializers.Serializer):
    value = serializers.FloatField()
    low = serializers.FloatField(help_text="95% confidence interval, lower end.")
    high = serializers.FloatField(help_text="95% confidence interval, upper end.")


class ArmResultSerializer(serializers.Serializer):
    arm = serializers.CharField()
    serves = serializers.CharField(help_text="The version label, or `popular`.")
    people = serializers.IntegerField(
        allow_null=True, help_text="Null: fewer than PRIVACY_MIN_GROUP_SIZE people (hidden)."
    )
    impressions = serializers.IntegerField()
    clicks = serializers.IntegerField()
    plays = serializers.IntegerField()
    high_ratings = serializers.IntegerField()
    click_through = IntervalSerializer(
        source="rates.click_through", allow_null=True, help_text="Per person, mean of rates."
    )
    play_through = IntervalSerializer(source="rates.play_through", allow_null=True)
    high_rating = IntervalSerializer(source="rates.high_rating", allow_null=True)


class ComparisonSerializer(serializers.Serializer):
    metric = serializers.CharField()
    description = serializers.CharField(source="label")
    difference = IntervalSerializer(help_text="B minus A, with its 95% interval (Welch).")
    p_value = serializers.FloatField()
    significant = serializers.BooleanField()


class ExperimentResultsSerializer(serializers.Serializer):
    arms = ArmResultSerializer(many=True)
    comparisons = ComparisonSerializer(many=True)
    significant = serializers.BooleanField(help_text="Click-through differs at p < 0.05.")
    enough_people = serializers.BooleanField(
        help_text="Each arm has at least EXPERIMENT_MIN_PEOPLE people."
    )
    winner = serializers.CharField(help_text="`a`, `b`, or empty: no winner (yet).")
    aggregate_days = serializers.IntegerField(
        help_text="Days counted from daily aggregates only (their raw impressions expired)."
    )
    since = serializers.DateTimeField(allow_null=True)


class ExperimentSerializer(serializers.ModelSerializer):
    version_a_label = serializers.CharField(source="version_a.label", read_only=True)
    version_b_label = serializers.CharField(
        source="version_b.label", read_only=True, allow_null=True
    )
    started_by = serializers.CharField(
        source="started_by.username", read_only=True, allow_null=True
    )

    class Meta:
        model = Experiment
        fields = [
            "id",
            "name",
            "kind",
            "version_a",
            "version_a_label",
            "version_b",
            "version_b_label",
            "share",
            "status",
            "started_at",
            "stopped_at",
            "started_by",
            "winner",
        ]
        read_only_fields = fields


class ExperimentDetailSerializer(ExperimentSerializer):
    results = serializers.SerializerMethodField()

    @extend_schema_field(ExperimentResultsSerializer)
    def get_results(self, experiment: Experiment) -> dict[str, Any]:
        return dict(ExperimentResultsSerializer(experiments.results(experiment)).data)

    class Meta(ExperimentSerializer.Meta):
        fields = [*ExperimentSerializer.Meta.fields, "results"]
        read_only_fields = fields
