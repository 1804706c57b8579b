"""Site-wide pages that belong to no single app."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.http import require_GET

from entertainment import caching, health
from entertainment.activity.models import Rating
from entertainment.catalogue.models import Item, Kind
from entertainment.catalogue.views import KIND_PLURALS, SLUG_OF_KIND
from entertainment.unavailable import response_for_current_exception
from recommender.models import ModelKind, ModelVersion

HOME_ROW_LENGTH = 6
HOME_SHELVES_KEY = "home:shelves"
HOME_SHELVES_TTL_S = 60
# Below this many ratings the home page invites a person to rate a few more.
RATINGS_TO_GET_STARTED = 5


def _shelf_ids() -> dict[str, dict[str, list[int]]]:
    """kind → {"popular": ids, "newest": ids}. Counting every item's ratings is the costliest
    query of the most visited page and the answer changes slowly, so it is kept for
    HOME_SHELVES_TTL_S; the items themselves are read fresh (an edit or a deletion shows at once).
    """
    shelves = caching.get(HOME_SHELVES_KEY)
    if isinstance(shelves, dict):
        return shelves
    shelves = {}
    for kind in Kind:
        of_kind = Item.objects.of_kind(kind)
        popular = (
            of_kind.annotate(n_ratings=Count("ratings"))
            .filter(n_ratings__gt=0)
            .order_by("-n_ratings", "title", "pk")
            .values_list("pk", flat=True)[:HOME_ROW_LENGTH]
        )
        newest = of_kind.order_by("-created_at", "-pk").values_list("pk", flat=True)
        shelves[kind.value] = {
            "popular": list(popular),
            "newest": list(newest[:HOME_ROW_LENGTH]),
        }
    caching.put(HOME_SHELVES_KEY, shelves, HOME_SHELVES_TTL_S)
    return shelves


def _home_rows() -> list[dict[str, Any]]:
    shelves = _shelf_ids()
    wanted = {pk for shelf in shelves.values() for ids in shelf.values() for pk in ids}
    items = Item.objects.in_bulk(wanted)
    return [
        {
            "kind": kind,
            "slug": SLUG_OF_KIND[kind],
            "label": KIND_PLURALS[kind],
            **{
                name: [items[pk] for pk in ids if pk in items]
                for name, ids in shelves.get(kind.value, {}).items()
            },
        }
        for kind in Kind
    ]


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {"rows": _home_rows()}
    if request.user.is_authenticated:
        rated = Rating.objects.filter(user=request.user).count()
        context["ratings_needed"] = max(0, RATINGS_TO_GET_STARTED - rated)
    return render(request, "home.html", context)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = health.check()
    if not report.serving:
        response = JsonResponse(report.as_json(), status=503)
        response["Retry-After"] = "5"
        return response
    # Which versions serve; a kind without one is not a fault (lists fall back to popular).
    active = dict(ModelVersion.objects.active().values_list("kind", "number"))
    report.add(
        "models",
        True,
        active={
            kind: f"{kind}-v{active[kind]}" if kind in active else None for kind in ModelKind.values
        },
    )
    return JsonResponse(report.as_json())


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """API clients get JSON for an unknown path, people get the site's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    # The database unreachable from a middleware (a view's is the middleware's to answer).
    if (unavailable := response_for_current_exception(request)) is not None:
        return unavailable
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error."}, status=500)
    # No request context: whatever failed may fail again while rendering it.
    return HttpResponseServerError(loader.get_template("500.html").render())
