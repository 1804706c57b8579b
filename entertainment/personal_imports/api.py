"""The imports API: upload an export, follow its progress, match or skip what is left.

Everything here is the caller's own: another person's import answers 404 like one that does
not exist. The file is read in the background (the `cpu` queue): a file that cannot be read
ends its import `failed`, with `error` naming the file and the line or field.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from entertainment.accounts.models import User
from entertainment.api_errors import DetailErrorSerializer, error_responses

from . import importing
from .models import PersonalImport, UnmatchedRow
from .serializers import (
    ImportUploadSerializer,
    MatchResultSerializer,
    MatchSerializer,
    PersonalImportListSerializer,
    PersonalImportSerializer,
    UnmatchedRowSerializer,
)

CONFLICT = {
    409: OpenApiResponse(
        DetailErrorSerializer,
        description="Your history is paused (nothing is imported), or the title was matched "
        "or skipped already.",
    )
}


def _caller(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)  # IsAuthenticated
    return user


def _conflict(message: str) -> Response:
    return Response({"detail": message}, status=status.HTTP_409_CONFLICT)


class PersonalImportsView(generics.ListAPIView[PersonalImport]):
    permission_classes = [IsAuthenticated]
    filter_backends: list[type] = []
    serializer_class = PersonalImportListSerializer
    parser_classes = [MultiPartParser]

    def get_queryset(self) -> QuerySet[PersonalImport]:
        return PersonalImport.objects.filter(user=_caller(self.request)).defer("upload")

    @extend_schema(
        summary="Your imports, newest first",
        responses={
            200: PersonalImportListSerializer(many=True),
            **error_responses(400, 401, 403, 404),
        },
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Import your history from a Letterboxd, IMDb, Steam or Playnite export",
        description=(
            "The file is imported in the background: follow `status` and `progress` on the "
            "import. All or nothing: a file that cannot be read ends `failed` with `error` "
            "naming the file and line, and nothing is stored. Importing the same file again "
            "stores nothing new. Titles the catalogue does not hold are listed in "
            "`unmatched_rows`, to match or skip. Refused (409) while your history is paused."
        ),
        request={"multipart/form-data": ImportUploadSerializer},
        responses={
            202: OpenApiResponse(PersonalImportSerializer, description="Accepted: queued."),
            **error_responses(400, 401, 403),
            **CONFLICT,
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ImportUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            job = importing.start_import(
                _caller(request),
                serializer.validated_data["file"],
                serializer.validated_data["format"],
            )
        except importing.HistoryPaused as exc:
            return _conflict(str(exc))
        except importing.UploadTooLarge as exc:
            return Response({"file": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
        return Response(PersonalImportSerializer(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(
    summary="One of your imports: status, progress, counts and the titles left to match",
    responses={200: PersonalImportSerializer, **error_responses(401, 403, 404)},
)
class PersonalImportView(generics.RetrieveAPIView[PersonalImport]):
    permission_classes = [IsAuthenticated]
    filter_backends: list[type] = []
    serializer_class = PersonalImportSerializer

    def get_queryset(self) -> QuerySet[PersonalImport]:
        rows = UnmatchedRow.objects.order_by("number")
        return (
            PersonalImport.objects.filter(user=_caller(self.request))
            .defer("upload")
            .prefetch_related(Prefetch("unmatched_rows", queryset=rows))
        )


def _row(request: Request, pk: int, row: int) -> UnmatchedRow:
    return get_object_or_404(
        UnmatchedRow, personal_import__pk=pk, number=row, user=_caller(request)
    )


class MatchUnmatchedRowView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Match a title of an import to a catalogue item, recording its activity",
        request=MatchSerializer,
        responses={200: MatchResultSerializer, **error_responses(400, 401, 403, 404), **CONFLICT},
    )
    def post(self, request: Request, pk: int, row: int) -> Response:
        unmatched = _row(request, pk, row)
        serializer = MatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result = importing.match_row(
                _caller(request), unmatched, serializer.validated_data["item"]
            )
        except (importing.HistoryPaused, importing.AlreadyResolved) as exc:
            return _conflict(str(exc))
        body = {
            "row": unmatched,
            "stored": result.stored,
            "duplicates": result.duplicates,
        }
        return Response(MatchResultSerializer(body).data)


class SkipUnmatchedRowView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Skip a title of an import: nothing is recorded for it",
        request=None,
        responses={200: UnmatchedRowSerializer, **error_responses(401, 403, 404), **CONFLICT},
    )
    def post(self, request: Request, pk: int, row: int) -> Response:
        unmatched = _row(request, pk, row)
        try:
            importing.skip_row(_caller(request), unmatched)
        except importing.AlreadyResolved as exc:
            return _conflict(str(exc))
        return Response(UnmatchedRowSerializer(unmatched).data)
