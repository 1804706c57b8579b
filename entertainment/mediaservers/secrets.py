"""Connection secrets (a media server's API key) encrypted at rest.

Fernet (AES-128-CBC with an HMAC) under a key derived by HKDF from `SECRETS_KEY`, which
defaults to `SECRET_KEY`: a database dump alone does not give a server's key away. Changing the
key material makes stored secrets unreadable (they must be entered again), so installs that
rotate `SECRET_KEY` set `SECRETS_KEY` on its own; `SECRETS_OLD_KEYS` (comma-separated) are
still read during a rotation while new secrets are written under the current one.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored secret that the current keys cannot decrypt: enter it again."""


def _fernet(material: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"encore-connection-secrets", info=b"fernet"
    ).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _keys() -> MultiFernet:
    current = settings.SECRETS_KEY or settings.SECRET_KEY
    return MultiFernet([_fernet(current), *(_fernet(k) for k in settings.SECRETS_OLD_KEYS)])


def encrypt(secret: str) -> str:
    return _keys().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _keys().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable(
            "the stored secret cannot be decrypted with SECRETS_KEY: enter it again"
        ) from error
