"""The recommender's parts of the product pages, as template tags.

The product apps may not import the recommender; their templates `{% load recommendations %}`
and call these tags, so the recommender supplies its parts itself.
"""

from __future__ import annotations

from typing import Any

from django import template
from rest_framework.exceptions import ValidationError

from entertainment.catalogue.models import Item

from .. import controls, shelves

register = template.Library()


@register.inclusion_tag("recommender/for_you.html", takes_context=True)
def for_you_rows(context: template.Context) -> dict[str, Any]:
    """The home page's "For you" rows, or popular ones with an invitation or a note."""
    request = context["request"]
    # The rows' filter form (recommender.controls): an invalid value filters nothing, and says so.
    given = {k: request.GET[k] for k in ("genre", "year_min", "year_max") if request.GET.get(k)}
    errors: dict[str, Any] = {}
    try:
        narrow = controls.parse(given)
    except ValidationError as invalid:
        narrow, errors = controls.NOTHING, dict(invalid.detail)  # type: ignore[arg-type]
    return {
        "for_you": shelves.for_you(request.user, narrow),
        "user": request.user,
        "next": request.get_full_path(),  # where a card's "Not for me" returns to
        "filters": given,
        "filter_errors": errors,
        "filtering": narrow.narrows,
        "genres": controls.genre_choices(),
    }


@register.inclusion_tag("recommender/item_panels.html", takes_context=True)
def item_panels(context: template.Context, item: Item) -> dict[str, Any]:
    """The item page's "Up next", "Looks similar", "Fans also played" and sentiment summary."""
    request = context["request"]
    return {
        "panels": shelves.item_panels(item, request.user, request.session),
        "item": item,
        "user": request.user,
        "next": request.get_full_path(),  # where a card's "Not for me" returns to
    }
