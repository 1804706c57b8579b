"""Staff screens for the catalogue: items with artwork, credits, ids and activity counts."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from . import artwork
from .models import Creator, Credit, ExternalId, Genre, Item

THUMB_LIST_WIDTH = 48


class DecadeFilter(admin.SimpleListFilter):
    title = "year"
    parameter_name = "decade"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        years = Item.objects.exclude(year=None).order_by().values_list("year", flat=True)
        decades = sorted({y // 10 * 10 for y in years.distinct() if y is not None}, reverse=True)
        return [(str(d), f"{d}s") for d in decades] + [("none", "No year")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "none":
            return queryset.filter(year=None)
        if value and value.isdigit():
            start = int(value)
            return queryset.filter(year__gte=start, year__lt=start + 10)
        return queryset


class GenreActionForm(ActionForm):
    """The action bar, with the genre that "add"/"remove genre" apply."""

    genre = forms.ModelChoiceField(
        queryset=Genre.objects.all(), required=False, label="Genre for the genre actions"
    )


class CreditInline(admin.TabularInline):
    model = Credit
    extra = 0
    autocomplete_fields = ["creator"]
    fields = ["creator", "role", "order"]


class ExternalIdInline(admin.TabularInline):
    model = ExternalId
    extra = 0
    fields = ["source", "value"]


def thumbnail_html(item: Item, width: int) -> SafeString | str:
    if not item.artwork_thumbnail:
        return "—"
    return format_html(
        '<img src="{}" width="{}" alt="Artwork of {}" loading="lazy">',
        item.artwork_thumbnail.url,
        width,
        item.title,
    )


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "title",
        "kind",
        "year",
        "music_type",
        "rating_count",
        "play_count",
        "review_count",
        "updated_at",
    ]
    list_display_links = ["thumbnail", "title"]
    list_filter = ["kind", DecadeFilter, "music_type", ("genres", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "credits__creator__name", "external_ids__value"]
    search_help_text = "Title, creator name or an external id (e.g. a MovieLens id)."
    list_per_page = 50
    show_full_result_count = False
    autocomplete_fields = ["genres", "parent"]
    inlines = [CreditInline, ExternalIdInline]
    action_form = GenreActionForm
    actions = ["regenerate_thumbnails", "add_genre", "remove_genre"]
    readonly_fields = [
        "artwork_preview",
        "rating_count",
        "play_count",
        "review_count",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["kind", "title", "description", "year", "genres"]}),
        ("Artwork", {"fields": ["artwork", "artwork_preview"]}),
        ("Film", {"fields": ["runtime_minutes"], "classes": ["collapse"]}),
        (
            "Music",
            {
                "fields": ["music_type", "parent", "position", "duration_seconds"],
                "classes": ["collapse"],
            },
        ),
        ("Game", {"fields": ["platforms"], "classes": ["collapse"]}),
        (
            "Activity",
            {"fields": ["rating_count", "play_count", "review_count", "created_at", "updated_at"]},
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Item]:
        return super().get_queryset(request).with_activity_counts()  # type: ignore[attr-defined]

    @admin.display(description="Artwork")
    def thumbnail(self, item: Item) -> SafeString | str:
        return thumbnail_html(item, THUMB_LIST_WIDTH)

    @admin.display(description="Thumbnail")
    def artwork_preview(self, item: Item) -> SafeString | str:
        return thumbnail_html(item, artwork.THUMBNAIL_WIDTH)

    @admin.display(description="Ratings", ordering="rating_count")
    def rating_count(self, item: Item) -> int:
        return getattr(item, "rating_count", 0)

    @admin.display(description="Plays", ordering="play_count")
    def play_count(self, item: Item) -> int:
        return getattr(item, "play_count", 0)

    @admin.display(description="Reviews", ordering="review_count")
    def review_count(self, item: Item) -> int:
        return getattr(item, "review_count", 0)

    @admin.action(description="Regenerate the artwork thumbnails", permissions=["change"])
    def regenerate_thumbnails(self, request: HttpRequest, queryset: QuerySet[Item]) -> None:
        done = failed = 0
        for item in queryset.exclude(artwork=""):
            try:
                artwork.refresh_thumbnail(item)
            except (OSError, ValueError) as exc:
                failed += 1
                self.message_user(request, f"{item}: {exc}", messages.WARNING)
            else:
                done += 1
        self.message_user(request, f"Regenerated {done} thumbnail(s).", messages.SUCCESS)
        if failed:
            self.message_user(request, f"{failed} could not be read.", messages.WARNING)

    @admin.action(description="Add the chosen genre", permissions=["change"])
    def add_genre(self, request: HttpRequest, queryset: QuerySet[Item]) -> None:
        genre = self._chosen_genre(request)
        if genre is None:
            return
        matching = queryset.filter(kind=genre.kind)
        through = Item.genres.through
        have = set(
            through.objects.filter(genre=genre, item__in=matching).values_list("item_id", flat=True)
        )
        links = [
            through(item_id=pk, genre_id=genre.pk)
            for pk in matching.values_list("pk", flat=True)
            if pk not in have
        ]
        through.objects.bulk_create(links)
        self._report(request, f"Added {genre.name} to {len(links)} item(s).", queryset, genre)

    @admin.action(description="Remove the chosen genre", permissions=["change"])
    def remove_genre(self, request: HttpRequest, queryset: QuerySet[Item]) -> None:
        genre = self._chosen_genre(request)
        if genre is None:
            return
        removed, _ = Item.genres.through.objects.filter(
            genre=genre, item__in=queryset.values("pk")
        ).delete()
        self.message_user(
            request, f"Removed {genre.name} from {removed} item(s).", messages.SUCCESS
        )

    def _chosen_genre(self, request: HttpRequest) -> Genre | None:
        # Only this field: the form's "action" choices are filled in by the changelist view.
        try:
            genre = GenreActionForm.base_fields["genre"].clean(request.POST.get("genre"))
        except ValidationError:
            genre = None
        if genre is None:
            self.message_user(request, "Choose a genre next to the action first.", messages.ERROR)
        return genre

    def _report(
        self, request: HttpRequest, text: str, queryset: QuerySet[Item], genre: Genre
    ) -> None:
        self.message_user(request, text, messages.SUCCESS)
        other_kind = queryset.exclude(kind=genre.kind).count()
        if other_kind:
            self.message_user(
                request,
                f"{other_kind} item(s) left alone: {genre.name} is a "
                f"{genre.get_kind_display().lower()} genre.",
                messages.WARNING,
            )


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "slug", "item_count"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Genre]:
        return super().get_queryset(request).annotate(item_total=Count("items"))

    @admin.display(description="Items", ordering="item_total")
    def item_count(self, genre: Genre) -> int:
        return getattr(genre, "item_total", 0)


@admin.register(Creator)
class CreatorAdmin(admin.ModelAdmin):
    list_display = ["name", "item_count"]
    search_fields = ["name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Creator]:
        return (
            super().get_queryset(request).annotate(item_total=Count("credits__item", distinct=True))
        )

    @admin.display(description="Items", ordering="item_total")
    def item_count(self, creator: Creator) -> int:
        return getattr(creator, "item_total", 0)
