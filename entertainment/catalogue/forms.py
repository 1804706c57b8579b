"""The catalogue pages' filter form: search, genre, years and order, from the query string."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Count, F

from .models import Genre, ItemQuerySet, MusicType

SORTS: dict[str, tuple[str, list[Any]]] = {
    "title": ("Title (A to Z)", ["title", "pk"]),
    "newest": ("Newest in the catalogue", ["-created_at", "-pk"]),
    "year": ("Year (latest first)", [F("year").desc(nulls_last=True), "title", "pk"]),
    "popular": ("Most rated", ["-n_ratings", "title", "pk"]),
}


class CatalogueFilterForm(forms.Form):
    """Every field is optional; an empty form lists everything of the kind."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Title, director, artist…"}),
    )
    genre = forms.ModelChoiceField(
        label="Genre",
        queryset=Genre.objects.none(),
        required=False,
        to_field_name="slug",
        empty_label="Any genre",
    )
    year_from = forms.IntegerField(
        label="From year", required=False, min_value=1800, max_value=2100
    )
    year_to = forms.IntegerField(label="To year", required=False, min_value=1800, max_value=2100)
    sort = forms.ChoiceField(
        label="Order by",
        required=False,
        choices=[(key, label) for key, (label, _) in SORTS.items()],
    )

    def __init__(self, *args: Any, kind: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        if kind is None:
            # Search across every kind: genres are per kind, so the filter makes no sense here.
            del self.fields["genre"]
        else:
            genre_field = self.fields["genre"]
            assert isinstance(genre_field, forms.ModelChoiceField)
            genre_field.queryset = Genre.objects.filter(kind=kind).order_by("name")
        if kind == "music":
            self.fields["music_type"] = forms.ChoiceField(
                label="Type",
                required=False,
                choices=[("", "Tracks, albums and artists"), *MusicType.choices],
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        year_from, year_to = cleaned.get("year_from"), cleaned.get("year_to")
        if year_from is not None and year_to is not None and year_from > year_to:
            self.add_error("year_to", "The end year must not be before the start year.")
        return cleaned

    def filter(self, items: ItemQuerySet) -> ItemQuerySet:
        """Narrow and order `items` by the cleaned values (call only on a valid form)."""
        data = self.cleaned_data
        if data.get("q"):
            items = items.search(data["q"])
        if data.get("genre"):
            items = items.filter(genres=data["genre"])
        if data.get("year_from") is not None:
            items = items.filter(year__gte=data["year_from"])
        if data.get("year_to") is not None:
            items = items.filter(year__lte=data["year_to"])
        if data.get("music_type"):
            items = items.filter(music_type=data["music_type"])
        sort = data.get("sort") or ("title" if not data.get("q") else "popular")
        if sort == "popular":
            items = items.annotate(n_ratings=Count("ratings", distinct=True))
        return items.order_by(*SORTS[sort][1])

    @property
    def is_filtered(self) -> bool:
        return any(self.cleaned_data.get(name) for name in ("q", "genre", "music_type")) or any(
            self.cleaned_data.get(name) is not None for name in ("year_from", "year_to")
        )
