"""Staff endpoint: the recommendation lists' online figures (daily aggregates only).

Cells of fewer than PRIVACY_MIN_GROUP_SIZE people are left out (counted in `hidden_cells`);
raw impressions are never served.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from entertainment.api_errors import error_responses
from entertainment.strict_fields import QueryIntegerField

from . import online_metrics

MAX_DAYS = 365


class OnlineMetricsQuery(serializers.Serializer):
    days = QueryIntegerField(min_value=1, max_value=MAX_DAYS, default=30)


class _Rates(serializers.Serializer):
    click_through = serializers.FloatField(allow_null=True, help_text="Clicks / impressions.")
    play_through = serializers.FloatField(allow_null=True, help_text="Plays / impressions.")
    high_rating_rate = serializers.FloatField(
        allow_null=True, help_text="Ratings of 4 or more / impressions."
    )
    review_rate = serializers.FloatField(allow_null=True, help_text="Reviews / impressions.")
    coverage = serializers.FloatField(
        allow_null=True, help_text="Distinct items shown / the kind's catalogue size."
    )
    novelty = serializers.FloatField(
        allow_null=True,
        help_text="Share of impressions of items outside the top 10% by popularity.",
    )


class OnlineMetricCellSerializer(_Rates):
    day = serializers.DateField()
    list = serializers.CharField()
    kind = serializers.CharField()
    model_version = serializers.CharField(allow_blank=True)
    experiment = serializers.IntegerField(allow_null=True)
    arm = serializers.CharField(allow_blank=True)
    people = serializers.IntegerField()
    impressions = serializers.IntegerField()
    clicks = serializers.IntegerField()
    plays = serializers.IntegerField()
    high_ratings = serializers.IntegerField()
    reviews = serializers.IntegerField()


class OnlineMetricPointSerializer(_Rates):
    day = serializers.DateField()
    impressions = serializers.IntegerField()


class OnlineMetricsSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    first_day = serializers.DateField()
    last_day = serializers.DateField()
    min_group = serializers.IntegerField(help_text="Cells of fewer people are not shown.")
    hidden_cells = serializers.IntegerField(help_text="Cells left out: fewer than min_group.")
    cells = OnlineMetricCellSerializer(many=True)
    series = serializers.DictField(
        child=OnlineMetricPointSerializer(many=True),
        help_text="Per list, one point a day over the cells shown.",
    )


class OnlineMetricsView(APIView):
    """Daily impressions, click-, play-, rating- and review-through, coverage and novelty of
    each recommendation list, by item kind, model version and experiment arm."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="Online figures of the recommendation lists, per day (aggregates only)",
        tags=["staff"],
        parameters=[OnlineMetricsQuery],
        responses={200: OnlineMetricsSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        query = OnlineMetricsQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        body = online_metrics.staff_view(query.validated_data["days"])
        return Response(OnlineMetricsSerializer(body).data)
