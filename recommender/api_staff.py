"""Staff endpoints: training runs (list, start, look up) and model versions (list, activate).

Staff only (`is_staff`); everyone else gets 401 or 403. Starting a kind that is already
training returns its live run instead of starting a second one.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from entertainment.accounts.models import User
from entertainment.api_errors import error_responses

from . import experiments, staff_actions
from .models import Experiment, ModelVersion, TrainingRun
from .serializers_staff import (
    ExperimentCreateSerializer,
    ExperimentDetailSerializer,
    ExperimentSerializer,
    ModelVersionSerializer,
    TrainingRequestSerializer,
    TrainingRunSerializer,
    TrainingStartedSerializer,
)

TAGS = ["staff"]


@extend_schema_view(
    list=extend_schema(
        summary="Training runs, newest first",
        tags=TAGS,
        responses={200: TrainingRunSerializer(many=True), **error_responses(400, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="One training run, with its progress",
        tags=TAGS,
        responses={200: TrainingRunSerializer, **error_responses(401, 403, 404)},
    ),
    create=extend_schema(
        summary="Start training one model, or all",
        tags=TAGS,
        request=TrainingRequestSerializer,
        responses={
            202: OpenApiResponse(
                TrainingStartedSerializer,
                description="Queued; a kind already training returns its live run.",
            ),
            **error_responses(400, 401, 403),
        },
    ),
)
class TrainingRunViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [IsAdminUser]
    serializer_class = TrainingRunSerializer
    filterset_fields = ["kind", "status", "trigger"]
    ordering_fields = ["created_at", "id"]
    filter_backends = [DjangoFilterBackend, OrderingFilter]

    def get_queryset(self) -> QuerySet[TrainingRun]:
        return TrainingRun.objects.select_related("requested_by")

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = TrainingRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user if isinstance(request.user, User) else None
        started = staff_actions.start_training(serializer.validated_data["kind"], user)
        body = {
            "runs": [item.run for item in started],
            "already_live": [item.run.pk for item in started if not item.new],
        }
        return Response(TrainingStartedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(
        summary="Model versions, newest first",
        tags=TAGS,
        responses={200: ModelVersionSerializer(many=True), **error_responses(400, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="One model version",
        tags=TAGS,
        responses={200: ModelVersionSerializer, **error_responses(401, 403, 404)},
    ),
)
class ModelVersionViewSet(viewsets.ReadOnlyModelViewSet):
    permission_classes = [IsAdminUser]
    serializer_class = ModelVersionSerializer
    queryset = ModelVersion.objects.all()
    filterset_fields = ["kind", "status"]
    ordering_fields = ["created_at", "id", "main_metric_value"]
    filter_backends = [DjangoFilterBackend, OrderingFilter]

    @extend_schema(
        summary="Make this version the active one of its kind (activate or roll back)",
        tags=TAGS,
        request=None,
        responses={
            200: ModelVersionSerializer,
            **error_responses(401, 403, 404),
            409: OpenApiResponse(
                error_responses(409)[409].response,
                description="The version cannot serve: its files are missing, or it was "
                "trained on data a person has since erased.",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        version = self.get_object()
        try:
            active = staff_actions.activate_version(version)
        except staff_actions.ActivationRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(ModelVersionSerializer(active).data)


_CONFLICT = error_responses(409)[409].response


@extend_schema_view(
    list=extend_schema(
        summary="Online experiments, newest first",
        tags=TAGS,
        responses={200: ExperimentSerializer(many=True), **error_responses(400, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="One experiment, with each arm's figures and B against A",
        tags=TAGS,
        responses={200: ExperimentDetailSerializer, **error_responses(401, 403, 404)},
    ),
    create=extend_schema(
        summary="Start an experiment: two sequence versions, or one against the popular lists",
        tags=TAGS,
        request=ExperimentCreateSerializer,
        responses={201: ExperimentDetailSerializer, **error_responses(400, 401, 403)},
    ),
)
class ExperimentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Experiments (recommender.experiments): start, follow, stop, activate the winner."""

    permission_classes = [IsAdminUser]
    serializer_class = ExperimentSerializer
    filterset_fields = ["kind", "status"]
    ordering_fields = ["started_at", "id"]
    filter_backends = [DjangoFilterBackend, OrderingFilter]

    def get_queryset(self) -> QuerySet[Experiment]:
        return Experiment.objects.select_related("version_a", "version_b", "started_by")

    def get_serializer_class(self) -> type[ExperimentSerializer]:
        return ExperimentDetailSerializer if self.action == "retrieve" else ExperimentSerializer

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        body = ExperimentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = request.user if isinstance(request.user, User) else None
        try:
            experiment = experiments.start(**body.validated_data, started_by=user)
        except experiments.Refused as exc:
            return Response(exc.errors, status=status.HTTP_400_BAD_REQUEST)
        body_out = ExperimentDetailSerializer(experiment).data
        return Response(body_out, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Stop a running experiment; its winner is recorded",
        tags=TAGS,
        request=None,
        responses={
            200: ExperimentDetailSerializer,
            **error_responses(401, 403, 404),
            409: OpenApiResponse(_CONFLICT, description="The experiment has already stopped."),
        },
    )
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str | None = None) -> Response:
        try:
            experiment = experiments.stop(self.get_object())
        except experiments.Refused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(ExperimentDetailSerializer(experiment).data)

    @extend_schema(
        summary="Activate the winning arm's version (after the experiment stopped)",
        tags=TAGS,
        request=None,
        responses={
            200: ModelVersionSerializer,
            **error_responses(401, 403, 404),
            409: OpenApiResponse(
                _CONFLICT,
                description="Still running, no winner (not significant, or too few people), "
                "the popular lists won, or the version cannot serve.",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        try:
            version = experiments.activate_winner(self.get_object())
        except (experiments.Refused, staff_actions.ActivationRefused) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(ModelVersionSerializer(version).data)
