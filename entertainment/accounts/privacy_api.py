"""The caller's own privacy through the API: settings, their changes, exports, erasure.

Everything here is the caller's own: lists and lookups are filtered to them, so another
person's export id answers 404 like one that does not exist, whoever asks (staff included:
staff look at people's data in the admin, with a permission, and are logged there).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import logout
from django.db.models import QuerySet
from django.http import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from entertainment.api_errors import DetailErrorSerializer, error_responses

from . import own_data, sessions
from .erasure import erase_account, erase_history
from .export import request_export
from .models import DataExport, ErasureRequest, SettingChange, User
from .privacy import change_settings
from .privacy_serializers import (
    DataExportSerializer,
    EraseRequestSerializer,
    ErasureSerializer,
    PrivacySettingsSerializer,
    SettingChangeSerializer,
)


def _caller(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)  # IsAuthenticated
    return user


# Lists here are the caller's own rows, newest first: nothing to filter, search or order.
NO_FILTERS: list[type] = []


class MyPrivacyView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Your privacy settings",
        responses={200: PrivacySettingsSerializer, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        return Response(PrivacySettingsSerializer(_caller(request).privacy).data)

    @extend_schema(
        summary="Change some of your privacy settings (each change is recorded)",
        description=(
            "Send only the settings to change. A name that is not a setting is a 400 and "
            "nothing changes. Personalisation off deletes the lists computed for you at once."
        ),
        request=PrivacySettingsSerializer,
        responses={200: PrivacySettingsSerializer, **error_responses(400, 401, 403)},
        examples=[
            OpenApiExample("Pause history", value={"history_paused": True}, request_only=True)
        ],
    )
    def patch(self, request: Request) -> Response:
        user = _caller(request)
        serializer = PrivacySettingsSerializer(user.privacy, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        change_settings(user, **serializer.validated_data)
        return Response(PrivacySettingsSerializer(user.privacy).data)


@extend_schema(
    summary="The history of your privacy settings, newest first",
    responses={200: SettingChangeSerializer(many=True), **error_responses(400, 401, 403, 404)},
)
class MySettingChangesView(generics.ListAPIView[SettingChange]):
    permission_classes = [IsAuthenticated]
    filter_backends = NO_FILTERS
    serializer_class = SettingChangeSerializer

    def get_queryset(self) -> QuerySet[SettingChange]:
        return SettingChange.objects.filter(user=_caller(self.request))


class MyExportsView(generics.ListCreateAPIView[DataExport]):
    permission_classes = [IsAuthenticated]
    filter_backends = NO_FILTERS
    serializer_class = DataExportSerializer

    def get_queryset(self) -> QuerySet[DataExport]:
        return DataExport.objects.filter(user=_caller(self.request))

    @extend_schema(
        summary="Your exports, newest first",
        responses={200: DataExportSerializer(many=True), **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Start an export of everything Encore holds about you",
        description="Built in the background: follow `status` and `progress` on the export.",
        request=None,
        responses={
            202: OpenApiResponse(DataExportSerializer, description="Accepted: being built."),
            **error_responses(401, 403),
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        export = request_export(_caller(request))
        body = DataExportSerializer(export, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    summary="One of your exports: status, progress and download URL",
    responses={200: DataExportSerializer, **error_responses(401, 403, 404)},
)
class MyExportView(generics.RetrieveAPIView[DataExport]):
    permission_classes = [IsAuthenticated]
    filter_backends = NO_FILTERS
    serializer_class = DataExportSerializer

    def get_queryset(self) -> QuerySet[DataExport]:
        return DataExport.objects.filter(user=_caller(self.request))


class MyExportDownloadView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Download one of your ready exports (a ZIP archive)",
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The archive, as an attachment."
            ),
            **error_responses(401, 403, 404),
            410: OpenApiResponse(DetailErrorSerializer, description="The export has expired."),
        },
    )
    def get(self, request: Request, pk: int) -> HttpResponseBase:
        try:
            return own_data.download(_caller(request), pk)
        except own_data.ExportGone:
            return Response(
                {"detail": "This export has expired: start a new one."},
                status=status.HTTP_410_GONE,
            )


@extend_schema(
    summary="Your erasures, and when the models stopped holding the erased data",
    responses={200: ErasureSerializer(many=True), **error_responses(400, 401, 403, 404)},
)
class MyErasuresView(generics.ListAPIView[ErasureRequest]):
    permission_classes = [IsAuthenticated]
    filter_backends = NO_FILTERS
    serializer_class = ErasureSerializer

    def get_queryset(self) -> QuerySet[ErasureRequest]:
        return ErasureRequest.objects.filter(user=_caller(self.request))


class EraseView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Erase chosen items of your history, all of it, or your whole account",
        description=(
            "Rows are deleted, not hidden; the lists computed from them are cleared at once "
            "and the models trained with them are retrained. Erasing the account needs "
            "`confirm` set to your username, deletes your token and ends your sessions."
        ),
        request=EraseRequestSerializer,
        responses={
            200: OpenApiResponse(ErasureSerializer, description="History erased."),
            204: OpenApiResponse(description="Account erased."),
            **error_responses(400, 401, 403),
        },
        examples=[
            OpenApiExample("Chosen items", value={"scope": "items", "items": [12, 40]}),
            OpenApiExample("All history", value={"scope": "history"}),
            OpenApiExample("Account", value={"scope": "account", "confirm": "your-username"}),
        ],
    )
    def post(self, request: Request) -> Response:
        user = _caller(request)
        serializer = EraseRequestSerializer(data=request.data, context={"user": user})
        serializer.is_valid(raise_exception=True)
        scope = serializer.validated_data["scope"]
        if scope == "account":
            erase_account(user)
            logout(request._request)  # a cookie session ends here too; a token is gone
            return Response(status=status.HTTP_204_NO_CONTENT)
        ids = serializer.validated_data["items"] if scope == "items" else None
        erasure = erase_history(user, item_ids=ids)
        session = getattr(request._request, "session", None)
        if session is not None:  # a cookie session, read before the erasure, saved after
            sessions.drop_paused_plays(session, ids)
        return Response(ErasureSerializer(erasure).data)
