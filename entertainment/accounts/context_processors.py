"""Template context for every page: the signed-in person's privacy settings."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .models import PrivacySettings, User


def _settings_of(user: User) -> PrivacySettings:
    return user.privacy


def privacy(request: HttpRequest) -> dict[str, object]:
    """`privacy`: the person's settings (None when signed out), fetched only if a template
    reads it; base.html does, for the paused-history banner, so that is one small query."""
    user = getattr(request, "user", None)
    if not isinstance(user, User) or not user.is_authenticated:
        return {"privacy": None}
    return {"privacy": SimpleLazyObject(lambda: _settings_of(user))}
