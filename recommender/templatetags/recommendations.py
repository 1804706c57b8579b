"""The recommender's parts of the product pages, as template tags.

The product apps may not import the recommender; their templates `{% load recommendations %}`
and call these tags, so the recommender supplies its parts itself.
"""

from __future__ import annotations

from typing import Any

from django import template

from entertainment.catalogue.models import Item

from .. import shelves

register = template.Library()


@register.inclusion_tag("recommender/for_you.html", takes_context=True)
def for_you_rows(context: template.Context) -> dict[str, Any]:
    """The home page's "For you" rows, or popular ones with an invitation or a note."""
    request = context["request"]
    return {"for_you": shelves.for_you(request.user), "user": request.user}


@register.inclusion_tag("recommender/item_panels.html", takes_context=True)
def item_panels(context: template.Context, item: Item) -> dict[str, Any]:
    """The item page's "Up next", "Looks similar", "Fans also played" and sentiment summary."""
    request = context["request"]
    return {"panels": shelves.item_panels(item, request.user, request.session), "item": item}
