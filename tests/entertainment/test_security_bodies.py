"""Request bodies: each endpoint reads what it needs, no more; multipart only where files go."""

from __future__ import annotations

import io
import json
import os

import pytest
from PIL import Image

from entertainment.activity.models import Play, Rating
from tests.factories import ItemFactory

# `[{},{},...]`: the shape that costs the most memory per byte once parsed.
EMPTIES_100K = "[" + ",".join(["{}"] * 33_000) + "]"


def _assert_413(response):
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail"} and "larger than" in body["detail"]


@pytest.mark.parametrize("url", ["/api/auth/token/", "/api/sessions/next/"])
def test_anonymous_endpoints_refuse_a_large_body(anon_api, db, url):
    _assert_413(anon_api.post(url, EMPTIES_100K, content_type="application/json"))


def test_a_login_sized_body_still_gets_a_token(anon_api, user):
    body = {"username": user.username, "password": "correct horse battery staple"}
    assert anon_api.post("/api/auth/token/", body, format="json").status_code == 200


def test_a_longest_session_is_accepted(anon_api, db):
    # 200 ids (the most the schema allows) of the largest size: a valid body is never a 413.
    body = json.dumps({"items": [2**31 - 1] * 200, "n": 10})
    response = anon_api.post("/api/sessions/next/", body, content_type="application/json")
    assert response.status_code == 400  # unknown items, read and answered
    assert "items" in response.json()


def test_an_authenticated_endpoint_refuses_more_than_the_default(api, user, settings):
    item = ItemFactory()
    padding = "x" * (settings.REQUEST_BODY_MAX_BYTES + 1)
    body = json.dumps({"item": item.pk, "value": "4.0", "padding": padding})
    _assert_413(api.post("/api/ratings/", body, content_type="application/json"))
    assert not Rating.objects.exists()


def test_bulk_ingestion_takes_larger_bodies(api, user, settings):
    item = ItemFactory()
    events = [
        {
            "type": "play",
            "client_event_id": f"p{i}",
            "item": item.pk,
            "started_at": "2026-11-01T20:00:00Z",
        }
        for i in range(2_000)
    ]
    body = json.dumps(events)
    assert len(body) > settings.REQUEST_BODY_MAX_BYTES
    response = api.post("/api/events/bulk/", body, content_type="application/json")
    assert response.status_code == 200, response.content
    assert Play.objects.count() == 2_000


@pytest.mark.parametrize("fmt", ["multipart", "form"])
def test_multipart_and_forms_are_refused_where_no_file_is_taken(api, user, fmt):
    item = ItemFactory()
    data = {"item": item.pk, "value": "4.0"}
    if fmt == "multipart":
        response = api.post("/api/ratings/", data, format="multipart")
    else:
        response = api.post(
            "/api/ratings/", f"item={item.pk}&value=4.0",
            content_type="application/x-www-form-urlencoded",
        )  # fmt: skip
    assert response.status_code == 415
    assert "detail" in response.json()
    assert not Rating.objects.exists()


def test_artwork_larger_than_the_default_body_is_uploaded(staff, settings):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(staff)
    item = ItemFactory()
    noise = Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3))
    out = io.BytesIO()
    noise.save(out, "PNG")
    out.seek(0)
    out.name = "noise.png"
    assert len(out.getvalue()) > settings.REQUEST_BODY_MAX_BYTES
    response = client.put(f"/api/items/{item.pk}/artwork/", {"artwork": out}, format="multipart")
    assert response.status_code == 200, response.content


def test_a_page_refuses_a_large_form(client, db):
    body = "username=a&password=" + "x" * 100_000
    response = client.post(
        "/accounts/login/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
