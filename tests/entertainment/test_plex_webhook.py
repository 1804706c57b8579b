"""The Plex webhook, driven by the bodies of Plex's webhook documentation
(tests/fixtures/plex/), posted as Plex posts them: multipart/form-data, JSON in `payload`."""

from __future__ import annotations

import copy
import json
import logging
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from entertainment.activity.models import Play, Rating
from entertainment.catalogue.models import ExternalId, Item, Kind
from entertainment.scrobbling.models import PlexWebhook
from tests.factories import ItemFactory

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "plex"


def sample(name: str, **changes: object) -> dict:
    body = json.loads((FIXTURES / name).read_text())
    body.update(changes)
    return body


def post(url: str, payload: dict, poster: bool = False):
    data: dict[str, object] = {"payload": json.dumps(payload)}
    if poster:  # Plex attaches a JPEG thumbnail to some events
        data["thumb"] = SimpleUploadedFile("thumb.jpg", b"\xff\xd8\xff\xe0 not read", "image/jpeg")
    return Client().post(url, data)


@pytest.fixture
def secret(user) -> str:
    return PlexWebhook.issue(user)


@pytest.fixture
def url(secret) -> str:
    return f"/hooks/plex/{secret}/"


def test_a_scrobbled_film_becomes_a_play_of_the_item_with_its_imdb_id(user, url):
    film = ItemFactory(kind=Kind.FILM, title="Shawshank Redemption, The", year=1994)
    ExternalId.objects.create(item=film, source="imdb", value="tt0111161")

    response = post(url, sample("movie.json"), poster=True)

    assert response.status_code == 200
    assert response.json()["recorded"] == "play"
    play = Play.objects.get(user=user)
    assert play.item == film
    assert play.completed
    assert int(play.started_at.timestamp()) == 1764400000
    assert play.seconds_played == 8520
    # The same delivery again is stored once.
    assert post(url, sample("movie.json")).status_code == 200
    assert Play.objects.filter(user=user).count() == 1


def test_a_film_is_found_by_title_and_year_without_known_ids(user, url):
    film = ItemFactory(kind=Kind.FILM, title="The Shawshank Redemption", year=1994)
    ItemFactory(kind=Kind.FILM, title="The Shawshank Redemption", year=2094)
    assert post(url, sample("movie.json")).status_code == 200
    assert Play.objects.get(user=user).item == film


def test_an_unknown_film_is_added_marked_plex_with_its_ids(user, url):
    assert post(url, sample("movie.json")).status_code == 200
    film = Play.objects.get(user=user).item
    assert (film.kind, film.title, film.year) == (Kind.FILM, "The Shawshank Redemption", 1994)
    ids = set(film.external_ids.values_list("source", "value"))
    assert ids == {
        ("plex", "plex://movie/5d7768ba96b655001fdc0408"),
        ("imdb", "tt0111161"),
        ("tmdb", "278"),
    }


def test_the_documented_track_scrobbled_adds_artist_album_and_track(user, url):
    response = post(url, sample("documented_track.json", event="media.scrobble"))
    assert response.status_code == 200
    track = Play.objects.get(user=user).item
    assert (track.music_type, track.title, track.position) == (
        "track",
        "Love The One You're With",
        1,
    )
    assert (track.parent.music_type, track.parent.title) == ("album", "Stephen Stills")
    assert (track.parent.parent.music_type, track.parent.parent.title) == (
        "artist",
        "Stephen Stills",
    )
    assert track.external_ids.filter(source="plex").exists()


def test_a_track_is_matched_by_normalised_artist_and_title(user, url):
    artist = ItemFactory(kind=Kind.MUSIC, music_type="artist", title="STEPHEN STILLS", year=None)
    album = ItemFactory(kind=Kind.MUSIC, music_type="album", title="Stills", parent=artist)
    track = ItemFactory(
        kind=Kind.MUSIC, music_type="track", title="Love the One You\u2019re With", parent=album
    )
    assert post(url, sample("documented_track.json", event="media.scrobble")).status_code == 200
    assert Play.objects.get(user=user).item == track


@pytest.mark.parametrize(("points", "stars"), [(10, "5.0"), (7, "3.5"), (1, "0.5"), (8.0, "4.0")])
def test_a_rating_becomes_half_stars(user, url, points, stars):
    film = ItemFactory(kind=Kind.FILM, title="The Shawshank Redemption", year=1994)
    response = post(url, sample("movie.json", event="media.rate", rating=points), poster=True)
    assert response.status_code == 200
    assert response.json()["recorded"] == "rating"
    assert Rating.objects.get(user=user, item=film).value == Decimal(stars)


def test_a_removed_rating_and_other_events_are_ignored_with_200(user, url):
    for body in (
        sample("movie.json", event="media.rate", rating=0),
        sample("documented_track.json"),  # media.play, as documented
        sample("movie.json", event="media.pause"),
        sample("movie.json", event="library.new"),
        # What a shared user of the server watched is not the account's own.
        sample("movie.json", user=False),
        {
            **sample("movie.json"),
            "Metadata": {**sample("movie.json")["Metadata"], "type": "episode"},
        },
    ):
        response = post(url, body)
        assert response.status_code == 200
        assert response.json()["recorded"] == ""
    assert not Play.objects.exists()
    assert not Rating.objects.exists()
    assert not Item.objects.exists()


def test_a_paused_history_stores_nothing(user, url):
    privacy = user.privacy
    privacy.history_paused = True
    privacy.save()
    assert post(url, sample("movie.json")).status_code == 200
    assert post(url, sample("movie.json", event="media.rate", rating=8)).status_code == 200
    assert not Play.objects.exists()
    assert not Rating.objects.exists()
    assert not Item.objects.exists()


def test_bad_bodies_are_400s(user, url):
    client = Client()
    assert client.post(url, {}).status_code == 400
    assert client.post(url, {"payload": "{not json"}).status_code == 400
    assert client.post(url, {"payload": json.dumps({"no": "event"})}).status_code == 400
    bad_rating = sample("movie.json", event="media.rate", rating="eleven")
    assert post(url, bad_rating).status_code == 400
    assert not Play.objects.exists()


def test_a_wrong_secret_is_a_404_and_the_path_is_not_logged(user, secret, caplog):
    wrong = secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")
    with caplog.at_level(logging.DEBUG):
        response = post(f"/hooks/plex/{wrong}/", sample("movie.json"))
        assert post("/hooks/plex/short/", sample("movie.json")).status_code == 404
    assert response.status_code == 404
    assert wrong not in caplog.text
    assert not Play.objects.exists()


def test_the_secret_is_stored_hashed(user, secret):
    stored = PlexWebhook.objects.get(user=user)
    assert secret not in stored.digest
    assert len(secret) >= 40


def test_the_account_page_makes_rotates_and_revokes_the_url(user, client):
    client.force_login(user)
    page = client.get("/accounts/")
    assert "Make a webhook URL" in page.content.decode()

    first = client.post("/accounts/plex-webhook/")
    assert first.status_code == 200
    assert first["Cache-Control"].startswith("max-age=0")
    first_url = first.context["webhook_url"]
    assert first_url.startswith("http://testserver/hooks/plex/")
    # Shown once: the account page never shows it again.
    page = client.get("/accounts/")
    assert first_url not in page.content.decode()
    assert "Make a new URL" in page.content.decode()

    second_url = client.post("/accounts/plex-webhook/").context["webhook_url"]
    assert second_url != first_url
    assert post(first_url, sample("movie.json")).status_code == 404
    assert post(second_url, sample("movie.json")).status_code == 200
    assert PlexWebhook.objects.get(user=user).last_used_at is not None

    assert client.post("/accounts/plex-webhook/revoke/").status_code == 302
    assert post(second_url, sample("movie.json")).status_code == 404
    assert not PlexWebhook.objects.filter(user=user).exists()


def test_making_a_url_needs_a_logged_in_post(user, client):
    assert client.post("/accounts/plex-webhook/").status_code == 302  # to the log-in page
    client.force_login(user)
    assert client.get("/accounts/plex-webhook/").status_code == 405
    assert not PlexWebhook.objects.exists()


def test_a_second_persons_webhook_records_for_them(user, other_user, url):
    other_url = f"/hooks/plex/{PlexWebhook.issue(other_user)}/"
    assert post(other_url, sample("movie.json", **{"event": "media.scrobble"})).status_code == 200
    assert post(url, copy.deepcopy(sample("movie.json"))).status_code == 200
    assert Play.objects.filter(user=other_user).count() == 1
    assert Play.objects.filter(user=user).count() == 1
    assert Item.objects.count() == 1
