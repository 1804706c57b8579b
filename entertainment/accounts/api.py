"""API tokens: one per person, obtained with a password or managed from a logged-in session.

A token is a bearer secret (`Authorization: Token <key>`); rotating it makes the old one
stop working at once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from entertainment.api_errors import error_responses

from .models import User


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(
        allow_null=True, help_text="Send as `Authorization: Token <key>`."
    )
    created = serializers.DateTimeField(allow_null=True)


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


def _body(token: Token | None) -> dict[str, object]:
    return {"token": token.key if token else None, "created": token.created if token else None}


@transaction.atomic
def _rotate(user: User) -> Token:
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


class ObtainTokenView(APIView):
    """Username and password in, the person's token out (created on first use).

    Failed attempts count towards the login lockout (django-axes), like the login page.
    """

    permission_classes = [AllowAny]
    # No session: a client posting a password is not a browser carrying a CSRF token.
    authentication_classes: list[type] = []

    @extend_schema(
        summary="Get your API token with your username and password",
        request=AuthTokenSerializer,
        responses={200: TokenSerializer, **error_responses(400, 403, 429)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            # django-axes marks the request it was given when the username+address is locked.
            if getattr(request, "axes_locked_out", False):
                return Response(
                    {"detail": "Too many failed attempts: try again later."},
                    status=status.HTTP_429_TOO_MANY_REQUESTS,
                    headers={"Retry-After": str(int(float(settings.AXES_COOLOFF_TIME) * 3600))},
                )
            raise ValidationError(serializer.errors)
        token, _ = Token.objects.get_or_create(user=serializer.validated_data["user"])
        return Response(_body(token))


class MyTokenView(APIView):
    """The logged-in person's token: see it, rotate it, revoke it."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Your API token (null when you have none)",
        responses={200: TokenSerializer, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        assert isinstance(request.user, User)
        return Response(_body(Token.objects.filter(user=request.user).first()))

    @extend_schema(
        summary="Create a new API token, replacing the old one",
        request=None,
        responses={201: TokenSerializer, **error_responses(401, 403)},
    )
    def post(self, request: Request) -> Response:
        assert isinstance(request.user, User)
        return Response(_body(_rotate(request.user)), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke your API token",
        responses={204: OpenApiResponse(description="Revoked."), **error_responses(401, 403)},
    )
    def delete(self, request: Request) -> Response:
        assert isinstance(request.user, User)
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
