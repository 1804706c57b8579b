"""JSON errors for every API failure, including the ones DRF leaves to Django."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler


def json_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, IntegrityError):
        # A constraint the serializer could not see (a race between two writers): the
        # request conflicts with stored data, it is not a server fault.
        return Response(
            {"detail": "This conflicts with data already stored."},
            status=status.HTTP_409_CONFLICT,
        )
    return exception_handler(exc, context)
