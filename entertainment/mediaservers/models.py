"""Connections to the media servers people already run (Jellyfin, Emby), what of theirs maps
to what of ours, and the playlists Encore keeps on them."""

from __future__ import annotations

import hashlib
import secrets as token_source

from django.conf import settings
from django.db import models

from entertainment.catalogue.models import Item

from . import secrets


class Connection(models.Model):
    """One media server, set up by staff. Nothing calls out unless one is enabled."""

    class Kind(models.TextChoices):
        JELLYFIN = "jellyfin", "Jellyfin"
        EMBY = "emby", "Emby"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.JELLYFIN)
    url = models.URLField(help_text="The server's address, e.g. http://jellyfin.lan:8096")
    # Fernet ciphertext (mediaservers.secrets); the key itself is never stored or shown.
    api_key_encrypted = models.TextField(editable=False)
    enabled = models.BooleanField(default=True)
    push_playlists = models.BooleanField(
        default=True, help_text="Write each confirmed person's recommendations back as playlists."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_summary = models.CharField(max_length=300, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def set_api_key(self, key: str) -> None:
        self.api_key_encrypted = secrets.encrypt(key)

    @property
    def api_key(self) -> str:
        return secrets.decrypt(self.api_key_encrypted)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ServerUser(models.Model):
    """An account on a media server. Staff propose which Encore person it is; only once that
    person confirms is its history read or a playlist written for it."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="users")
    server_id = models.CharField(max_length=64)
    name = models.CharField(max_length=150)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="media_server_accounts",
        help_text="Proposed by staff; confirmed by the person on their account page.",
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The person's webhook URL carries a secret of which only this hash is kept.
    webhook_secret_hash = models.CharField(max_length=64, blank=True, db_index=True)
    history_synced_at = models.DateTimeField(null=True, blank=True)
    # Catalogue items whose history the person erased: the server still counts them as
    # played, and a sync must not bring them back.
    erased_item_ids = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["connection", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "server_id"], name="server_user_once_per_server"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.connection}"

    @property
    def confirmed(self) -> bool:
        return self.person_id is not None and self.confirmed_at is not None

    def new_webhook_secret(self) -> str:
        """A new secret for the person's webhook URL, replacing the old one; shown once."""
        secret = token_source.token_urlsafe(32)
        self.webhook_secret_hash = hash_secret(secret)
        self.save(update_fields=["webhook_secret_hash"])
        return secret


class ServerItem(models.Model):
    """A server's item and the catalogue item it is."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="items")
    server_id = models.CharField(max_length=64)
    server_type = models.CharField(max_length=32)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="server_items")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "server_id"], name="server_item_once_per_server"
            ),
        ]
        indexes = [models.Index(fields=["connection", "item"], name="server_item_by_item")]

    def __str__(self) -> str:
        return f"{self.connection}:{self.server_id} = {self.item_id}"


class ServerPlaylist(models.Model):
    """A playlist Encore made on the server for one person, replaced on every push."""

    class Key(models.TextChoices):
        FOR_YOU = "for_you", "Encore: for you"
        BECAUSE = "because", "Because you watched"

    server_user = models.ForeignKey(ServerUser, on_delete=models.CASCADE, related_name="playlists")
    key = models.CharField(max_length=16, choices=Key.choices)
    server_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    server_item_ids = models.JSONField(default=list)
    pushed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["server_user", "key"], name="one_playlist_per_key"),
        ]

    def __str__(self) -> str:
        return f"{self.name} for {self.server_user}"
