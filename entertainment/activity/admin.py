"""Staff screens for ratings, plays and reviews: raw personal history behind its own permission.

Seeing what one person rated, played or wrote takes `accounts.view_personal_data` on top of
the usual model permission, so a catalogue editor with broad staff rights still sees none of
it (the counts per item on the catalogue screens are aggregates and stay visible).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Play, Rating, Review

PERSONAL_DATA = "accounts.view_personal_data"


class PersonalDataAdmin(admin.ModelAdmin):
    raw_id_fields = ["user", "item"]
    list_select_related = ["user", "item"]
    search_fields = ["user__username", "item__title", "client_event_id"]
    show_full_result_count = False
    list_per_page = 100

    @staticmethod
    def _may_see_personal_data(request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.has_perm(PERSONAL_DATA))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may_see_personal_data(request) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_see_personal_data(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._may_see_personal_data(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_see_personal_data(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_see_personal_data(request) and super().has_delete_permission(request, obj)


@admin.register(Rating)
class RatingAdmin(PersonalDataAdmin):
    list_display = ["user", "item", "value", "updated_at", "created_at"]
    list_filter = ["value", "item__kind", "user__imported_from"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Play)
class PlayAdmin(PersonalDataAdmin):
    list_display = [
        "user",
        "item",
        "started_at",
        "seconds_played",
        "play_count",
        "completed",
    ]
    list_filter = ["completed", "item__kind", "user__imported_from"]
    readonly_fields = ["created_at"]


@admin.register(Review)
class ReviewAdmin(PersonalDataAdmin):
    list_display = ["user", "item", "rating", "sentiment", "sentiment_score", "updated_at"]
    list_filter = ["sentiment", "item__kind"]
    search_fields = [*PersonalDataAdmin.search_fields, "text"]
    date_hierarchy = "updated_at"
    # Filled by the sentiment model, not by hand.
    readonly_fields = [
        "sentiment",
        "sentiment_score",
        "sentiment_model_version",
        "created_at",
        "updated_at",
    ]
