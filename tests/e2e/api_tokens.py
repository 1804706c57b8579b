"""A person's API token for generated requests, issued again once one of them revoked it."""

from __future__ import annotations

from knox.models import AuthToken
from knox.settings import CONSTANTS

from entertainment.accounts.models import User
from tests.conftest import api_token


class CurrentToken:
    """Generated calls to /api/me/token/ revoke the person's tokens (DELETE) or all but a new
    one whose key only that answer holds (POST): look the key up before each request."""

    def __init__(self, person: User) -> None:
        self.person = person
        self.key = api_token(person)

    def __call__(self) -> str:
        prefix = self.key[: CONSTANTS.TOKEN_KEY_LENGTH]
        if not AuthToken.objects.filter(user=self.person, token_key=prefix).exists():
            self.key = api_token(self.person)
        return self.key
