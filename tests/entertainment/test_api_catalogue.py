"""Items and genres through the API: filters, search, ordering, detail, staff writes."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image
from rest_framework.test import APIClient

from entertainment.catalogue.models import Credit, ExternalId, Item, Kind
from tests.factories import CreatorFactory, GenreFactory, ItemFactory


@pytest.fixture(autouse=True)
def _own_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"api-tests-{uuid.uuid4()}",
        }
    }


@pytest.fixture
def staff_api(staff):
    client = APIClient()
    client.force_authenticate(staff)
    return client


@pytest.fixture
def catalogue(db):
    drama = GenreFactory(kind=Kind.FILM, name="Drama")
    scifi = GenreFactory(kind=Kind.FILM, name="Science Fiction")
    rpg = GenreFactory(kind=Kind.GAME, name="RPG")
    stalker = ItemFactory(title="Stalker", year=1979, genres=[drama, scifi])
    tarkovsky = CreatorFactory(name="Andrei Tarkovsky")
    Credit.objects.create(item=stalker, creator=tarkovsky, role=Credit.Role.DIRECTOR)
    Credit.objects.create(
        item=stalker, creator=CreatorFactory(name="Alisa Freyndlikh"), role="cast", order=1
    )
    Credit.objects.create(
        item=stalker, creator=CreatorFactory(name="Aleksandr Kaydanovskiy"), role="cast", order=0
    )
    ExternalId.objects.create(item=stalker, source="movielens", value="1232")
    solaris = ItemFactory(title="Solaris", year=1972, genres=[scifi])
    Credit.objects.create(item=solaris, creator=tarkovsky, role=Credit.Role.DIRECTOR)
    heat = ItemFactory(title="Heat", year=1995, genres=[drama])
    planescape = ItemFactory(kind=Kind.GAME, title="Planescape: Torment", year=1999, genres=[rpg])
    return {"stalker": stalker, "solaris": solaris, "heat": heat, "planescape": planescape}


def titles(response):
    assert response.status_code == 200, response.json()
    return [row["title"] for row in response.json()["results"]]


def test_filters(anon_api, catalogue):
    assert titles(anon_api.get("/api/items/?kind=game")) == ["Planescape: Torment"]
    assert titles(anon_api.get("/api/items/?genre=drama")) == ["Heat", "Stalker"]
    assert titles(anon_api.get("/api/items/?year_min=1975&year_max=1996")) == ["Heat", "Stalker"]
    assert titles(anon_api.get("/api/items/?kind=film&genre=science-fiction&year_max=1975")) == [
        "Solaris"
    ]


def test_search_by_title_and_creator(anon_api, catalogue):
    assert titles(anon_api.get("/api/items/?search=solar")) == ["Solaris"]
    assert titles(anon_api.get("/api/items/?search=tarkovsky")) == ["Solaris", "Stalker"]


def test_ordering(anon_api, catalogue):
    assert titles(anon_api.get("/api/items/?ordering=-year&kind=film")) == [
        "Heat",
        "Stalker",
        "Solaris",
    ]


def test_list_rows_carry_genres_and_urls(anon_api, catalogue):
    row = anon_api.get("/api/items/?search=stalker").json()["results"][0]
    assert {g["slug"] for g in row["genres"]} == {"drama", "science-fiction"}
    assert row["thumbnail_url"] is None
    assert row["page_url"].endswith(f"/catalogue/item/{catalogue['stalker'].pk}/")


def test_detail_has_credits_by_role_and_external_ids(anon_api, catalogue):
    body = anon_api.get(f"/api/items/{catalogue['stalker'].pk}/").json()
    assert [c["name"] for c in body["credits"]["director"]] == ["Andrei Tarkovsky"]
    assert [c["name"] for c in body["credits"]["cast"]] == [
        "Aleksandr Kaydanovskiy",
        "Alisa Freyndlikh",
    ]
    assert body["external_ids"] == [{"source": "movielens", "value": "1232"}]
    assert body["year"] == 1979 and body["artwork_url"] is None


def test_list_queries_do_not_grow_with_the_page(anon_api, catalogue, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        anon_api.get("/api/items/")
    ItemFactory.create_batch(10, genres=[GenreFactory(kind=Kind.FILM, name="Drama")])
    with django_assert_max_num_queries(4):
        anon_api.get("/api/items/")


@pytest.mark.parametrize(
    "query",
    [
        "kind=opera",
        "year_min=abc",
        "year_min=" + "9" * 40,
        "year_max=-5",
        "page=abc",
        "page_size=-1",
    ],
)
def test_bad_filters_are_a_400(anon_api, catalogue, query):
    response = anon_api.get(f"/api/items/?{query}")
    assert response.status_code == 400
    assert isinstance(response.json(), dict)


def test_genres_filter_by_kind(anon_api, catalogue):
    body = anon_api.get("/api/genres/?kind=game").json()
    assert [g["name"] for g in body["results"]] == ["RPG"]


def test_unknown_item_is_a_json_404(anon_api, db):
    response = anon_api.get("/api/items/424242/")
    assert response.status_code == 404 and "detail" in response.json()


def test_staff_create_an_item_with_genres_credits_and_external_ids(staff_api, catalogue):
    drama = catalogue["heat"].genres.get()
    payload = {
        "kind": "film",
        "title": "Mirror",
        "year": 1975,
        "runtime_minutes": 107,
        "genres": [drama.pk],
        "credits": {"director": ["Andrei Tarkovsky"], "cast": ["Margarita Terekhova"]},
        "external_ids": [{"source": "movielens", "value": "1277"}],
    }
    response = staff_api.post("/api/items/", payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["title"] == "Mirror" and body["runtime_minutes"] == 107
    assert [c["name"] for c in body["credits"]["director"]] == ["Andrei Tarkovsky"]
    assert body["external_ids"] == [{"source": "movielens", "value": "1277"}]
    mirror = Item.objects.get(title="Mirror")
    assert list(mirror.genres.all()) == [drama]


def test_staff_edit_replaces_only_the_named_roles(staff_api, catalogue):
    stalker = catalogue["stalker"]
    response = staff_api.patch(
        f"/api/items/{stalker.pk}/", {"credits": {"cast": ["Anatoly Solonitsyn"]}}, format="json"
    )
    assert response.status_code == 200
    assert [c.name for c in stalker.credited("cast")] == ["Anatoly Solonitsyn"]
    assert [c.name for c in stalker.credited("director")] == ["Andrei Tarkovsky"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "film", "title": ""}, "title"),
        ({"kind": "opera", "title": "X"}, "kind"),
        ({"kind": "film", "title": "X", "year": 10**9}, "year"),
        ({"kind": "film", "title": "X", "music_type": "album"}, "music_type"),
        ({"kind": "film", "title": "X", "genres": [999999]}, "genres"),
        ({"kind": "film", "title": "X", "credits": {"director": "Not a list"}}, "credits"),
        (
            {
                "kind": "film",
                "title": "X",
                "external_ids": [{"source": "movielens", "value": "1232"}],
            },
            "external_ids",
        ),
    ],
)
def test_invalid_item_writes_are_a_400(staff_api, catalogue, payload, field):
    response = staff_api.post("/api/items/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Item.objects.count() == 4


def test_genres_of_another_kind_are_refused(staff_api, catalogue):
    rpg = catalogue["planescape"].genres.get()
    response = staff_api.post(
        "/api/items/", {"kind": "film", "title": "X", "genres": [rpg.pk]}, format="json"
    )
    assert response.status_code == 400 and "genres" in response.json()


def _png(width=64, height=48):
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, "PNG")
    out.seek(0)
    out.name = "poster.png"
    return out


def test_staff_upload_artwork(staff_api, catalogue):
    item = catalogue["heat"]
    response = staff_api.put(
        f"/api/items/{item.pk}/artwork/", {"artwork": _png()}, format="multipart"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["artwork_url"].startswith("http://testserver/media/artwork/")
    item.refresh_from_db()
    assert item.artwork


def test_artwork_that_is_not_an_image_is_refused(staff_api, catalogue):
    fake = io.BytesIO(b"<?php echo 'hi'; ?>")
    fake.name = "poster.png"
    item = catalogue["heat"]
    response = staff_api.put(
        f"/api/items/{item.pk}/artwork/", {"artwork": fake}, format="multipart"
    )
    assert response.status_code == 400 and "artwork" in response.json()
    item.refresh_from_db()
    assert not item.artwork


def test_only_staff_upload_artwork(api, catalogue):
    item = catalogue["heat"]
    response = api.put(f"/api/items/{item.pk}/artwork/", {"artwork": _png()}, format="multipart")
    assert response.status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        "search=%00",
        "search=" + "x" * 5000,
        "genre=%00",
        "ordering=%00",
        "kind=%00",
        "year_min=1e400",
        "year_min=NaN",
        "page=%00",
        "page_size=%00",
    ],
)
def test_nasty_query_strings_are_never_a_500(anon_api, catalogue, query):
    response = anon_api.get(f"/api/items/?{query}")
    assert response.status_code in (200, 400), response.content
    assert isinstance(response.json(), dict)


def test_json_by_default_and_a_browsable_page_for_browsers(anon_api, catalogue):
    response = anon_api.get("/api/items/?search=stalker")
    assert response["Content-Type"] == "application/json"
    assert response.json()["results"][0]["title"] == "Stalker"
    page = anon_api.get("/api/items/?search=stalker", HTTP_ACCEPT="text/html")
    assert page["Content-Type"].startswith("text/html")
    assert b"Stalker" in page.content
