"""Django admin for the pipeline's records: read-only, since workers and the registry write them.

Changing a status by hand would bypass the one-live-run and one-active-version rules; staff
train, activate and roll back from the staff dashboard, which the admin pages link to.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html_join

from .models import ModelVersion, Snapshot, TrainingRun
from .staff_metrics import metrics_text


class ReadOnlyAdmin(admin.ModelAdmin):
    change_list_template = "recommender/admin/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ShownMetricsAdmin(ReadOnlyAdmin):
    """The raw metrics may hold counts of people or names nobody vetted: the page shows only
    the allow-listed ones (recommender.staff_metrics), as the dashboard does."""

    exclude = ["metrics"]
    readonly_fields = ["shown_metrics"]

    @admin.display(description="metrics")
    def shown_metrics(self, obj: TrainingRun | ModelVersion) -> str:
        return format_html_join(", ", "{} {}", metrics_text(obj.metrics)) or "none"


@admin.register(TrainingRun)
class TrainingRunAdmin(ShownMetricsAdmin):
    list_display = [
        "id",
        "kind",
        "status",
        "progress",
        "stage",
        "trigger",
        "requested_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["kind", "status", "trigger"]
    list_select_related = ["requested_by"]
    date_hierarchy = "created_at"


@admin.register(ModelVersion)
class ModelVersionAdmin(ShownMetricsAdmin):
    list_display = [
        "id",
        "label",  # numbered per kind: sequence-v3
        "kind",
        "status",
        "main_metric",
        "main_metric_value",
        "created_at",
        "activated_at",
        "needs_retrain_since",
    ]
    list_filter = ["kind", "status"]
    date_hierarchy = "created_at"


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "data_hash", "path"]
    date_hierarchy = "created_at"
    # The counts include how many people consented; the dashboard shows them only for groups
    # of at least PRIVACY_MIN_GROUP_SIZE, so they are not shown raw here.
    exclude = ["counts"]
