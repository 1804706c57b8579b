from typing import Any

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "entertainment.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.contrib.sessions.models import Session
        from django.db.models.signals import post_save

        # Receivers that must be connected in every process (manage.py, shell, workers), not
        # only once a request has loaded the URLconf: token revocation on a password change,
        # and the count of failed log-ins.
        import entertainment.throttling  # noqa: F401

        from . import sessions, tokens  # noqa: F401

        user_logged_in.connect(remember_session, dispatch_uid="accounts.remember_session")
        # Every key a person's session is saved under, not only the one of their log-in: a
        # password change rotates the key, and erasure must end that session too.
        post_save.connect(
            sessions.remember_saved, sender=Session, dispatch_uid="accounts.remember_saved"
        )


def remember_session(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Note the session a person logged in with, so erasure can end it."""
    from .sessions import remember

    key = getattr(getattr(request, "session", None), "session_key", None)
    if key and user is not None and user.pk:
        remember(user.pk, key)
