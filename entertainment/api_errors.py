"""JSON errors for every API failure, including the ones DRF leaves to Django.

Every error body is a JSON object: `{"detail": "..."}` for errors about the whole request,
`{"field": ["message", ...], ...}` for invalid fields (`non_field_errors` for those about
several fields at once).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers, status
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
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        # A ValidationError raised with a bare message (DRF's search filter does): keep every
        # error body an object.
        response.data = {"non_field_errors": response.data}
    return response


# --- Schema: the error bodies, for extend_schema(responses=...) -----------------------------

DetailErrorSerializer = inline_serializer(
    name="DetailError", fields={"detail": serializers.CharField()}
)
# A raw schema: the keys are the request's own field names.
FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": "Messages per field name; `non_field_errors` for the request as a whole.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}

_DESCRIPTIONS = {
    400: "Invalid input: messages per field.",
    401: "Not authenticated.",
    403: "Not allowed.",
    404: "Not found (or not yours).",
    409: "Conflicts with stored data.",
    413: "The body is too large.",
    429: "Too many requests: wait and retry.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """Schema entries for the error answers an endpoint gives."""
    return {
        code: OpenApiResponse(
            FIELD_ERRORS_SCHEMA if code == 400 else DetailErrorSerializer,
            description=_DESCRIPTIONS[code],
        )
        for code in codes
    }
