"""API tokens: django-rest-knox's, stored as a SHA-512 digest, each with an expiry.

A key is shown once, when it is issued; the database holds only its digest and its first 15
characters (to find the row). A token stops working at its expiry (API_TOKEN_TTL_H after it
was issued), when its owner rotates or revokes it, changes their password, or erases their
account (the rows go with the account).
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken, get_digest_token
from knox.settings import CONSTANTS
from rest_framework import exceptions

from .models import User


def ttl() -> timedelta:
    return timedelta(hours=settings.API_TOKEN_TTL_H)


@transaction.atomic
def issue_token(user: User) -> tuple[AuthToken, str]:
    """A new token for `user` and its key, the only time the key is known.

    A person keeps at most API_TOKEN_MAX_PER_USER tokens (one per device or script): the
    oldest go when a new one would exceed that.
    """
    token, key = AuthToken.objects.create(user=user, expiry=ttl())
    keep = settings.API_TOKEN_MAX_PER_USER
    stale = (
        AuthToken.objects.filter(user=user)
        .order_by("-created", "-pk")
        .values_list("pk", flat=True)[keep:]
    )
    AuthToken.objects.filter(pk__in=list(stale)).delete()
    return token, key


def issue_tokens(users: Iterable[User]) -> list[str]:
    """One new token per person in one INSERT (benchmarks and demo worlds of many people)."""
    expiry = timezone.now() + ttl()
    rows, keys = [], []
    for user in users:
        digest, key = get_digest_token()
        rows.append(
            AuthToken(
                digest=digest,
                token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
                user=user,
                expiry=expiry,
            )
        )
        keys.append(key)
    AuthToken.objects.bulk_create(rows)
    return keys


def revoke_tokens(user_id: int) -> int:
    return int(AuthToken.objects.filter(user_id=user_id).delete()[0])


def latest_token(user: User) -> AuthToken | None:
    return AuthToken.objects.filter(user=user).order_by("-created", "-pk").first()


class ApiTokenAuthentication(TokenAuthentication):
    """knox's TokenAuthentication (`Authorization: Token <key>`), in one query, and a 401 for
    any key that is not one (knox's own answers a key that is not UTF-8 with a 500)."""

    def authenticate_credentials(self, token: bytes) -> tuple[Any, AuthToken]:
        invalid = exceptions.AuthenticationFailed("Invalid token.")
        try:
            key = token.decode("utf-8")
            digest = hash_token(key)
        except (UnicodeDecodeError, TypeError, binascii.Error):
            raise invalid from None
        found = (
            AuthToken.objects.select_related("user")
            .filter(token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH], digest=digest)
            .first()
        )
        if found is None:
            raise invalid
        if found.expiry is not None and found.expiry <= timezone.now():
            found.delete()
            raise exceptions.AuthenticationFailed("The token has expired.")
        return self.validate_user(found)


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The schema's name for it: DRF's token scheme's, as clients know it."""

    target_class = "entertainment.accounts.tokens.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                'Token-based authentication with required prefix "Token": '
                "`Authorization: Token <key>`, the key from POST /api/auth/token/. A token "
                "expires API_TOKEN_TTL_H hours (720 by default) after it is issued, and when "
                "its owner changes their password."
            ),
        }


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="tokens.revoke_on_password")
def revoke_on_password_change(sender: Any, instance: User, **kwargs: Any) -> None:
    """A new password ends every API token: whoever knew the old one may hold a token.

    Compared with the stored hash, so every path counts (the password page, the admin,
    `changepassword`), and a save that leaves the password alone costs nothing more than
    one read (none when update_fields leaves the password out, as a log-in's does).
    """
    fields = kwargs.get("update_fields")
    if (
        instance.pk is None
        or kwargs.get("raw")
        or (fields is not None and "password" not in fields)
    ):
        return
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    if stored is not None and stored != instance.password:
        revoke_tokens(instance.pk)
