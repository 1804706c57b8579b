"""The OpenAPI schema, made true for every operation at once (drf-spectacular).

Views document what is theirs (their bodies, 201 or 202, a 409 of their own). What every
operation of a kind can answer is added here, once, so that a generated client never meets a
status or a body the schema does not promise:

- 401 and 403 where a token is accepted (a wrong or expired token is a 401 even on a public
  operation; a person may lack the right, or a cookie session its CSRF token);
- 429 everywhere (every API view is rate limited);
- 400, 413 and 415 where a body is read (invalid JSON, too large, not a type the view parses);
- 400 where query parameters are read, 404 where the path names a record.

Every 400 body is either `{"detail": "..."}` (the body as a whole: unparseable JSON, say) or
messages by field name, nested for lists and objects (`{"items": {"3": ["..."]}}`).

What the views' own inspection gets wrong is corrected here too: an operation that anyone may
call says so whatever permission class opens it; a django-filter parameter may be sent empty
(no filter); free text in a request holds no NUL; a POST needs its body. Two serializers whose
rules drf-spectacular cannot see get a schema extension: the privacy settings refuse unknown
fields, and an erasure request's fields depend on its scope.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.generators import SchemaGenerator as SpectacularSchemaGenerator
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

DETAIL_ERROR_REF = {"$ref": "#/components/schemas/DetailError"}
FIELD_ERRORS_REF = {"$ref": "#/components/schemas/FieldErrors"}
# What a field's entry holds: its messages, or the errors of its parts (by index or name).
FIELD_ERRORS = {
    "type": "object",
    "description": "Messages per field name (`non_field_errors` for the request as a whole); "
    "for a list or an object, the errors of its parts by index or field name.",
    "additionalProperties": {
        "anyOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "object"},
            {"type": "array", "items": {"type": "object"}},
        ]
    },
}
DETAIL_ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
BAD_REQUEST = {"anyOf": [DETAIL_ERROR_REF, FIELD_ERRORS_REF]}

_DESCRIPTIONS = {
    "400": "Invalid input: a message about the whole request, or messages per field.",
    "401": "Not authenticated, or the token is wrong or expired.",
    "403": "Not allowed.",
    "404": "Not found (or not yours).",
    "413": "The body is larger than this operation takes.",
    "415": "The body is not of a media type this operation reads.",
    "429": "Too many requests: wait and retry (see `Retry-After`).",
}
_BODY_METHODS = frozenset({"post", "put", "patch"})
NO_NUL = "^[^\\x00]*$"
_factory = APIRequestFactory()


class ClosedPrivacySettings(OpenApiSerializerExtension):
    """The privacy settings refuse a field they do not know (a misspelt consent must not pass
    for a given one): their request schema says so."""

    target_class = "entertainment.accounts.privacy_serializers.PrivacySettingsSerializer"

    def map_serializer(self, auto_schema: Any, direction: Any) -> Any:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


class EraseRequestByScope(OpenApiSerializerExtension):
    """An erasure request's fields depend on its scope: the items for `items` (and only
    there), your username for `account`. One schema per scope says which request can
    succeed; the serializer's own would let `{"scope": "items"}` pass for a valid one."""

    target_class = "entertainment.accounts.privacy_serializers.EraseRequestSerializer"

    def map_serializer(self, auto_schema: Any, direction: Any) -> Any:
        from entertainment.accounts.privacy_forms import MAX_ITEM_ID, MAX_ITEMS_PER_ERASURE

        fields = self.target.fields if hasattr(self.target, "fields") else self.target().fields
        items = {
            "type": "array",
            "items": {"type": "integer", "minimum": 1, "maximum": MAX_ITEM_ID},
            "minItems": 1,
            "maxItems": MAX_ITEMS_PER_ERASURE,
            "description": str(fields["items"].help_text),
        }
        confirm = {
            "type": "string",
            "minLength": 1,
            "description": str(fields["confirm"].help_text),
        }
        no_items = {"not": {"required": ["items"]}}

        def scope(name: str, **properties: Any) -> dict[str, Any]:
            # A pattern, not a one-value enum: drf-spectacular's enum hook would merge the
            # three into one shared component (all scopes in each).
            only = {"type": "string", "pattern": f"^{name}$"}
            return {
                "type": "object",
                "properties": {"scope": only, **properties},
                "required": ["scope", *properties],
            }

        return {
            "oneOf": [
                scope("items", items=items),
                {**scope("history"), **no_items},
                {**scope("account", confirm=confirm), **no_items},
            ]
        }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _accepts_token(operation: dict[str, Any]) -> bool:
    return any(requirement for requirement in operation.get("security", []))


def _reads_input(operation: dict[str, Any]) -> bool:
    query = any(p.get("in") == "query" for p in operation.get("parameters", []))
    return query or "requestBody" in operation


def _codes_for(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    codes = ["429"]
    if _accepts_token(operation):
        codes += ["401", "403"]
    if _reads_input(operation):
        codes.append("400")
    if method in _BODY_METHODS and "requestBody" in operation:
        codes += ["413", "415"]
    if "{" in path:
        codes.append("404")
    return codes


def _with_detail(schema: dict[str, Any]) -> dict[str, Any]:
    """A view's own 400 schema, widened to the `{"detail": ...}` a body that cannot be parsed
    gets before the view runs."""
    if schema in (BAD_REQUEST, FIELD_ERRORS_REF) or _is_old_field_errors(schema):
        return copy.deepcopy(BAD_REQUEST)
    if schema == DETAIL_ERROR_REF:
        return schema
    return {"anyOf": [schema, DETAIL_ERROR_REF]}


def _is_old_field_errors(schema: dict[str, Any]) -> bool:
    # entertainment.api_errors.FIELD_ERRORS_SCHEMA: flat messages, which nested errors break.
    return schema.get("type") == "object" and schema.get("additionalProperties") == {
        "type": "array",
        "items": {"type": "string"},
    }


def document_common_responses(result: dict[str, Any]) -> dict[str, Any]:
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["FieldErrors"] = FIELD_ERRORS
    components.setdefault("DetailError", DETAIL_ERROR)
    for path, path_item in result.get("paths", {}).items():
        for method, operation in path_item.items():
            if method == "post" and "requestBody" in operation:
                # Every POST of this API that reads a body needs one (a PUT or PATCH of a play
                # may change nothing); drf-spectacular leaves this out for a raw schema.
                operation["requestBody"]["required"] = True
            responses = operation.setdefault("responses", {})
            for code in _codes_for(path, method, operation):
                if code not in responses:
                    schema = BAD_REQUEST if code == "400" else DETAIL_ERROR_REF
                    responses[code] = {
                        "description": _DESCRIPTIONS[code],
                        "content": _json(copy.deepcopy(schema)),
                    }
            bad = responses.get("400", {}).get("content", {}).get("application/json")
            if bad is not None and "schema" in bad:
                bad["schema"] = _with_detail(bad["schema"])
    return result


def lets_anonymous_in(view: APIView, method: str) -> bool:
    """Whether the view's permissions let a request without credentials through.

    drf-spectacular marks an operation open (`security: [{}]`) only for DRF's AllowAny and
    IsAuthenticatedOrReadOnly; asking the permissions themselves covers every other class.
    """
    request = Request(_factory.generic(method.upper(), "/"))
    request.user = AnonymousUser()
    try:
        return all(p.has_permission(request, view) for p in view.get_permissions())
    except Exception:  # a permission that needs more of a real request: not known to be open
        return False


def filter_names(view: APIView) -> set[str]:
    """The query parameters django-filter reads for this view (it takes an empty value of any
    of them for no filter at all)."""
    # A view that reads filters of its own the same way names them (recommender's lists).
    own = set(getattr(view, "empty_means_no_filter", ()))
    if not isinstance(view, GenericAPIView) or DjangoFilterBackend not in view.filter_backends:
        return own
    try:
        filterset = DjangoFilterBackend().get_filterset_class(view, view.get_queryset())
    except Exception:  # a view that needs a real request for its rows: no filters known
        return set()
    return own | (set(filterset.base_filters) if filterset is not None else set())


def forbid_nul(schema: Any) -> None:
    """Text the API reads never holds NUL (Django and DRF refuse it with a 400, PostgreSQL
    could not store it): every free string in a request says so."""
    if isinstance(schema, list):
        for value in schema:
            forbid_nul(value)
    elif isinstance(schema, dict):
        if schema.get("type") == "string" and not {"pattern", "enum", "format"} & set(schema):
            schema["pattern"] = NO_NUL
        for value in schema.values():
            forbid_nul(value)


def _request_schemas(result: dict[str, Any]) -> Iterator[Any]:
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            # Not `ordering`: DRF's OrderingFilter ignores what names no field, NUL included.
            parameters = operation.get("parameters", [])
            yield [p.get("schema") for p in parameters if p.get("name") != "ordering"]
            yield operation.get("requestBody")
    # COMPONENT_SPLIT_REQUEST: what requests send has components of its own.
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            yield component


class SchemaGenerator(SpectacularSchemaGenerator):
    """drf-spectacular's generator, then the responses every operation can give (above), and
    anonymous access marked wherever the view's permissions allow it.

    Named in SPECTACULAR_SETTINGS, so this module, and the serializer extensions above, are
    loaded before any view is inspected.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._views: dict[tuple[str, str], APIView] = {}

    def coerce_path(self, path: str, method: str, view: APIView) -> str:
        coerced: str = super().coerce_path(path, method, view)
        self._views[(coerced, method.lower())] = view
        return coerced

    def get_schema(self, request: Request | None = None, public: bool = False) -> dict[str, Any]:
        result = super().get_schema(request, public)
        for path, path_item in result.get("paths", {}).items():
            for method, operation in path_item.items():
                view = self._views.get((path, method))
                if view is None:
                    continue
                security = operation.get("security")
                if security and {} not in security and lets_anonymous_in(view, method):
                    security.append({})
                filters = filter_names(view)
                for parameter in operation.get("parameters", []):
                    if parameter.get("in") == "query" and parameter["name"] in filters:
                        parameter["allowEmptyValue"] = True
        for schema in _request_schemas(result):
            forbid_nul(schema)
        return document_common_responses(result)
