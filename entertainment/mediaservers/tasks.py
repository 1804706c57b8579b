"""Syncing media servers on the cpu queue: by beat for every enabled connection, or one
connection when staff ask from the admin."""

from __future__ import annotations

import logging

from celery import current_app, shared_task

from .client import Client, MediaServerError
from .models import Connection
from .sync import sync

log = logging.getLogger(__name__)


@shared_task(name="mediaservers.sync_connection", ignore_result=True, time_limit=3600)
def sync_connection(connection_id: int) -> None:
    connection = Connection.objects.filter(pk=connection_id, enabled=True).first()
    if connection is None:
        return
    try:
        summary = sync(connection)
    except MediaServerError as error:
        log.warning("media server %s: %s", connection, error)
        return
    log.info("media server %s synced: %s", connection, summary)
    if connection.push_playlists:
        # recommender's task, by name: this app never imports recommender.
        current_app.send_task("recommender.push_playlists", args=[connection.pk])


@shared_task(name="mediaservers.sync_all", ignore_result=True)
def sync_all() -> None:
    for pk in Connection.objects.filter(enabled=True).values_list("pk", flat=True):
        sync_connection.delay(pk)


@shared_task(name="mediaservers.delete_playlists", ignore_result=True)
def delete_playlists(connection_id: int, playlist_ids: list[str]) -> None:
    """Playlists of a person who erased their history: removed from the server."""
    connection = Connection.objects.filter(pk=connection_id, enabled=True).first()
    if connection is None:
        return
    client = Client(connection)
    for playlist_id in playlist_ids:
        try:
            client.delete_playlist(playlist_id)
        except MediaServerError as error:
            log.warning("deleting playlist %s on %s: %s", playlist_id, connection, error)
