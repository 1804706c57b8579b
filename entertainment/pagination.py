"""The one pagination class of the API: page numbers, a client-chosen size, capped.

A page or page size that is not a positive whole number is a 400 with a field message (DRF
would answer 404 for the page and silently ignore the size); a size above the cap, however
large, is served at the cap; a page past the end is a 404.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.views import APIView

# More pages than any listing has; longer numbers are refused before int() sees them.
MAX_PAGE_DIGITS = 9


def _is_positive_whole(raw: str) -> bool:
    return raw.isascii() and raw.isdigit() and raw.strip("0") != ""


class CappedPageNumberPagination(PageNumberPagination):
    page_size = settings.API_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE

    def paginate_queryset(
        self, queryset: QuerySet[Any] | Sequence[Any], request: Request, view: APIView | None = None
    ) -> list[Any] | None:
        page = request.query_params.get(self.page_query_param)
        if (
            page is not None
            and page not in self.last_page_strings
            and (not _is_positive_whole(page) or len(page.lstrip("0")) > MAX_PAGE_DIGITS)
        ):
            raise ValidationError(
                {self.page_query_param: ["A page number is a whole number from 1."]}
            )
        size = request.query_params.get("page_size")
        if size is not None and not _is_positive_whole(size):
            raise ValidationError(
                {"page_size": [f"A page size is a whole number from 1 to {self.max_page_size}."]}
            )
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        """The parameters as they are checked above: whole numbers from 1 (a page of at most
        MAX_PAGE_DIGITS digits; a size above the cap is served at the cap)."""
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.page_query_param: {"minimum": 1, "maximum": 10**MAX_PAGE_DIGITS - 1},
            "page_size": {"minimum": 1},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters

    def get_page_size(self, request: Request) -> int:
        size = request.query_params.get("page_size")
        if size is None:
            return self.page_size
        # Validated above; a huge number is served at the cap without converting it whole.
        if len(size.lstrip("0")) > len(str(self.max_page_size)):
            return self.max_page_size
        return min(int(size), self.max_page_size)


def document_pagination_errors(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular hook: every paginated listing documents its 400 (bad page) and 404."""
    # Imported here: api_errors imports DRF views, which settings loading must not pull in.
    from entertainment.api_errors import FIELD_ERRORS_SCHEMA

    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            names = {
                p.get("name") for p in operation.get("parameters", []) if p.get("in") == "query"
            }
            if "page" not in names:
                continue
            responses = operation.setdefault("responses", {})
            responses.setdefault(
                "400",
                {
                    "description": "Invalid input: messages per field.",
                    "content": {"application/json": {"schema": FIELD_ERRORS_SCHEMA}},
                },
            )
            responses.setdefault(
                "404",
                {
                    "description": "A page past the end.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/DetailError"}}
                    },
                },
            )
    return result
