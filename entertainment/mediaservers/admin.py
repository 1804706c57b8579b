"""Staff set up connections here; the API key is write-only (stored encrypted, never shown)."""

from __future__ import annotations

from typing import Any

from celery import current_app
from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from entertainment import queueing

from .models import Connection, ServerItem, ServerUser
from .tasks import sync_connection


class ConnectionForm(forms.ModelForm):
    # Media servers on a home network mostly answer plain http.
    url = forms.URLField(assume_scheme="http", help_text="e.g. http://jellyfin.lan:8096")
    api_key = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Dashboard → API Keys on the server. Stored encrypted; never shown again. "
        "Leave empty to keep the stored one.",
    )

    class Meta:
        model = Connection
        fields = ["name", "kind", "url", "api_key", "enabled", "push_playlists"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.instance.pk and not data.get("api_key"):
            self.add_error("api_key", "A new connection needs the server's API key.")
        return data

    def save(self, commit: bool = True) -> Connection:
        connection = super().save(commit=False)
        if key := self.cleaned_data.get("api_key"):
            connection.set_api_key(key)
        if commit:
            connection.save()
        return connection


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    form = ConnectionForm
    list_display = ["name", "kind", "url", "enabled", "last_sync_at", "last_sync_summary"]
    readonly_fields = ["api_key_status", "last_sync_at", "last_sync_summary", "last_error"]
    actions = ["sync_now", "push_playlists_now"]

    @admin.display(description="API key")
    def api_key_status(self, obj: Connection) -> str:
        return "set (hidden)" if obj.api_key_encrypted else "not set"

    @admin.action(description="Sync library, accounts and history now")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        for connection in queryset.filter(enabled=True):
            queueing.send(sync_connection, connection.pk)
        messages.info(request, "Sync queued; the connection's row shows its outcome.")

    @admin.action(description="Push playlists now")
    def push_playlists_now(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        for connection in queryset.filter(enabled=True, push_playlists=True):
            current_app.send_task("recommender.push_playlists", args=[connection.pk])
        messages.info(request, "Playlist push queued.")


@admin.register(ServerUser)
class ServerUserAdmin(admin.ModelAdmin):
    list_display = ["name", "connection", "person", "confirmed_at", "history_synced_at"]
    list_filter = ["connection"]
    raw_id_fields = ["person"]
    fields = ["connection", "server_id", "name", "person", "confirmed_at", "history_synced_at"]
    readonly_fields = ["connection", "server_id", "name", "confirmed_at", "history_synced_at"]

    def save_model(self, request: HttpRequest, obj: ServerUser, form: Any, change: bool) -> None:
        if "person" in form.changed_data:
            # A new proposal: the person named must confirm it themselves.
            obj.confirmed_at = None
            obj.webhook_secret_hash = ""
        super().save_model(request, obj, form, change)


@admin.register(ServerItem)
class ServerItemAdmin(admin.ModelAdmin):
    list_display = ["server_id", "server_type", "item", "connection"]
    list_filter = ["connection", "server_type"]
    raw_id_fields = ["item"]
