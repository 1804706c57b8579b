"""API tokens, obtained with a password or managed from a logged-in session.

A token is a bearer secret (`Authorization: Token <key>`), stored hashed (see tokens.py): its
key is shown once, when issued, and it stops working at its expiry, on rotation or revocation,
and when its owner changes their password.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from knox.models import AuthToken
from rest_framework import serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from entertainment import throttling
from entertainment.api_errors import error_responses

from .models import User
from .tokens import issue_token, latest_token, revoke_tokens

_EXPIRY_HELP = (
    "When the token stops working: API_TOKEN_TTL_H hours (720 by default) after it was issued. "
    "Ask for a new one with your password before then."
)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        allow_null=True,
        help_text=(
            "Send as `Authorization: Token <key>`. Shown only when the token is issued "
            "(stored hashed): null when reading your current token."
        ),
    )
    created = serializers.DateTimeField(allow_null=True)
    expiry = serializers.DateTimeField(allow_null=True, help_text=_EXPIRY_HELP)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()


class MeView(APIView):
    """Who the caller is: the smallest authenticated endpoint (clients check their token)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Your id and username",
        responses={200: MeSerializer, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        return Response({"id": request.user.pk, "username": request.user.get_username()})


def _body(token: AuthToken | None, key: str | None = None) -> dict[str, object]:
    return {
        "token": key,
        "created": token.created if token else None,
        "expiry": token.expiry if token else None,
    }


@transaction.atomic
def _rotate(user: User) -> tuple[AuthToken, str]:
    revoke_tokens(user.pk)
    return issue_token(user)


class ObtainTokenView(APIView):
    """Username and password in, a new token out (each call issues one; a person keeps at most
    API_TOKEN_MAX_PER_USER, the oldest going first).

    Failed attempts count towards the login lockout (django-axes, per username and address),
    like the login page; many failures for one username from any address slow further
    attempts for it (throttling.LoginSlowdown) rather than block them.
    """

    permission_classes = [AllowAny]
    # No session: a client posting a password is not a browser carrying a CSRF token.
    authentication_classes: list[type] = []

    @extend_schema(
        summary="Get an API token with your username and password",
        description=(
            "Each call issues a new token; its key is in this answer only. " + _EXPIRY_HELP
        ),
        request=AuthTokenSerializer,
        responses={200: TokenSerializer, **error_responses(400, 403, 413, 429)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        username = request.data.get("username") if hasattr(request.data, "get") else None
        wait = throttling.login_slowdown.wait(username if isinstance(username, str) else None)
        if wait:
            return _too_many("Too many failed attempts for this account: wait and retry.", wait)
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            # django-axes marks the request it was given when the username+address is locked.
            if getattr(request, "axes_locked_out", False):
                return _too_many(
                    "Too many failed attempts: try again later.",
                    int(float(settings.AXES_COOLOFF_TIME) * 3600),
                )
            raise ValidationError(serializer.errors)
        token, key = issue_token(serializer.validated_data["user"])
        return Response(_body(token, key))


def _too_many(detail: str, retry_after_s: int) -> Response:
    return Response(
        {"detail": detail},
        status=status.HTTP_429_TOO_MANY_REQUESTS,
        headers={"Retry-After": str(max(1, retry_after_s))},
    )


class MyTokenView(APIView):
    """The logged-in person's tokens: see the latest one's dates, rotate, revoke."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Your latest API token's dates (its key is never shown again)",
        responses={200: TokenSerializer, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        assert isinstance(request.user, User)
        return Response(_body(latest_token(request.user)))

    @extend_schema(
        summary="Create a new API token, revoking all your others",
        request=None,
        responses={201: TokenSerializer, **error_responses(401, 403)},
    )
    def post(self, request: Request) -> Response:
        assert isinstance(request.user, User)
        token, key = _rotate(request.user)
        return Response(_body(token, key), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke all your API tokens",
        responses={204: OpenApiResponse(description="Revoked."), **error_responses(401, 403)},
    )
    def delete(self, request: Request) -> Response:
        assert isinstance(request.user, User)
        revoke_tokens(request.user.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
