"""A name index over the music catalogue, and each person's Plex webhook secret."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from entertainment.catalogue.models import Item


class MusicName(models.Model):
    """A music item's reduced name with its artist's (names.name_digest), to find it again.

    Artists by their own name; albums and tracks by their artist's name and their own title.
    Several items may share a digest (one song on an album and on a compilation): the oldest
    wins. Kept current by matching.index_music (items added since the last indexed one) and by
    a receiver on Item saves (a title changed in the admin).
    """

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="music_name")
    music_type = models.CharField(max_length=8)
    digest = models.CharField(max_length=40)

    class Meta:
        indexes = [models.Index(fields=["music_type", "digest"], name="music_name_lookup")]

    def __str__(self) -> str:
        return f"{self.music_type} {self.digest[:8]} -> {self.item_id}"


def digest_secret(secret: str) -> str:
    # 32 random bytes need no slow hash: nobody can guess one to match a stored digest.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class PlexWebhook(models.Model):
    """A person's secret webhook URL for Plex (/hooks/plex/<secret>/); only its digest is kept."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plex_webhook"
    )
    digest = models.CharField(max_length=64, unique=True)
    issued_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Plex webhook of {self.user_id}"

    @classmethod
    def issue(cls, user: models.Model) -> str:
        """A new secret for `user`, replacing any earlier one; returned once, never stored."""
        secret = secrets.token_urlsafe(32)
        cls.objects.update_or_create(
            user=user,
            defaults={
                "digest": digest_secret(secret),
                "issued_at": timezone.now(),
                "last_used_at": None,
            },
        )
        return secret

    @classmethod
    def owner_of(cls, secret: str) -> PlexWebhook | None:
        if not 20 <= len(secret) <= 100:
            return None
        return cls.objects.select_related("user").filter(digest=digest_secret(secret)).first()
