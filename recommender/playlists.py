"""Recommendations written back to media servers as playlists, so they show in every app of
the server (Jellyfin 10.11 dropped its own "Recommended" rows).

For each confirmed person with personalisation on: "Encore: for you" (their For you films and
series the server has, in order) and "Because you watched X" (X their latest completed play
from this server; what tends to follow it). Each is created once and its items replaced on
later pushes; a playlist someone deleted on the server is made again.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db.models import F

from entertainment.activity.models import Play
from entertainment.catalogue.models import Item, Kind
from entertainment.mediaservers.client import Client, MediaServerError
from entertainment.mediaservers.models import Connection, ServerItem, ServerPlaylist, ServerUser

from . import lists, realtime

log = logging.getLogger(__name__)

LENGTH = 20
# How deep a list is read for LENGTH items the server has.
DEPTH = 200


def _push(
    client: Client, account: ServerUser, key: str, name: str, server_ids: list[str]
) -> ServerPlaylist | None:
    existing = ServerPlaylist.objects.filter(server_user=account, key=key).first()
    if existing is not None and existing.name != name:
        # "Because you watched X" became "… Y": Jellyfin's playlists have no rename call every
        # version shares, so the old one goes and a new one is made.
        client.delete_playlist(existing.server_id)
        existing.delete()
        existing = None
    if existing is not None:
        try:
            # Read first: a playlist the person deleted on the server answers 404.
            client.replace_playlist(existing.server_id, server_ids, account.server_id)
            existing.server_item_ids = server_ids
            existing.save(update_fields=["server_item_ids", "pushed_at"])
            return existing
        except MediaServerError as error:
            if "HTTP 404" not in str(error):
                raise
            existing.delete()
    if not server_ids:
        return None
    playlist_id = client.create_playlist(name, server_ids, account.server_id, "Video")
    return ServerPlaylist.objects.create(
        server_user=account, key=key, server_id=playlist_id, name=name, server_item_ids=server_ids
    )


def push_for(client: Client, account: ServerUser) -> list[ServerPlaylist]:
    person = account.person
    if person is None or not account.confirmed or not person.privacy.personalised:
        return []
    on_server: dict[int, str] = {}
    for server_id, item_id in ServerItem.objects.filter(
        connection=client.connection, item__kind=Kind.FILM
    ).values_list("server_id", "item_id"):
        on_server.setdefault(item_id, server_id)
    pushed = []
    for_you = lists.for_person(person, Kind.FILM, DEPTH)
    ids = [on_server[e.item_id] for e in for_you.entries if e.item_id in on_server][:LENGTH]
    if (playlist := _push(client, account, "for_you", "Encore: for you", ids)) is not None:
        pushed.append(playlist)
    latest = (
        Play.objects.filter(
            user=person,
            completed=True,
            item__server_items__connection=client.connection,
            item__kind=Kind.FILM,
        )
        .order_by(F("started_at").desc(nulls_last=True), "-pk")
        .values_list("item_id", flat=True)
        .first()
    )
    if latest is not None:
        owned = set(Play.objects.filter(user=person).values_list("item_id", flat=True))
        following = realtime.next_items([latest], exclude=owned, k=DEPTH)
        ids = [on_server[e.item_id] for e in following if e.item_id in on_server][:LENGTH]
        title = Item.objects.filter(pk=latest).values_list("title", flat=True).first()
        name = f"Because you watched {title}"[:200]
        if (playlist := _push(client, account, "because", name, ids)) is not None:
            pushed.append(playlist)
    return pushed


@shared_task(name="recommender.push_playlists", ignore_result=True, time_limit=1800)
def push_playlists(connection_id: int) -> int:
    connection = Connection.objects.filter(
        pk=connection_id, enabled=True, push_playlists=True
    ).first()
    if connection is None:
        return 0
    client, count = Client(connection), 0
    for account in connection.users.select_related("person").exclude(confirmed_at=None):
        try:
            count += len(push_for(client, account))
        except MediaServerError as error:
            log.warning("playlists of %s: %s", account, error)
    return count
