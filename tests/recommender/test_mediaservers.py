"""Jellyfin and Emby as a self-hoster connects them: a fake server (tests/fake_jellyfin.py)
speaks the documented endpoints, and Encore's real sync, history, webhook and playlist code
talks to it over HTTP."""

from __future__ import annotations

import socket
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from entertainment.activity.models import Play, Rating
from entertainment.catalogue.models import ExternalId, Item
from entertainment.mediaservers import tasks
from entertainment.mediaservers.models import Connection, ServerItem, ServerPlaylist, ServerUser
from entertainment.mediaservers.sync import sync
from recommender.playlists import push_playlists
from tests.conftest import wait_for
from tests.factories import ItemFactory, UserFactory
from tests.fake_jellyfin import FakeServer, png, running

pytestmark = pytest.mark.django_db

KEY = "0123456789abcdef0123456789abcdef"


def _library(server: FakeServer) -> dict[str, str]:
    ids = {name: server.new_id() for name in ("heat", "alien", "show", "artist", "album", "song")}
    server.items = [
        {
            "Id": ids["heat"],
            "Name": "Heat",
            "Type": "Movie",
            "ProductionYear": 1995,
            "Genres": ["Crime", "Drama"],
            "ProviderIds": {"Imdb": "tt0113277", "Tmdb": "949"},
            "ImageTags": {"Primary": "abc"},
        },
        {
            "Id": ids["alien"],
            "Name": "Alien",
            "Type": "Movie",
            "ProductionYear": 1979,
            "Genres": ["Horror"],
            "ProviderIds": {"Imdb": "tt0078748"},
            "ImageTags": {"Primary": "def"},
        },
        {"Id": ids["show"], "Name": "The Wire", "Type": "Series", "ProductionYear": 2002},
        {"Id": ids["artist"], "Name": "Massive Attack", "Type": "MusicArtist"},
        {
            "Id": ids["album"],
            "Name": "Mezzanine",
            "Type": "MusicAlbum",
            "ProductionYear": 1998,
            "AlbumArtists": [{"Name": "Massive Attack", "Id": ids["artist"]}],
        },
        {"Id": ids["song"], "Name": "Teardrop", "Type": "Audio", "AlbumId": ids["album"]},
    ]
    server.images = {ids["heat"]: png((200, 30, 30)), ids["alien"]: png((10, 200, 10))}
    return ids


def _connection(server: FakeServer, kind: str = "jellyfin") -> Connection:
    connection = Connection(name="Home", kind=kind, url=server.url)
    connection.set_api_key(KEY)
    connection.save()
    return connection


def test_the_api_key_is_stored_encrypted_and_never_shown_again(admin_client):
    response = admin_client.post(
        "/admin/mediaservers/connection/add/",
        {"name": "Home", "kind": "jellyfin", "url": "http://jf.lan:8096", "api_key": KEY,
         "enabled": "on", "push_playlists": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.content
    connection = Connection.objects.get()
    assert KEY not in connection.api_key_encrypted
    assert connection.api_key == KEY
    page = admin_client.get(f"/admin/mediaservers/connection/{connection.pk}/change/")
    assert KEY not in page.content.decode()
    assert "set (hidden)" in page.content.decode()
    # Saving without retyping keeps the key.
    admin_client.post(
        f"/admin/mediaservers/connection/{connection.pk}/change/",
        {"name": "Home 2", "kind": "jellyfin", "url": "http://jf.lan:8096", "enabled": "on"},
    )
    connection.refresh_from_db()
    assert (connection.name, connection.api_key) == ("Home 2", KEY)


def test_no_call_goes_out_without_a_connection(monkeypatch):
    def no_sockets(*args, **kwargs):
        raise AssertionError("an outbound connection was opened")

    monkeypatch.setattr(socket, "create_connection", no_sockets)
    tasks.sync_all()
    assert push_playlists(12345) == 0


def test_a_sync_brings_the_library_with_artwork_and_a_second_adds_nothing():
    known = ItemFactory(kind="film", title="Heat (1995 cut)", year=1995)
    ExternalId.objects.create(item=known, source="imdb", value="tt0113277")
    with running(FakeServer(api_key=KEY)) as server:
        ids = _library(server)
        connection = _connection(server)
        summary = sync(connection)
        items = {s.server_id: s.item for s in ServerItem.objects.select_related("item")}
        # Matched by its IMDb id, not duplicated; the others created with genres and ids.
        assert items[ids["heat"]] == known
        alien = items[ids["alien"]]
        assert (alien.kind, alien.year) == ("film", 1979)
        assert ExternalId.objects.get(source="imdb", value="tt0078748").item == alien
        assert {g.name for g in alien.genres.all()} == {"Horror"}
        assert alien.artwork and alien.artwork_thumbnail
        assert items[ids["show"]].kind == "film"
        song, album = items[ids["song"]], items[ids["album"]]
        assert (song.music_type, song.parent, album.parent) == (
            "track",
            album,
            items[ids["artist"]],
        )
        assert "Movie created" in str(summary)

        count = Item.objects.count()
        sync(connection)
        assert Item.objects.count() == count
        assert ServerItem.objects.count() == 6
        connection.refresh_from_db()
        assert connection.last_sync_at is not None and connection.last_error == ""
        # Every call carried the key in Jellyfin's documented header.
        assert all(f'Token="{KEY}"' in s.headers["Authorization"] for s in server.seen)


def test_a_resync_reads_a_known_library_in_bulk_and_follows_renames():
    def resync_queries(connection):
        with CaptureQueriesContext(db_connection) as queries:
            summary = sync(connection)
        return len(queries), summary

    with running(FakeServer(api_key=KEY)) as server:
        _library(server)
        connection = _connection(server)
        sync(connection)
        small, _ = resync_queries(connection)
        album = next(row["Id"] for row in server.items if row["Type"] == "MusicAlbum")
        server.items += [
            {"Id": server.new_id(), "Name": f"Track {n}", "Type": "Audio", "AlbumId": album}
            for n in range(40)
        ]
        sync(connection)
        large, _ = resync_queries(connection)
        # Seven times the library, not one query more.
        assert large == small
        server.items[0]["Name"] = "Heat (director's cut)"
        _, summary = resync_queries(connection)
        assert "1 titles updated" in str(summary)
        heat = ServerItem.objects.get(server_id=server.items[0]["Id"]).item
        assert heat.title == "Heat (director's cut)"


def test_only_confirmed_people_have_their_history_read():
    ann, bob = UserFactory(), UserFactory()
    with running(FakeServer(api_key=KEY, activity={})) as server:
        ids = _library(server)
        server.users = [{"Id": "a" * 32, "Name": "ann"}, {"Id": "b" * 32, "Name": "bob"}]
        server.user_data = {
            "a" * 32: {
                ids["heat"]: {"PlayCount": 3, "Played": True,
                              "LastPlayedDate": "2026-11-20T21:04:05.1234567Z"},
                ids["alien"]: {"PlayCount": 0, "Played": False, "IsFavorite": True},
            },
            "b" * 32: {ids["alien"]: {"PlayCount": 1, "Played": True}},
        }  # fmt: skip
        server.activity = {"a" * 32: [["2026-11-21 20:00:00", ids["song"], "240"]]}
        connection = _connection(server)
        sync(connection)
        ServerUser.objects.filter(server_id="a" * 32).update(person=ann)
        ServerUser.objects.filter(server_id="b" * 32).update(person=bob)
        sync(connection)
        assert not Play.objects.exists()  # proposed by staff, not yet confirmed by anyone

        client = _client_for(ann)
        page = client.get(reverse("mediaservers:accounts"))
        assert "ann" in page.content.decode()
        client.post(reverse("mediaservers:accounts"), {"account": _account(ann).pk,
                                                        "action": "confirm"})  # fmt: skip
        sync(connection)
        heat = Play.objects.get(user=ann, item__title="Heat")
        assert (heat.play_count, heat.completed) == (3, True)
        assert heat.started_at is not None and heat.started_at.day == 20
        assert Rating.objects.get(user=ann).value == Decimal("5.0")
        timed = Play.objects.get(user=ann, item__title="Teardrop")
        assert timed.seconds_played == 240
        assert not Play.objects.filter(user=bob).exists()

        # Played again on the server: the same row counts more; nothing doubles.
        server.user_data["a" * 32][ids["heat"]]["PlayCount"] = 4
        sync(connection)
        assert Play.objects.filter(user=ann).count() == 2
        assert Play.objects.get(user=ann, item__title="Heat").play_count == 4


def test_a_paused_history_stores_nothing_from_the_server():
    ann = UserFactory()
    ann.privacy.history_paused = True
    ann.privacy.save()
    with running(FakeServer(api_key=KEY)) as server:
        ids = _library(server)
        server.users = [{"Id": "a" * 32, "Name": "ann"}]
        server.user_data = {"a" * 32: {ids["heat"]: {"PlayCount": 2, "Played": True}}}
        connection = _connection(server)
        sync(connection)
        _confirm(ann, "a" * 32)
        sync(connection)
    assert not Play.objects.filter(user=ann).exists()


def test_emby_is_called_with_its_own_header_and_user_items_route():
    ann = UserFactory()
    with running(FakeServer(api_key=KEY, emby=True)) as server:
        ids = _library(server)
        server.users = [{"Id": "a" * 32, "Name": "ann"}]
        server.user_data = {"a" * 32: {ids["alien"]: {"PlayCount": 1, "Played": True}}}
        connection = _connection(server, kind="emby")
        sync(connection)
        _confirm(ann, "a" * 32)
        sync(connection)
        assert all(s.headers.get("X-Emby-Token") == KEY for s in server.seen)
        assert any(s.path == f"/Users/{'a' * 32}/Items" for s in server.seen)
    assert Play.objects.get(user=ann).item.title == "Alien"


def test_a_wrong_key_is_reported_on_the_connection():
    with running(FakeServer(api_key="something else")) as server:
        connection = _connection(server)
        tasks.sync_connection(connection.pk)
    connection.refresh_from_db()
    assert "refused the API key (401)" in connection.last_error
    assert KEY not in connection.last_error


def test_playlists_are_pushed_then_replaced_not_duplicated(
    serving_model, fresh_lists, django_capture_on_commit_callbacks
):
    ann = UserFactory()
    with running(FakeServer(api_key=KEY)) as server:
        server.users = [{"Id": "a" * 32, "Name": "ann"}]
        films: list[dict[str, Any]] = [
            {
                "Id": server.new_id(),
                "Name": f"Film {n}",
                "Type": "Movie",
                "ProductionYear": 2000 + n,
            }
            for n in range(6)
        ]
        server.items = films
        server.user_data = {"a" * 32: {films[0]["Id"]: {"PlayCount": 1, "Played": True}}}
        connection = _connection(server)
        sync(connection)
        _confirm(ann, "a" * 32)
        sync(connection)
        items = {s.server_id: s.item for s in ServerItem.objects.select_related("item")}
        ours = [items[f["Id"]] for f in films]
        serving_model(
            ours,
            follows={ours[0].pk: ours[3].pk},
            popular=[ours[5].pk, ours[4].pk],
            co_played={ours[0].pk: [(ours[2].pk, 3)]},
        )
        assert push_playlists(connection.pk) == 2
        for_you = server.playlist_items("Encore: for you")
        assert for_you[0] == films[3]["Id"]
        assert films[0]["Id"] not in for_you  # already watched
        because = server.playlist_items("Because you watched Film 0")
        assert because[0] == films[3]["Id"]
        assert server.playlists[next(iter(server.playlists))]["UserId"] == "a" * 32

        # The person watches the top pick; the next push replaces the items in place.
        server.user_data["a" * 32][films[3]["Id"]] = {"PlayCount": 1, "Played": True}
        with django_capture_on_commit_callbacks(execute=True):
            sync(connection)  # the new play reaches the person's lists on commit
        push_playlists(connection.pk)
        assert len([p for p in server.playlists.values() if p["Name"] == "Encore: for you"]) == 1
        assert films[3]["Id"] not in server.playlist_items("Encore: for you")

        # Now "because you watched Film 3": the old "because" playlist is replaced, not kept.
        assert [p["Name"] for p in server.playlists.values()] == [
            "Encore: for you",
            "Because you watched Film 3",
        ]

        # Deleted on the server: made again.
        server.playlists.clear()
        push_playlists(connection.pk)
        assert server.playlist_items("Encore: for you")


def test_the_webhook_records_completed_plays_at_the_persons_secret_url(client):
    ann = UserFactory()
    with running(FakeServer(api_key=KEY)) as server:
        ids = _library(server)
        server.users = [{"Id": "a" * 32, "Name": "ann"}]
        connection = _connection(server)
        sync(connection)
    account = _confirm(ann, "a" * 32)
    page = _client_for(ann).post(
        reverse("mediaservers:accounts"), {"account": account.pk, "action": "webhook"}
    )
    url = page.context["rows"][0]["webhook_url"]
    path = url.split("testserver", 1)[1]
    stop = {"NotificationType": "PlaybackStop", "ItemId": ids["alien"], "Name": "Alien",
            "PlayedToCompletion": "True", "UtcTimestamp": "2026-11-29T20:00:00Z"}  # fmt: skip
    assert client.post(path, stop, content_type="application/json").status_code == 204
    assert client.post(path, stop, content_type="application/json").status_code == 204
    assert Play.objects.get(user=ann).item.title == "Alien"  # stored once
    start = {**stop, "NotificationType": "PlaybackStart"}
    assert client.post(path, start, content_type="application/json").status_code == 204
    assert Play.objects.filter(user=ann).count() == 1
    wrong = reverse("mediaservers:webhook", args=["not-the-secret"])
    assert client.post(wrong, stop, content_type="application/json").status_code == 404
    # A new URL retires the old one.
    _client_for(ann).post(
        reverse("mediaservers:accounts"), {"account": account.pk, "action": "webhook"}
    )
    assert client.post(path, stop, content_type="application/json").status_code == 404


def _account(person) -> ServerUser:
    return ServerUser.objects.get(person=person)


def _confirm(person, server_id: str) -> ServerUser:
    ServerUser.objects.filter(server_id=server_id).update(person=person)
    _client_for(person).post(
        reverse("mediaservers:accounts"),
        {"account": ServerUser.objects.get(server_id=server_id).pk, "action": "confirm"},
    )
    account = ServerUser.objects.get(server_id=server_id)
    assert account.confirmed
    return account


def _client_for(person):
    from django.test import Client as PageClient

    page_client = PageClient()
    page_client.force_login(person)
    return page_client


@pytest.mark.worker
def test_a_sync_queued_from_the_admin_runs_on_a_real_worker(celery_worker_process):
    with running(FakeServer(api_key=KEY)) as server:
        _library(server)
        connection = _connection(server)
        tasks.sync_connection.delay(connection.pk)

        def synced() -> Connection | None:
            connection.refresh_from_db()
            return connection if connection.last_sync_at else None

        wait_for(synced, 60, "the media server sync")
    assert ServerItem.objects.count() == 6


def test_an_erasure_holds_against_the_next_sync(django_capture_on_commit_callbacks, monkeypatch):
    from entertainment.accounts.erasure import erase_history

    ann = UserFactory()
    with running(FakeServer(api_key=KEY)) as server:
        ids = _library(server)
        server.users = [{"Id": "a" * 32, "Name": "ann"}]
        server.user_data = {
            "a" * 32: {
                ids["heat"]: {"PlayCount": 2, "Played": True},
                ids["alien"]: {"PlayCount": 1, "Played": True},
            }
        }
        connection = _connection(server)
        sync(connection)
        _confirm(ann, "a" * 32)
        sync(connection)
        alien = Play.objects.get(user=ann, item__title="Alien").item
        erase_history(ann, item_ids=[alien.pk])
        sync(connection)
        assert list(Play.objects.filter(user=ann).values_list("item__title", flat=True)) == ["Heat"]

        server.playlists["f" * 32] = {"Name": "Encore: for you", "UserId": "a" * 32,
                                      "entries": []}  # fmt: skip
        ServerPlaylist.objects.create(
            server_user=_account(ann), key="for_you", server_id="f" * 32, name="Encore: for you"
        )
        # The queued deletion runs here, in process (the worker path is tested above).
        monkeypatch.setattr(tasks.delete_playlists, "delay", tasks.delete_playlists)
        with django_capture_on_commit_callbacks(execute=True):
            erase_history(ann)
        sync(connection)
        assert not Play.objects.filter(user=ann).exists()
        assert not ServerUser.objects.get(server_id="a" * 32).confirmed
        assert server.playlists == {}  # removed from the server too


def test_the_webhook_secret_never_reaches_the_request_log(client, caplog):
    secret = "a-secret-that-must-not-be-logged"
    with caplog.at_level("DEBUG", logger="django.request"):
        client.post(f"/hooks/jellyfin/{secret}/", {}, content_type="application/json")
        client.get(f"/hooks/jellyfin/{secret}/")
    assert secret not in caplog.text


def test_a_connection_brings_two_peoples_history_and_pushes_both_their_playlists(
    serving_model, fresh_lists
):
    ann, bob = UserFactory(), UserFactory()
    with running(FakeServer(api_key=KEY)) as server:
        server.users = [{"Id": "a" * 32, "Name": "ann"}, {"Id": "b" * 32, "Name": "bob"}]
        films: list[dict[str, Any]] = [
            {"Id": server.new_id(), "Name": f"Film {n}", "Type": "Movie",
             "ProductionYear": 2000 + n, "ImageTags": {"Primary": "x"}}
            for n in range(6)
        ]  # fmt: skip
        server.items = films
        server.images = {f["Id"]: png((20 * n, 90, 160)) for n, f in enumerate(films)}
        server.user_data = {
            "a" * 32: {films[0]["Id"]: {"PlayCount": 2, "Played": True}},
            "b" * 32: {films[1]["Id"]: {"PlayCount": 1, "Played": True}},
        }
        connection = _connection(server)
        sync(connection)
        _confirm(ann, "a" * 32)
        _confirm(bob, "b" * 32)
        sync(connection)
        assert Play.objects.get(user=ann).item.title == "Film 0"
        assert Play.objects.get(user=bob).item.title == "Film 1"
        ours = {s.server_id: s.item for s in ServerItem.objects.select_related("item")}
        assert all(item.artwork for item in ours.values())
        by_title = {item.title: item for item in ours.values()}
        serving_model(
            list(ours.values()),
            follows={by_title["Film 0"].pk: by_title["Film 4"].pk,
                     by_title["Film 1"].pk: by_title["Film 5"].pk},
        )  # fmt: skip
        assert push_playlists(connection.pk) == 4
        mine = {
            (p["UserId"], p["Name"]): [i for _, i in p["entries"]]
            for p in server.playlists.values()
        }
        assert mine[("a" * 32, "Because you watched Film 0")][0] == films[4]["Id"]
        assert mine[("b" * 32, "Because you watched Film 1")][0] == films[5]["Id"]
        assert films[0]["Id"] not in mine[("a" * 32, "Encore: for you")]
        assert films[1]["Id"] not in mine[("b" * 32, "Encore: for you")]
