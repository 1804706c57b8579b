"""API endpoints of the catalogue: items (read for everyone, written by staff) and genres."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from entertainment.api_errors import error_responses
from entertainment.strict_fields import WholeNumberFormField

from .artwork import set_artwork
from .models import Credit, Genre, Item, Kind
from .serializers import (
    SMALL_INT_MAX,
    ArtworkUploadSerializer,
    GenreSerializer,
    ItemDetailSerializer,
    ItemListSerializer,
    ItemWriteSerializer,
)


class IsStaffOrReadOnly(permissions.BasePermission):
    message = "Only staff may change the catalogue."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class YearFilter(django_filters.NumberFilter):
    """A year, written whole: django-filter's NumberFilter takes any decimal (`year_min=0.5`)."""

    field_class = WholeNumberFormField


YEAR_SCHEMA = {"type": "integer", "minimum": 0, "maximum": SMALL_INT_MAX}


class ItemFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Kind.choices)
    genre = django_filters.CharFilter(
        field_name="genres__slug", distinct=True, help_text="A genre's slug."
    )
    year_min = extend_schema_field(YEAR_SCHEMA)(
        YearFilter(field_name="year", lookup_expr="gte", min_value=0, max_value=SMALL_INT_MAX)
    )
    year_max = extend_schema_field(YEAR_SCHEMA)(
        YearFilter(field_name="year", lookup_expr="lte", min_value=0, max_value=SMALL_INT_MAX)
    )

    class Meta:
        model = Item
        fields = ["kind", "genre", "year_min", "year_max", "music_type"]


@extend_schema_view(
    list=extend_schema(
        summary="Items of the catalogue",
        description=(
            "Filter by kind, genre slug and year range; `search` looks in titles and "
            "creators' names; `ordering` by title, year, created_at or updated_at "
            "(`-` for descending)."
        ),
        responses={200: ItemListSerializer(many=True), **error_responses(400)},
    ),
    retrieve=extend_schema(
        summary="One item in full",
        responses={200: ItemDetailSerializer, **error_responses(404)},
    ),
    create=extend_schema(
        summary="Add an item (staff)",
        responses={201: ItemDetailSerializer, **error_responses(400, 401, 403)},
    ),
    update=extend_schema(
        summary="Change an item (staff)",
        responses={200: ItemDetailSerializer, **error_responses(400, 401, 403, 404)},
    ),
    partial_update=extend_schema(
        summary="Change an item (staff)",
        responses={200: ItemDetailSerializer, **error_responses(400, 401, 403, 404)},
    ),
    destroy=extend_schema(
        summary="Delete an item (staff)",
        responses={204: None, **error_responses(401, 403, 404)},
    ),
)
class ItemViewSet(viewsets.ModelViewSet[Item]):
    permission_classes = [IsStaffOrReadOnly]
    filterset_class = ItemFilter
    search_fields = ["title", "credits__creator__name"]
    ordering_fields = ["title", "year", "created_at", "updated_at"]
    ordering = ["title", "pk"]

    def get_queryset(self) -> QuerySet[Item]:
        items = Item.objects.prefetch_related("genres")
        if self.action != "list":
            items = items.prefetch_related(
                Prefetch("credits", queryset=Credit.objects.select_related("creator")),
                "external_ids",
            )
        return items

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "list":
            return ItemListSerializer
        if self.action in ("create", "update", "partial_update"):
            return ItemWriteSerializer
        if self.action == "artwork":
            return ArtworkUploadSerializer
        return ItemDetailSerializer

    def _detail(self, item: Item, status_code: int = 200) -> Response:
        fresh = self.get_queryset().get(pk=item.pk)
        body = ItemDetailSerializer(fresh, context=self.get_serializer_context()).data
        return Response(body, status=status_code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._detail(serializer.save(), status_code=201)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(
            self.get_object(), data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        return self._detail(serializer.save())

    @extend_schema(
        summary="Replace an item's artwork (staff)",
        request={"multipart/form-data": ArtworkUploadSerializer},
        responses={200: ItemDetailSerializer, **error_responses(400, 401, 403, 404)},
    )
    @action(detail=True, methods=["put"], parser_classes=[MultiPartParser])
    def artwork(self, request: Request, pk: str | None = None) -> Response:
        item = self.get_object()
        serializer = ArtworkUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["artwork"]
        set_artwork(item, upload, upload.name or "artwork")
        return self._detail(item)


@extend_schema_view(
    list=extend_schema(summary="Genres, per kind", responses={200: GenreSerializer(many=True)}),
    retrieve=extend_schema(
        summary="One genre", responses={200: GenreSerializer, **error_responses(404)}
    ),
)
class GenreViewSet(viewsets.ReadOnlyModelViewSet[Genre]):
    queryset = Genre.objects.all()
    serializer_class = GenreSerializer
    filterset_fields = ["kind"]
    search_fields = ["name"]
    ordering_fields = ["kind", "name"]
