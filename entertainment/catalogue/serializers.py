"""API shapes of the catalogue: genres, items in lists, one item in full, and staff writes."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request

from entertainment.strict_fields import STRICT_FIELD_MAPPING, StrictCharField

from .artwork import validate_artwork
from .models import Creator, Credit, ExternalId, Genre, Item, Kind, MusicType

SMALL_INT_MAX = 32767
INT_MAX = 2**31 - 1


def _absolute(request: Request | None, url: str) -> str:
    return request.build_absolute_uri(url) if request is not None else url


class GenreSerializer(serializers.ModelSerializer[Genre]):
    class Meta:
        model = Genre
        fields = ["id", "kind", "name", "slug"]


class CreditedSerializer(serializers.ModelSerializer[Creator]):
    class Meta:
        model = Creator
        fields = ["id", "name"]


class CreditsSerializer(serializers.Serializer):
    """Creators by role, in billing order."""

    director = CreditedSerializer(many=True, required=False)
    cast = CreditedSerializer(many=True, required=False)
    artist = CreditedSerializer(many=True, required=False)
    developer = CreditedSerializer(many=True, required=False)
    publisher = CreditedSerializer(many=True, required=False)


class CreditNamesSerializer(serializers.Serializer):
    """Creators by role, in billing order, by name (new names become new creators)."""

    director = serializers.ListField(
        child=StrictCharField(max_length=255), max_length=100, required=False
    )
    cast = serializers.ListField(
        child=StrictCharField(max_length=255), max_length=100, required=False
    )
    artist = serializers.ListField(
        child=StrictCharField(max_length=255), max_length=100, required=False
    )
    developer = serializers.ListField(
        child=StrictCharField(max_length=255), max_length=100, required=False
    )
    publisher = serializers.ListField(
        child=StrictCharField(max_length=255), max_length=100, required=False
    )


class ExternalIdSerializer(serializers.ModelSerializer[ExternalId]):
    serializer_field_mapping = STRICT_FIELD_MAPPING

    class Meta:
        model = ExternalId
        fields = ["source", "value"]
        validators: list[Any] = []  # checked against other items in ItemWriteSerializer


class ItemListSerializer(serializers.ModelSerializer[Item]):
    genres = GenreSerializer(many=True, read_only=True)
    thumbnail_url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()

    class Meta:
        model = Item
        fields = [
            "id",
            "kind",
            "title",
            "year",
            "music_type",
            "genres",
            "thumbnail_url",
            "page_url",
        ]

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_thumbnail_url(self, item: Item) -> str | None:
        if not item.artwork_thumbnail:
            return None
        return _absolute(self.context.get("request"), item.artwork_thumbnail.url)

    def get_page_url(self, item: Item) -> str:
        return _absolute(self.context.get("request"), item.get_absolute_url())


class ItemDetailSerializer(ItemListSerializer):
    credits = serializers.SerializerMethodField()
    external_ids = ExternalIdSerializer(many=True, read_only=True)
    artwork_url = serializers.SerializerMethodField()

    class Meta:
        model = Item
        fields = [
            "id",
            "kind",
            "title",
            "description",
            "year",
            "genres",
            "credits",
            "external_ids",
            "runtime_minutes",
            "music_type",
            "parent",
            "position",
            "duration_seconds",
            "platforms",
            "artwork_url",
            "thumbnail_url",
            "page_url",
            "created_at",
            "updated_at",
        ]

    @extend_schema_field(CreditsSerializer)
    def get_credits(self, item: Item) -> dict[str, list[dict[str, Any]]]:
        by_role: dict[str, list[dict[str, Any]]] = {}
        for credit in sorted(item.credits.all(), key=lambda c: (c.role, c.order, c.pk)):
            by_role.setdefault(credit.role, []).append(
                {"id": credit.creator_id, "name": credit.creator.name}
            )
        return by_role

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_artwork_url(self, item: Item) -> str | None:
        if not item.artwork:
            return None
        return _absolute(self.context.get("request"), item.artwork.url)


class ItemWriteSerializer(serializers.ModelSerializer[Item]):
    """What staff send to create or change an item. Artwork has its own endpoint."""

    genres = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Genre.objects.all(), required=False
    )
    credits = CreditNamesSerializer(required=False)
    external_ids = ExternalIdSerializer(many=True, required=False)
    platforms = serializers.ListField(
        child=StrictCharField(max_length=64), max_length=50, required=False
    )
    # A field, popped from the class by DRF's metaclass (Field.parent is unaffected).
    parent = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]
        queryset=Item.objects.filter(kind=Kind.MUSIC), required=False, allow_null=True
    )

    # Text as text: DRF would take the number 0 for a title and store "0".
    serializer_field_mapping = STRICT_FIELD_MAPPING

    class Meta:
        model = Item
        fields = [
            "kind",
            "title",
            "description",
            "year",
            "genres",
            "credits",
            "external_ids",
            "runtime_minutes",
            "music_type",
            "parent",
            "position",
            "duration_seconds",
            "platforms",
        ]
        # Bounds of the columns on every database (SQLite would store anything, PostgreSQL
        # would fail with a server error).
        extra_kwargs = {
            "year": {"min_value": 0, "max_value": SMALL_INT_MAX},
            "runtime_minutes": {"min_value": 0, "max_value": SMALL_INT_MAX},
            "position": {"min_value": 0, "max_value": INT_MAX},
            "duration_seconds": {"min_value": 0, "max_value": INT_MAX},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance: Item | None = self.instance
        kind = attrs.get("kind", instance.kind if instance else None)
        problems: dict[str, str] = {}
        wrong = [g.name for g in attrs.get("genres", []) if g.kind != kind]
        if wrong:
            problems["genres"] = f"Not {kind} genres: {', '.join(wrong)}."
        music_type = attrs.get("music_type", instance.music_type if instance else "")
        if kind != Kind.MUSIC and music_type:
            problems["music_type"] = "Only music has a music type."
        if kind == Kind.MUSIC and not music_type:
            attrs["music_type"] = MusicType.TRACK
        clashes = Q()
        for external in attrs.get("external_ids", []):
            clashes |= Q(source=external["source"], value=external["value"])
        if clashes:
            taken = ExternalId.objects.filter(clashes)
            if instance is not None:
                taken = taken.exclude(item=instance)
            names = [f"{e.source}:{e.value}" for e in taken]
            if names:
                problems["external_ids"] = f"Already used by other items: {', '.join(names)}."
        if problems:
            raise serializers.ValidationError(problems)
        return attrs

    @transaction.atomic
    def create(self, validated_data: dict[str, Any]) -> Item:
        return self._save(Item(), validated_data)

    @transaction.atomic
    def update(self, instance: Item, validated_data: dict[str, Any]) -> Item:
        return self._save(instance, validated_data)

    def _save(self, item: Item, data: dict[str, Any]) -> Item:
        genres = data.pop("genres", None)
        credits = data.pop("credits", None)
        external_ids = data.pop("external_ids", None)
        for name, value in data.items():
            setattr(item, name, value)
        item.save()
        if genres is not None:
            item.genres.set(genres)
        if credits is not None:
            _replace_credits(item, credits)
        if external_ids is not None:
            item.external_ids.all().delete()
            ExternalId.objects.bulk_create(
                [ExternalId(item=item, **external) for external in external_ids]
            )
        return item


def _replace_credits(item: Item, names_by_role: dict[str, list[str]]) -> None:
    """Roles named in the request are replaced; roles not named are left as they are."""
    names = {name for role_names in names_by_role.values() for name in role_names}
    Creator.objects.bulk_create([Creator(name=name) for name in names], ignore_conflicts=True)
    creators = {c.name: c for c in Creator.objects.filter(name__in=names)}
    item.credits.filter(role__in=list(names_by_role)).delete()
    credits: list[Credit] = []
    for role, role_names in names_by_role.items():
        for order, name in enumerate(dict.fromkeys(role_names)):
            credits.append(Credit(item=item, creator=creators[name], role=role, order=order))
    Credit.objects.bulk_create(credits)


class ArtworkUploadSerializer(serializers.Serializer):
    artwork = serializers.FileField(
        validators=[validate_artwork],
        help_text="JPEG, PNG, WebP or GIF, within the size and pixel limits.",
    )
