"""ListenBrainz's playing_now: nothing stored, but the person's "up next" follows it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from entertainment.activity.models import Play
from entertainment.catalogue.models import ExternalId, Item, Kind, MusicType
from recommender import realtime
from tests.conftest import api_token
from tests.factories import ItemFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_lists")]

MBID = "0b3f5d3c-4a5b-4cf8-8f0a-2c2d3c1e9a11"


def _playing_now(user, recording_mbid: str) -> int:
    body = {
        "listen_type": "playing_now",
        "payload": [
            {
                "track_metadata": {
                    "artist_name": "Anyone",
                    "track_name": "Anything",
                    "additional_info": {"recording_mbid": recording_mbid},
                }
            }
        ],
    }
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return client.post("/1/submit-listens", body, format="json").status_code


def test_up_next_follows_what_is_playing_now_and_nothing_is_stored(user, serving_model):
    tracks = [
        ItemFactory(kind=Kind.MUSIC, music_type=MusicType.TRACK, title=f"Track {n}")
        for n in range(5)
    ]
    ExternalId.objects.create(item=tracks[0], source="musicbrainz", value=MBID)
    serving_model(tracks, follows={tracks[0].pk: tracks[3].pk})
    assert realtime.up_next(user.pk) == []  # no history, nothing playing

    assert _playing_now(user, MBID) == 200
    following = realtime.up_next(user.pk)
    assert following[0].item_id == tracks[3].pk
    assert tracks[0].pk not in [e.item_id for e in following]
    assert not Play.objects.filter(user=user).exists()


def test_a_track_the_catalogue_lacks_adds_nothing_while_playing_now(user, serving_model):
    tracks = [ItemFactory(kind=Kind.MUSIC, music_type=MusicType.TRACK) for _ in range(3)]
    serving_model(tracks)
    count = len(tracks)
    assert _playing_now(user, "9b3f5d3c-4a5b-4cf8-8f0a-2c2d3c1e9a12") == 200
    assert Item.objects.count() == count
    assert realtime.up_next(user.pk) == []
