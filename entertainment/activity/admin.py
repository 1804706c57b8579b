"""Staff screens for ratings, plays and reviews: raw personal history behind its own permission.

Seeing what one person rated, played or wrote takes `accounts.view_personal_data` on top of
the usual model permission, so a catalogue editor with broad staff rights still sees none of
it (the counts per item on the catalogue screens are aggregates and stay visible).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from entertainment.accounts.audit import AuditedPersonalDataAdmin

from .models import Play, Rating, Review
from .signals import history_changing


class PersonalDataAdmin(AuditedPersonalDataAdmin):
    """The permission checks and the audit log of each look come from AuditedPersonalDataAdmin.

    A deletion here acts on the recommender's snapshots and models as an erasure of the row
    (through pre_delete/post_delete); so does a change, announced before it is saved."""

    raw_id_fields = ["user", "item"]
    list_select_related = ["user", "item"]
    search_fields = ["user__username", "item__title", "client_event_id"]
    show_full_result_count = False
    list_per_page = 100

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:  # the admin's change view runs in one transaction: the signal is in it
            stored = type(obj)._default_manager.filter(pk=obj.pk).values_list("user_id", flat=True)
            # Whose row it was (the form may give it to someone else).
            history_changing.send(sender=type(obj), user_ids=list(stored))
        super().save_model(request, obj, form, change)


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
