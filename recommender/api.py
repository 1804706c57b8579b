"""Recommendation endpoints: the caller's lists, similar items, and anonymous "what next"."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from entertainment import caching, throttling
from entertainment.activity.serializers import MAX_DB_ID
from entertainment.api_errors import error_responses
from entertainment.catalogue.models import Item, Kind
from entertainment.catalogue.serializers import SMALL_INT_MAX, ItemListSerializer
from entertainment.strict_fields import QueryIntegerField, StrictIntegerField

from . import cards, controls, impressions, lists, personal, realtime, similarity
from .lists import Entry

MAX_N = 50
# Related items asked for beyond n, for those the caller already has.
OWNED_SLACK = 20


class EntrySerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    score = serializers.FloatField()
    reason = serializers.CharField()
    item = ItemListSerializer()


class RecommendationsSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices, allow_null=True)
    personalised = serializers.BooleanField()
    model_version = serializers.CharField()
    results = EntrySerializer(many=True)


class RecommendationsQuery(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Kind.choices, required=False)
    n = QueryIntegerField(min_value=1, max_value=MAX_N, default=10)


class SimilarQuery(serializers.Serializer):
    by = serializers.ChoiceField(choices=["artwork", "co-play"], default="co-play")
    n = QueryIntegerField(min_value=1, max_value=MAX_N, default=10)


class SessionNextInput(serializers.Serializer):
    items = serializers.ListField(
        # Bounded like every id in a body: a larger number overflows the database's integer.
        child=StrictIntegerField(min_value=1, max_value=MAX_DB_ID),
        min_length=1,
        max_length=200,
    )
    n = StrictIntegerField(min_value=1, max_value=MAX_N, default=10)


@lru_cache(maxsize=256)
def _recommendations_query(kind: str | None, n: str | None) -> tuple[str | None, int]:
    """(kind, n) validated. Clients repeat the same few query strings and a serializer costs a
    tenth of a recommendations request, so each valid one is validated once per process (an
    invalid one raises every time: exceptions are not cached)."""
    query = RecommendationsQuery(
        data={k: v for k, v in (("kind", kind), ("n", n)) if v is not None}
    )
    query.is_valid(raise_exception=True)
    return query.validated_data.get("kind"), query.validated_data["n"]


def _year(name: str, bound: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        {"type": "integer", "minimum": 0, "maximum": SMALL_INT_MAX},
        description=f"Only items of this year or {bound} (as /api/items/).",
        allow_blank=True,
    )


# The filters (recommender.controls): named and validated as /api/items/ names its own.
FILTER_PARAMETERS = [
    OpenApiParameter(
        "genre", OpenApiTypes.STR, description="Only items of this genre (its slug).",
        allow_blank=True,
    ),
    _year("year_min", "later"),
    _year("year_max", "earlier"),
    OpenApiParameter(
        "exclude",
        {
            "type": "string",
            "pattern": controls.EXCLUDE_PATTERN,
            "maxLength": controls.EXCLUDE_MAX_LENGTH,
        },
        description="Item ids never to return, separated by commas.",
        allow_blank=True,
    ),
]  # fmt: skip


@lru_cache(maxsize=256)
def _filters(
    genre: str | None, year_min: str | None, year_max: str | None, exclude: str | None
) -> controls.Wanted:
    """The filters validated (once per process for each valid query, as above)."""
    given = {"genre": genre, "year_min": year_min, "year_max": year_max, "exclude": exclude}
    return controls.parse({k: v for k, v in given.items() if v is not None})


def _wanted(request: Request) -> controls.Wanted:
    return _filters(*(request.query_params.get(name) for name in controls.FILTERS))


def _kinds(kind: str | None) -> list[str]:
    """The kinds a recommendations query asks for: one, or all of them."""
    return [kind] if kind else list(Kind.values)


def _rendered(
    request: Request, entries: list[Entry], cached: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Entries with their item cards; `cached` may hold the card generation, read already."""
    if cached is None:
        cached = caching.get_many([cards.GENERATION_KEY])
    found = cards.cards(request, (e.item_id for e in entries), cached.get(cards.GENERATION_KEY))
    return [
        {"rank": rank, "score": e.score, "reason": e.reason, "item": found[e.item_id]}
        for rank, e in enumerate((e for e in entries if e.item_id in found), start=1)
    ]


class RecommendationsView(APIView):
    """The caller's recommendations, with a reason for each and the model version behind them."""

    permission_classes = [permissions.IsAuthenticated]
    cache_read: dict[str, Any] | None = None  # throttling.ReadsCache
    # Sent empty, a filter filters nothing, as /api/items/'s do (entertainment.schema).
    empty_means_no_filter = controls.FILTERS

    def cache_reads(self, request: Request) -> list[str]:
        """Everything a request reads from the cache: the person's switch and lists, and the
        card generation (read in the rate limit's round trip: throttling.ReadsCache)."""
        params = request.query_params
        if request.user.pk is None:
            return []  # anonymous: refused before get()
        try:
            kind, _ = _recommendations_query(params.get("kind"), params.get("n"))
        except serializers.ValidationError:
            return []  # get() answers 400
        return [
            *lists.read_keys(request.user.pk, _kinds(kind)),
            cards.GENERATION_KEY,
            impressions.cache_key(request.user.pk),
        ]

    @extend_schema(
        parameters=[RecommendationsQuery, *FILTER_PARAMETERS],
        responses={200: RecommendationsSerializer, **error_responses(400, 401)},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        kind, n = _recommendations_query(params.get("kind"), params.get("n"))
        wanted = _wanted(request)
        cached = throttling.read_for(self, request)
        found = list(lists.for_kinds(request.user, _kinds(kind), n, cached, wanted).values())
        # Across kinds, the best of each list by rank: scores of different lists don't compare.
        entries = [
            e
            for rank in range(n)
            for f in found
            if rank < len(f.entries)
            for e in [f.entries[rank]]
        ][:n]
        results = _rendered(request, entries, cached)
        impressions.shown_by_api(request.user, found, results, cached)
        return Response(
            {
                "kind": kind,
                "personalised": any(f.personalised for f in found),
                "model_version": ",".join(sorted({f.model_version for f in found})),
                "results": results,
            }
        )


class SimilarItemsView(APIView):
    """Items like this one: by artwork (the CNN's embedding) or by who played them (co-play)."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        parameters=[SimilarQuery],
        responses={
            200: inline_serializer(
                "SimilarItems",
                {"by": serializers.CharField(), "results": EntrySerializer(many=True)},
            ),
            **error_responses(400, 404),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        item = get_object_or_404(Item, pk=pk)
        # A plain dict: from a QueryDict, DRF reads an empty `by=` as absent (the default).
        query = SimilarQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        by, n = query.validated_data["by"], query.validated_data["n"]
        # Deep enough that leaving out what the caller already has still fills n.
        find = similarity.looks_like if by == "artwork" else similarity.co_played
        entries = find(item.pk, n + OWNED_SLACK)
        user = request.user
        if user.is_authenticated and user.privacy.personalised:
            owned = personal.owned_among(user.pk, (e.item_id for e in entries))
            entries = [e for e in entries if e.item_id not in owned]
        # Without what the caller marked "not for me", in their list style, diverse.
        entries = controls.for_person(user, entries, item.kind)
        return Response({"by": by, "results": _rendered(request, entries[:n])})


class SessionNextView(APIView):
    """Anonymous "what next": given the items played in a session, the items that tend to follow."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request=SessionNextInput,
        responses={
            200: inline_serializer(
                "SessionNext",
                {"model_version": serializers.CharField(), "results": EntrySerializer(many=True)},
            ),
            **error_responses(400),
        },
    )
    def post(self, request: Request) -> Response:
        body = SessionNextInput(data=request.data)
        body.is_valid(raise_exception=True)
        items = body.validated_data["items"]
        known = set(Item.objects.filter(pk__in=items).values_list("pk", flat=True))
        unknown = sorted(set(items) - known)
        if unknown:
            return Response(
                {"items": [f"Unknown item ids: {unknown[:20]}"]}, status=status.HTTP_400_BAD_REQUEST
            )
        n = body.validated_data["n"]
        entries = realtime.next_items(items, exclude=set(items), k=n + OWNED_SLACK)
        entries = controls.for_person(request.user, entries)[:n]
        version = realtime.active_version_label() or "none"
        return Response({"model_version": version, "results": _rendered(request, entries)})
