"""API endpoints for the caller's own ratings, plays and reviews, and bulk ingestion.

Every list and lookup is filtered to the caller's rows, so another person's row id answers
404, exactly like an id that does not exist. Writes go through recording.py:

- 201 with the row when a write stored a new row;
- 200 with the row when it updated one (a second rating of the same item) or repeated a
  client_event_id already used (the stored row, unchanged);
- 202 with `{"recorded": false, "reason": "history_paused", ...}` when the person's history
  is paused: the request was understood, and on purpose nothing was stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import django_filters
from django.db import IntegrityError, models
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from entertainment.accounts.models import User
from entertainment.api_errors import error_responses
from entertainment.parsers import BoundedJSONParser
from entertainment.strict_fields import WholeNumberFormField
from entertainment.throttling import BulkIngestThrottle

from .ingest import IngestRejected, ingest
from .models import Dismissal, Play, Rating, Review
from .parsers import JSONLinesParser, NDJSONParser, ParsedLines
from .recording import (
    Recorded,
    record_dismissal,
    record_play,
    record_rating,
    record_review,
    undo_dismissal,
    update_play,
)
from .serializers import (
    MAX_DB_ID,
    NOT_RECORDED_BODY,
    ClickEventSerializer,
    DismissalSerializer,
    ImpressionEventSerializer,
    IngestRejectedSerializer,
    IngestResultSerializer,
    NotRecordedSerializer,
    PlayEventSerializer,
    PlaySerializer,
    PlayUpdateSerializer,
    RatingEventSerializer,
    RatingSerializer,
    RatingUpdateSerializer,
    ReviewEventSerializer,
    ReviewSerializer,
    ReviewUpdateSerializer,
)

T = TypeVar("T", bound=models.Model)


def _with_one_retry(write: Callable[[], Recorded[T]]) -> Recorded[T]:
    """Two requests with the same new client_event_id at once: the loser sees the winner's row."""
    try:
        return write()
    except IntegrityError:
        return write()


def _write_responses(serializer: type[serializers.Serializer], created: bool) -> dict[Any, Any]:
    responses: dict[Any, Any] = {
        200: OpenApiResponse(
            serializer,
            description="Updated, or a repeated client_event_id: the stored row.",
        ),
        202: OpenApiResponse(
            NotRecordedSerializer,
            description="Nothing stored: the person's history is paused.",
        ),
        **error_responses(400, 401, 403, 404),
    }
    if created:
        responses[201] = OpenApiResponse(serializer, description="Stored as a new row.")
    return responses


class ItemIdFilter(django_filters.NumberFilter):
    """An item's id, written whole: an id no item has gives an empty list, not a 400
    (django-filter's default, a choice among the items, refuses it); bounded like every id the
    API reads."""

    field_class = WholeNumberFormField


class ActivityFilter(django_filters.FilterSet):
    item = extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_DB_ID})(
        ItemIdFilter(field_name="item_id", min_value=1, max_value=MAX_DB_ID)
    )


class OwnActivityViewSet(viewsets.ModelViewSet):
    """The caller's own rows of one activity model; subclasses write through recording.py."""

    model: ClassVar[type[Rating] | type[Play] | type[Review]]
    update_serializer_class: ClassVar[type[serializers.Serializer]]
    permission_classes = [IsAuthenticated]
    filterset_class = ActivityFilter
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self) -> models.QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no person
            return self.model._default_manager.none()
        return self.model._default_manager.filter(user=self.person).select_related("item")

    @property
    def person(self) -> User:
        # IsAuthenticated ran first: the caller is a stored account.
        assert isinstance(self.request.user, User)
        return self.request.user

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action in ("update", "partial_update"):
            return self.update_serializer_class
        return super().get_serializer_class()

    def record(self, data: dict[str, Any], row: Any = None) -> Recorded[Any]:
        raise NotImplementedError

    def _answer(self, outcome: Recorded[Any]) -> Response:
        if not outcome.stored:
            return Response(NOT_RECORDED_BODY, status=status.HTTP_202_ACCEPTED)
        read_serializer = type(self).serializer_class
        assert read_serializer is not None
        body = read_serializer(outcome.row, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED if outcome.created else 200)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._answer(_with_one_retry(lambda: self.record(serializer.validated_data)))

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        row = self.get_object()
        serializer = self.get_serializer(
            row, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        return self._answer(_with_one_retry(lambda: self.record(serializer.validated_data, row)))

    def perform_destroy(self, instance: Any) -> None:
        # Deleting is always allowed, paused or not: it is the person taking data back. The
        # recommender acts on snapshots and models through pre_delete/post_delete; a rating or
        # review rewritten, or a play corrected, through activity.recording.
        instance.delete()


@extend_schema_view(
    list=extend_schema(
        summary="Your ratings",
        responses={200: RatingSerializer(many=True), **error_responses(400, 401)},
    ),
    retrieve=extend_schema(
        summary="One of your ratings",
        responses={200: RatingSerializer, **error_responses(401, 404)},
    ),
    create=extend_schema(
        summary="Rate an item (a second rating of the same item updates the first)",
        responses=_write_responses(RatingSerializer, created=True),
    ),
    update=extend_schema(
        summary="Change a rating", responses=_write_responses(RatingSerializer, created=False)
    ),
    partial_update=extend_schema(
        summary="Change a rating", responses=_write_responses(RatingSerializer, created=False)
    ),
    destroy=extend_schema(
        summary="Delete a rating", responses={204: None, **error_responses(401, 404)}
    ),
)
class RatingViewSet(OwnActivityViewSet):
    model = Rating
    serializer_class = RatingSerializer
    update_serializer_class = RatingUpdateSerializer
    ordering_fields = ["updated_at", "created_at", "value"]

    def record(self, data: dict[str, Any], row: Any = None) -> Recorded[Any]:
        if row is None:
            item, value = data["item"], data["value"]
        else:
            item, value = row.item, data.get("value", row.value)
        return record_rating(self.person, item, value, data.get("client_event_id"))


@extend_schema_view(
    list=extend_schema(
        summary="Your plays",
        responses={200: PlaySerializer(many=True), **error_responses(400, 401)},
    ),
    retrieve=extend_schema(
        summary="One of your plays", responses={200: PlaySerializer, **error_responses(401, 404)}
    ),
    create=extend_schema(
        summary="Record a play", responses=_write_responses(PlaySerializer, created=True)
    ),
    update=extend_schema(
        summary="Correct a play", responses=_write_responses(PlaySerializer, created=False)
    ),
    partial_update=extend_schema(
        summary="Correct a play", responses=_write_responses(PlaySerializer, created=False)
    ),
    destroy=extend_schema(
        summary="Delete a play", responses={204: None, **error_responses(401, 404)}
    ),
)
class PlayViewSet(OwnActivityViewSet):
    model = Play
    serializer_class = PlaySerializer
    update_serializer_class = PlayUpdateSerializer
    ordering_fields = ["started_at", "created_at"]

    def record(self, data: dict[str, Any], row: Any = None) -> Recorded[Any]:
        if row is not None:
            return update_play(
                row,
                started_at=data.get("started_at", row.started_at),
                seconds_played=data.get("seconds_played", row.seconds_played),
                completed=data.get("completed", row.completed),
            )
        return record_play(
            self.person,
            data["item"],
            started_at=data.get("started_at"),
            seconds_played=data.get("seconds_played", 0),
            completed=data.get("completed", False),
            client_event_id=data.get("client_event_id"),
        )


@extend_schema_view(
    list=extend_schema(
        summary="Your reviews",
        responses={200: ReviewSerializer(many=True), **error_responses(400, 401)},
    ),
    retrieve=extend_schema(
        summary="One of your reviews",
        responses={200: ReviewSerializer, **error_responses(401, 404)},
    ),
    create=extend_schema(
        summary="Review an item (a second review of the same item replaces the first)",
        responses=_write_responses(ReviewSerializer, created=True),
    ),
    update=extend_schema(
        summary="Rewrite a review", responses=_write_responses(ReviewSerializer, created=False)
    ),
    partial_update=extend_schema(
        summary="Rewrite a review", responses=_write_responses(ReviewSerializer, created=False)
    ),
    destroy=extend_schema(
        summary="Delete a review", responses={204: None, **error_responses(401, 404)}
    ),
)
class ReviewViewSet(OwnActivityViewSet):
    model = Review
    serializer_class = ReviewSerializer
    update_serializer_class = ReviewUpdateSerializer
    ordering_fields = ["updated_at", "created_at", "rating"]

    def record(self, data: dict[str, Any], row: Any = None) -> Recorded[Any]:
        return record_review(
            self.person,
            row.item if row is not None else data["item"],
            text=data.get("text", row.text if row is not None else ""),
            rating=data.get("rating", row.rating if row is not None else None),
            client_event_id=data.get("client_event_id"),
        )


@extend_schema_view(
    list=extend_schema(
        summary='Your "not for me" items',
        responses={200: DismissalSerializer(many=True), **error_responses(400, 401)},
    ),
    retrieve=extend_schema(
        summary='Whether you marked an item "not for me"',
        responses={200: DismissalSerializer, **error_responses(401, 404)},
    ),
    create=extend_schema(
        summary='Mark an item "not for me"',
        description=(
            "The item leaves every list of yours at once and counts against items like it. "
            "Stored even while your history is paused: it is a control, not history. A second "
            "mark of the same item answers 200 with the first."
        ),
        responses={
            201: OpenApiResponse(DismissalSerializer, description="Stored as a new row."),
            200: OpenApiResponse(
                DismissalSerializer, description="Already marked: the stored row, unchanged."
            ),
            **error_responses(400, 401, 403),
        },
    ),
    destroy=extend_schema(
        summary='Take a "not for me" back (by item id)',
        responses={204: None, **error_responses(401, 403, 404)},
    ),
)
class DismissalViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Dismissal]
):
    """The caller's "not for me" marks, addressed by item id."""

    serializer_class = DismissalSerializer
    permission_classes = [IsAuthenticated]
    filterset_class = ActivityFilter
    ordering_fields = ["created_at"]
    lookup_field = "item_id"
    lookup_url_kwarg = "item"
    lookup_value_regex = "[0-9]+"
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self) -> models.QuerySet[Dismissal]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no person
            return Dismissal.objects.none()
        return Dismissal.objects.filter(user=self.person).select_related("item")

    @property
    def person(self) -> User:
        assert isinstance(self.request.user, User)
        return self.request.user

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        outcome = _with_one_retry(
            lambda: record_dismissal(self.person, data["item"], data.get("client_event_id"))
        )
        body = DismissalSerializer(outcome.row, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED if outcome.created else 200)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not undo_dismissal(self.person, self.get_object().item_id):
            return Response({"detail": "No such item marked."}, status=status.HTTP_404_NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)


_EVENT_EXAMPLES = [
    {"type": "rating", "client_event_id": "r-1", "item": 12, "value": "4.5"},
    {
        "type": "play",
        "client_event_id": "p-1",
        "item": 12,
        "started_at": "2026-11-28T20:15:00Z",
        "seconds_played": 5400,
        "completed": True,
    },
    {"type": "review", "client_event_id": "v-1", "item": 12, "text": "Gripping.", "rating": "4.5"},
    {"type": "impression", "client_event_id": "i-1", "item": 12, "list": "api", "rank": 1},
    {"type": "click", "client_event_id": "c-1", "item": 12, "list": "api"},
]


class BulkIngestView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [BulkIngestThrottle]
    parser_classes = [
        BoundedJSONParser,
        JSONLinesParser,
        NDJSONParser,
    ]

    @extend_schema(
        summary=(
            "Send up to BULK_INGEST_MAX_EVENTS rating, play, review, impression and click "
            "events at once"
        ),
        description=(
            "A JSON array of events, or JSON Lines (`application/jsonl` or "
            "`application/x-ndjson`, one event per line). The batch is validated as a whole: "
            "if any event is invalid nothing is stored and the 400 answer lists each invalid "
            "event by index (and line, for JSON Lines). Otherwise all are stored in one "
            "transaction. An event repeating a client_event_id already stored, or earlier in "
            "the batch, is ignored and counted in `duplicates`; events of people whose history "
            "is paused are not stored and are counted in `skipped_paused`; impressions and "
            "clicks of people who switched measurement off, in `skipped_not_measured`. "
            "Events are the "
            "caller's own unless the caller holds `activity.ingest_for_others` and names a "
            "`user`."
        ),
        request={
            "application/json": PolymorphicProxySerializer(
                component_name="BulkEvent",
                serializers={
                    "rating": RatingEventSerializer,
                    "play": PlayEventSerializer,
                    "review": ReviewEventSerializer,
                    "impression": ImpressionEventSerializer,
                    "click": ClickEventSerializer,
                },
                resource_type_field_name="type",
                many=True,
            ),
            "application/jsonl": OpenApiTypes.STR,
            "application/x-ndjson": OpenApiTypes.STR,
        },
        responses={
            200: OpenApiResponse(IngestResultSerializer, description="Stored (all or nothing)."),
            400: OpenApiResponse(
                IngestRejectedSerializer, description="Invalid events: nothing stored."
            ),
            **error_responses(401, 403, 413, 429),
        },
        # One example per event type; each is shown as a batch of one.
        examples=[
            OpenApiExample(f"A {event['type']}", value=event, request_only=True)
            for event in _EVENT_EXAMPLES
        ],
    )
    def post(self, request: Request) -> Response:
        events = request.data
        if not isinstance(events, list):
            return Response(
                {"detail": "Send a JSON array of events, or JSON Lines."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        lines = events.lines if isinstance(events, ParsedLines) else None
        try:
            assert isinstance(request.user, User)
            result = ingest(request.user, events, lines)
        except IngestRejected as rejected:
            return Response(rejected.as_dict(), status=status.HTTP_400_BAD_REQUEST)
        return Response(result.as_dict())
