from typing import Any

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "entertainment.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.connect(remember_session, dispatch_uid="accounts.remember_session")


def remember_session(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Note the session a person logged in with, so erasure can end it."""
    from .models import LoginSession

    key = getattr(getattr(request, "session", None), "session_key", None)
    if key and user is not None and user.pk:
        LoginSession.objects.get_or_create(user=user, session_key=key)
