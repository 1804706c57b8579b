"""Changing privacy settings: every change recorded and announced."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.db import transaction

from entertainment.activity import impressions

from .models import PrivacySettings, SettingChange, User
from .signals import privacy_changed

SETTINGS = (
    "personalised",
    "history_paused",
    "train_on_plays",
    "train_on_ratings",
    "train_on_reviews",
    "review_visibility",
    "measure_recommendations",
    "list_style",
)
# Settings that decide whether what a person is shown may be recorded.
MEASUREMENT = ("measure_recommendations", "history_paused")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


@transaction.atomic
def change_settings(user: User, **new: Any) -> dict[str, tuple[Any, Any]]:
    """Apply the given settings; returns what changed as {setting: (old, new)}."""
    unknown = set(new) - set(SETTINGS)
    if unknown:
        raise ValueError(f"unknown privacy settings: {sorted(unknown)}")
    privacy = PrivacySettings.objects.select_for_update().get(pk=user.privacy.pk)
    changes = {
        name: (getattr(privacy, name), value)
        for name, value in new.items()
        if getattr(privacy, name) != value
    }
    if not changes:
        return {}
    for name, (_, value) in changes.items():
        setattr(privacy, name, value)
    privacy.full_clean()
    privacy.save()
    user.privacy_settings = privacy
    SettingChange.objects.bulk_create(
        SettingChange(user=user, setting=name, old_value=_shown(old), new_value=_shown(value))
        for name, (old, value) in changes.items()
    )
    if changes.get("measure_recommendations", (None, True))[1] is False:
        # Off: what was measured of the person goes at once (the privacy row stays locked
        # until commit, so a batch of impressions being written waits, then sees it off).
        impressions.delete_measurements(user.pk)
    if set(changes) & set(MEASUREMENT):
        transaction.on_commit(partial(impressions.forget_consent, user.pk))
    transaction.on_commit(
        partial(privacy_changed.send, sender=PrivacySettings, user_id=user.pk, changes=changes)
    )
    return changes
