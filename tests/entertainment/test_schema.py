"""The OpenAPI schema is valid and complete, and Swagger UI loads from our own static files."""

from __future__ import annotations

import re
import uuid

import pytest
import schemathesis
import yaml
from django.core.management import call_command
from django.test import Client
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import api_token
from tests.factories import ItemFactory, RatingFactory, ReviewFactory, UserFactory

BULK = "/api/events/bulk/"


@pytest.fixture(autouse=True)
def _own_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"api-tests-{uuid.uuid4()}",
        }
    }


@pytest.fixture(scope="module")
def schema(django_db_blocker, tmp_path_factory) -> dict:
    """Generated once, by the same command an operator runs, failing on any warning."""
    path = tmp_path_factory.mktemp("schema") / "openapi.yaml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")


@pytest.mark.parametrize(
    "path",
    [
        "/api/items/",
        "/api/items/{id}/",
        "/api/items/{id}/artwork/",
        "/api/genres/",
        "/api/ratings/",
        "/api/ratings/{id}/",
        "/api/plays/",
        "/api/plays/{id}/",
        "/api/reviews/",
        "/api/reviews/{id}/",
        BULK,
        "/api/auth/token/",
        "/api/me/token/",
    ],
)
def test_every_endpoint_is_described(schema, path):
    assert path in schema["paths"]


def test_bulk_endpoint_documents_its_formats_and_answers(schema):
    post = schema["paths"][BULK]["post"]
    assert set(post["requestBody"]["content"]) == {
        "application/json",
        "application/jsonl",
        "application/x-ndjson",
    }
    array = post["requestBody"]["content"]["application/json"]["schema"]
    assert array["type"] == "array"
    assert set(post["responses"]) >= {"200", "400", "401", "413", "429"}
    # The events' own errors, or one about the body as a whole (JSON that does not parse).
    rejected = post["responses"]["400"]["content"]["application/json"]["schema"]["anyOf"]
    assert rejected[0]["$ref"].endswith("/IngestRejected")
    assert rejected[1]["$ref"].endswith("/DetailError")
    one_of = schema["components"]["schemas"][array["items"]["$ref"].rsplit("/", 1)[1]]
    assert one_of["discriminator"]["propertyName"] == "type"
    assert set(one_of["discriminator"]["mapping"]) == {
        "rating",
        "play",
        "review",
        "impression",
        "click",
    }
    assert len(one_of["oneOf"]) == 5


def test_paused_history_answer_is_documented(schema):
    responses = schema["paths"]["/api/ratings/"]["post"]["responses"]
    assert set(responses) >= {"200", "201", "202", "400", "401"}
    assert responses["202"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/NotRecorded"
    )


def test_item_writes_document_staff_errors(schema):
    assert set(schema["paths"]["/api/items/"]["post"]["responses"]) >= {"201", "400", "401", "403"}


def test_schema_endpoint_serves_it(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert BULK in response.json()["paths"]


def test_swagger_ui_assets_are_served_locally(settings, db):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = True
    client = Client()  # a new client builds its middleware, whitenoise included, afresh

    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    # Every script is a file (the site's CSP forbids inline scripts).
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all("src=" in attributes for attributes in scripts)

    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assets = [url for url in urls if not url.startswith("/api/docs/")]
    assert len(assets) >= 3
    for url in assets:
        assert url.startswith("/static/drf_spectacular_sidecar/"), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"".join(response.streaming_content), url

    init_script = next(url for url in urls if url.startswith("/api/docs/"))
    script = client.get(init_script.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


# --- Real answers match the schema (each a mismatch the API fuzzer found) -------------------


def _answer_conforms(
    wsgi_app, method: str, path: str, user=None, expected: int | None = None, **case
) -> None:
    """Sends one request through the app and checks its status and body against the schema."""
    api = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    operation = api[path][method]
    headers = {}
    if user is not None:
        headers["Authorization"] = f"Token {api_token(user)}"
    response = operation.Case(headers=headers, **case).call()
    assert response.status_code == expected
    operation.Case(**case).validate_response(
        response, checks=[status_code_conformance, response_schema_conformance]
    )


@pytest.mark.django_db
def test_a_pending_export_without_its_download_url_matches(wsgi_app):
    _answer_conforms(wsgi_app, "POST", "/api/me/exports/", UserFactory(), 202)


@pytest.mark.django_db
def test_an_erasure_whose_models_are_clean_matches(wsgi_app):
    user = UserFactory()
    RatingFactory(user=user)
    _answer_conforms(
        wsgi_app,
        "POST",
        "/api/me/erase/",
        user,
        200,
        body={"scope": "history"},
        media_type="application/json",
    )


@pytest.mark.django_db
def test_a_review_not_yet_read_by_the_sentiment_model_matches(wsgi_app):
    user = UserFactory()
    ReviewFactory(user=user, sentiment="")
    _answer_conforms(wsgi_app, "GET", "/api/reviews/", user, 200)


@pytest.mark.django_db
def test_a_bulk_body_that_is_not_a_batch_matches(wsgi_app):
    _answer_conforms(
        wsgi_app,
        "POST",
        BULK,
        UserFactory(),
        400,
        body={"type": "rating"},
        media_type="application/json",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "case", "expected"),
    [
        ("GET", "/api/genres/", {"query": {"page": "9"}}, 404),
        ("GET", "/api/genres/", {"query": {"page": "x"}}, 400),
        ("GET", "/api/recommendations/", {}, 401),
        ("GET", "/api/items/{id}/similar/", {"path_parameters": {"id": 999999}}, 404),
        (
            "POST",
            "/api/sessions/next/",
            {"body": {"items": [999999]}, "media_type": "application/json"},
            400,
        ),
    ],
)
def test_refusals_are_documented(wsgi_app, method, path, case, expected):
    _answer_conforms(wsgi_app, method, path, None, expected, **case)


# --- What every operation can answer is documented (entertainment/schema.py) ----------------


def _operations(schema):
    for path, path_item in schema["paths"].items():
        for method, operation in path_item.items():
            yield path, method, operation


def test_every_operation_documents_the_answers_any_request_can_get(schema):
    for path, method, operation in _operations(schema):
        codes = set(operation["responses"])
        where = f"{method.upper()} {path}"
        assert "429" in codes, where
        if any(operation.get("security", [])):
            assert {"401", "403"} <= codes, where
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= codes, where
        if "{" in path:
            assert "404" in codes, where
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            assert "400" in codes, where


def test_every_bad_request_answer_allows_a_detail_or_field_messages(schema):
    for path, method, operation in _operations(schema):
        bad = operation["responses"].get("400")
        if bad is not None:
            refs = [
                s.get("$ref", "") for s in bad["content"]["application/json"]["schema"]["anyOf"]
            ]
            assert any(r.endswith("/DetailError") for r in refs), f"{method} {path}"


def test_reads_open_to_everyone_are_marked_open(schema):
    # The catalogue's own permission class lets anyone read and only staff write.
    assert {} in schema["paths"]["/api/items/"]["get"]["security"]
    assert {} not in schema["paths"]["/api/items/"]["post"]["security"]
    assert {} not in schema["paths"]["/api/ratings/"]["get"]["security"]


def test_paging_parameters_say_what_is_refused(schema):
    parameters = {
        p["name"]: p["schema"] for p in schema["paths"]["/api/genres/"]["get"]["parameters"]
    }
    assert parameters["page"]["minimum"] == 1
    assert parameters["page_size"]["minimum"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "case"),
    [
        # Schema-valid before: refused by the pagination (the schema now says from 1).
        ("GET", "/api/genres/", {"query": {"page_size": "0"}}),
        # Accepted before: an empty `by` was read as absent.
        ("GET", "/api/items/{id}/similar/", {"query": {"by": ""}}),
        # A body that is not JSON: {"detail": ...}, which the field-messages schema refused.
        ("POST", "/api/auth/token/", {"body": b"\x00", "media_type": "application/json"}),
        # Errors by index inside a field: {"items": {"0": [...]}}.
        (
            "POST",
            "/api/sessions/next/",
            {"body": {"items": ["x"]}, "media_type": "application/json"},
        ),
    ],
)
def test_refusals_match_the_schema(wsgi_app, method, path, case):
    if "{id}" in path:
        case = {**case, "path_parameters": {"id": ItemFactory().pk}}
    _answer_conforms(wsgi_app, method, path, None, 400, **case)


@pytest.mark.django_db
@pytest.mark.parametrize("value", [1, 0, "true", "yes", None])
def test_a_consent_is_given_by_true_and_nothing_else(api, user, value):
    response = api.patch("/api/me/privacy/", {"train_on_reviews": value}, format="json")
    assert response.status_code == 400
    assert "train_on_reviews" in response.json()
    user.privacy.refresh_from_db()
    assert user.privacy.train_on_reviews is False
