"""The ListenBrainz-compatible API, driven by the bodies of ListenBrainz's JSON documentation
(tests/fixtures/listenbrainz/)."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from entertainment.activity.models import Play
from entertainment.catalogue.models import ExternalId, Item, Kind, MusicType
from entertainment.scrobbling.listens import MAX_LISTENS_PER_REQUEST
from tests.conftest import api_token
from tests.factories import ItemFactory, UserFactory

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "listenbrainz"
SUBMIT = "/1/submit-listens"
VALIDATE = "/1/validate-token"
RICK_RECORDING = "98255a8c-017a-4bc7-8dd6-1fa36124572b"


def sample(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def token(user) -> str:
    return api_token(user)


def submit(body: object, token: str | None, client: Client | None = None):
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    return (client or Client()).post(SUBMIT, raw, content_type="application/json", **headers)


def music(title: str, music_type: str, parent: Item | None = None) -> Item:
    return ItemFactory(  # type: ignore[return-value]
        kind=Kind.MUSIC, title=title, music_type=music_type, parent=parent, year=None
    )


def catalogue_track(artist: str, album: str, title: str) -> Item:
    return music(title, MusicType.TRACK, music(album, MusicType.ALBUM, music(artist, "artist")))


# --- validate-token ---------------------------------------------------------------------------


def test_validate_token_answers_as_listenbrainz(user, token):
    response = Client().get(VALIDATE, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 200
    assert response.json() == {
        "code": 200,
        "message": "Token valid.",
        "valid": True,
        "user_name": user.username,
    }


def test_validate_token_with_a_bad_token_is_not_valid(db):
    response = Client().get(VALIDATE, HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 200
    assert response.json() == {"code": 200, "message": "Token invalid.", "valid": False}


def test_validate_token_without_a_token_is_a_400(db):
    response = Client().get(VALIDATE)
    assert response.status_code == 400
    assert response.json() == {"code": 400, "error": "You need to provide an Authorization token."}


# --- Authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "You need to provide an Authorization header."),
        ("Token", "Provided Authorization header is invalid."),
        ("Token not-a-real-token", "Invalid authorization token."),
    ],
)
def test_submit_without_a_valid_token_is_a_401(db, header, message):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = Client().post(
        SUBMIT, json.dumps(sample("single.json")), content_type="application/json", **extra
    )
    assert response.status_code == 401
    assert response.json() == {"code": 401, "error": message}
    assert not Play.objects.exists()
    assert not Item.objects.exists()


def test_a_revoked_token_is_refused(user, token):
    from entertainment.accounts.tokens import revoke_tokens

    revoke_tokens(user.pk)
    assert submit(sample("single.json"), token).status_code == 401


# --- Matching ---------------------------------------------------------------------------------


def test_a_listen_is_matched_by_its_recording_mbid_first(user, token):
    # Spelled differently in the catalogue: only the MBID can find it.
    track = catalogue_track("Astley, Rick", "Whenever You Need Somebody", "Never Gonna (7in)")
    ExternalId.objects.create(item=track, source="musicbrainz", value=RICK_RECORDING)
    items_before = Item.objects.count()

    response = submit(sample("single.json"), token)

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    play = Play.objects.get(user=user)
    assert play.item == track
    assert play.started_at.timestamp() == 1443521965
    assert play.seconds_played == 222
    assert play.completed
    assert Item.objects.count() == items_before


def test_without_an_mbid_a_listen_is_matched_by_normalised_artist_and_title(user, token):
    track = catalogue_track("Beyoncé", "Dangerously in Love", "Crazy in Love")
    body = {
        "listen_type": "single",
        "payload": [
            {
                "listened_at": 1700000000,
                "track_metadata": {
                    "artist_name": "BEYONCE feat. JAY-Z",
                    "track_name": "Crazy In Love (feat. Jay-Z)!",
                },
            }
        ],
    }
    assert submit(body, token).status_code == 200
    assert Play.objects.get(user=user).item == track
    # The match taught nothing new, and added nothing.
    assert Item.objects.filter(kind=Kind.MUSIC).count() == 3


def test_a_name_match_learns_the_recording_mbid(user, token):
    track = catalogue_track("Rick Astley", "Whenever You Need Somebody", "Never Gonna Give You Up")
    assert submit(sample("single.json"), token).status_code == 200
    assert Play.objects.get(user=user).item == track
    assert ExternalId.objects.get(source="musicbrainz", value=RICK_RECORDING).item == track


def test_unknown_listens_add_artist_album_and_track_marked_listenbrainz(user, token):
    response = submit(sample("single.json"), token)
    assert response.status_code == 200

    track = Play.objects.get(user=user).item
    album = track.parent
    artist = album.parent
    assert (track.kind, track.music_type, track.title) == (
        "music",
        "track",
        "Never Gonna Give You Up",
    )
    assert track.duration_seconds == 222
    assert (album.music_type, album.title) == ("album", "Whenever you need somebody")
    assert (artist.music_type, artist.title) == ("artist", "Rick Astley")
    for item in (track, album, artist):
        assert item.external_ids.filter(source="listenbrainz").exists()
    ids = {(e.source, e.value): e.item_id for e in ExternalId.objects.filter(source="musicbrainz")}
    assert ids == {
        ("musicbrainz", RICK_RECORDING): track.pk,
        ("musicbrainz", "bf9e91ea-8029-4a04-a26a-224e00a83266"): album.pk,
        ("musicbrainz", "db92a151-1ac2-438b-bc43-b82e149ddd50"): artist.pk,
    }
    assert track.credited("artist")[0].name == "Rick Astley"


def test_an_import_adds_each_new_track_once_and_finds_known_artists(user, token):
    response = submit(sample("import.json"), token)
    assert response.status_code == 200
    plays = list(Play.objects.filter(user=user).order_by("started_at"))
    assert len(plays) == 4
    # Two listens of one track: one item. An album-less listen hangs from its artist.
    assert plays[0].item_id == plays[1].item_id
    assert plays[2].item.parent.music_type == "artist"
    assert Item.objects.filter(music_type="track").count() == 3
    assert Item.objects.filter(music_type="artist").count() == 3
    assert Item.objects.filter(music_type="album").count() == 2

    # Another person's listen of a known track with another spelling adds nothing.
    other = UserFactory()
    body = copy.deepcopy(sample("single.json"))
    body["payload"][0]["track_metadata"] = {
        "artist_name": "duo teslar",
        "track_name": "UNIVERSAL FUNK",
    }
    assert submit(body, api_token(other)).status_code == 200
    assert Play.objects.get(user=other).item_id == plays[2].item_id
    assert Item.objects.count() == 8


# --- Idempotence, playing_now, paused ---------------------------------------------------------


def test_the_same_listen_sent_again_is_stored_once(user, token):
    assert submit(sample("single.json"), token).status_code == 200
    assert submit(sample("single.json"), token).status_code == 200
    # The same listen inside an import, with other spelling of the same track.
    body = copy.deepcopy(sample("single.json"))
    body["listen_type"] = "import"
    body["payload"][0]["track_metadata"]["artist_name"] = "RICK ASTLEY"
    assert submit(body, token).status_code == 200
    assert Play.objects.filter(user=user).count() == 1
    assert Item.objects.filter(music_type="track").count() == 1


def test_playing_now_stores_nothing(user, token):
    response = submit(sample("playing_now.json"), token)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert not Play.objects.exists()
    assert not Item.objects.exists()


def test_a_paused_history_stores_nothing_but_answers_ok(user, token):
    privacy = user.privacy
    privacy.history_paused = True
    privacy.save()
    response = submit(sample("import.json"), token)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert not Play.objects.exists()
    # Not even the catalogue learns what a paused person played.
    assert not Item.objects.exists()


# --- 400s, all or nothing ---------------------------------------------------------------------


def _bad(mutate) -> dict:
    body = copy.deepcopy(sample("import.json"))
    mutate(body)
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "Cannot parse JSON document"),
        (b"[]", "Top level of JSON document should be a json object."),
        ({"payload": []}, "Invalid JSON document submitted."),
        ({"listen_type": "import", "payload": {}}, "should be a list of listens"),
        ({"listen_type": "import", "payload": []}, "JSON document does not contain any listens"),
        (_bad(lambda b: b.update(listen_type="sometimes")), "requires a valid listen_type key"),
        (_bad(lambda b: b.update(listen_type="single")), "It should contain only one."),
        (
            _bad(lambda b: b["payload"][3].pop("listened_at")),
            "JSON document must contain the key listened_at at the top level. (listen 3",
        ),
        (
            _bad(lambda b: b["payload"][1].update(listened_at="yesterday")),
            "must contain an int value for listened_at",
        ),
        (_bad(lambda b: b["payload"][0].update(listened_at=1000)), "listened_at is too low"),
        (_bad(lambda b: b["payload"][0].update(extra=1)), "may only contain listened_at and"),
        (
            _bad(lambda b: b["payload"][2]["track_metadata"].pop("artist_name")),
            "does not contain required track_metadata.artist_name.",
        ),
        (
            _bad(lambda b: b["payload"][2]["track_metadata"].update(track_name=["a", "b"])),
            "track_name must be a single string.",
        ),
        (
            _bad(
                lambda b: b["payload"][0]["track_metadata"]["additional_info"].update(
                    recording_mbid="not-an-mbid"
                )
            ),
            "recording_mbid MBID format invalid.",
        ),
        (
            _bad(
                lambda b: b["payload"][0]["track_metadata"]["additional_info"].update(
                    duration=200, duration_ms=200000
                )
            ),
            "should not contain both duration and duration_ms",
        ),
        (
            _bad(
                lambda b: b["payload"][0]["track_metadata"]["additional_info"].update(
                    tags=["x"] * 51
                )
            ),
            "may not contain more than 50 items",
        ),
        (
            _bad(lambda b: b["payload"][0]["track_metadata"].update(track_name="x" * 11000)),
            "In aggregate, listens may not be larger than 10240 characters.",
        ),
    ],
)
def test_bad_submissions_are_400s_in_listenbrainz_shape_and_store_nothing(
    user, token, body, message
):
    response = submit(body, token)
    assert response.status_code == 400
    answer = response.json()
    assert set(answer) == {"code", "error"}
    assert answer["code"] == 400
    assert message in answer["error"]
    # All or nothing: the good listens of the batch are not stored either.
    assert not Play.objects.exists()
    assert not Item.objects.exists()


def test_playing_now_refuses_a_listened_at(token):
    body = sample("playing_now.json")
    body["payload"][0]["listened_at"] = 1700000000
    response = submit(body, token)
    assert response.status_code == 400
    assert "must not contain listened_at while submitting playing_now" in response.json()["error"]


def test_at_most_max_listens_per_request(user, token):
    listen = sample("single.json")["payload"][0]
    body = {
        "listen_type": "import",
        "payload": [
            {**listen, "listened_at": 1443521965 + i} for i in range(MAX_LISTENS_PER_REQUEST + 1)
        ],
    }
    response = submit(body, token)
    assert response.status_code == 400
    assert response.json()["error"] == (
        "Too many listens. You may not submit more than 1000 listens at once."
    )
    body["payload"] = body["payload"][:MAX_LISTENS_PER_REQUEST]
    assert submit(body, token).status_code == 200
    assert Play.objects.filter(user=user).count() == MAX_LISTENS_PER_REQUEST


def test_a_body_over_listenbrainz_payload_size_is_a_clear_400(settings, token):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
    settings.REQUEST_BODY_LIMITS = {
        **settings.REQUEST_BODY_LIMITS,
        "scrobbling:listenbrainz-submit-listens": 20 * 1024 * 1024,
    }
    body = b'{"listen_type": "import", "payload": [' + b" " * 10_240_001 + b"]}"
    response = submit(body, token)
    assert response.status_code == 400
    assert response.json()["error"] == (
        "Payload too large. Payload may not be larger than 10240000 bytes."
    )


def test_other_methods_are_405s(token):
    response = Client().get(SUBMIT, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 405
    assert response.json()["code"] == 405


# --- PostgreSQL: two scrobblers send the same new listens at once -----------------------------


@pytest.mark.django_db(transaction=True)
def test_the_same_new_listens_sent_twice_at_once_are_stored_once():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite's in-memory test database is per connection")
    user = UserFactory()
    token = api_token(user)
    body = sample("import.json")
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def send():
        try:
            barrier.wait()
            statuses.append(submit(body, token).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200, 200]
    assert Play.objects.filter(user=user).count() == 4
    assert Item.objects.filter(music_type="track").count() == 3
    assert Item.objects.filter(music_type="artist").count() == 3


# --- Reading back (scrobblers check what the server has) --------------------------------------


def test_the_owner_reads_their_listens_back_as_listenbrainz_lists_them(user, token):
    assert submit(sample("import.json"), token).status_code == 200
    response = Client().get(
        f"/1/user/{user.username}/listens?count=2", HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert response.status_code == 200
    payload = response.json()["payload"]
    assert payload["count"] == 2
    assert payload["latest_listen_ts"] == 1700000900
    assert [listen["listened_at"] for listen in payload["listens"]] == [1700000900, 1700000600]
    assert payload["listens"][0]["track_metadata"] == {
        "artist_name": "I Mitomani Beat",
        "track_name": "Shake",
        "release_name": "Fuori Dal Tempo",
        "additional_info": {},
    }
    older = Client().get(
        f"/1/user/{user.username}/listens?max_ts=1700000600", HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert [listen["listened_at"] for listen in older.json()["payload"]["listens"]] == [
        1700000300,
        1700000000,
    ]


def test_nobody_else_reads_a_persons_listens(user, token):
    assert submit(sample("single.json"), token).status_code == 200
    other = api_token(UserFactory())
    for headers in ({}, {"HTTP_AUTHORIZATION": f"Token {other}"}):
        response = Client().get(f"/1/user/{user.username}/listens", **headers)
        assert response.status_code == 404
        assert response.json() == {"code": 404, "error": f"Cannot find user: {user.username}"}


def test_submissions_count_against_the_persons_api_rate_limit(user, token, monkeypatch):
    from django.core.cache import cache

    from entertainment.throttling import ResilientUserRateThrottle

    cache.clear()
    monkeypatch.setattr(ResilientUserRateThrottle, "rate", "2/min", raising=False)
    statuses = [submit(sample("single.json"), token).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = submit(sample("single.json"), token)
    assert refused.json()["code"] == 429
    assert int(refused["Retry-After"]) > 0
