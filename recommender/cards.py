"""Item cards (the catalogue's list summary of an item) as the recommendation endpoints show them.

Rendering a card with DRF's serializer costs about a millisecond, ten times what the rest of a
recommendations request costs, and the same few thousand items appear in everyone's lists; so
each card is rendered once and kept in the cache with site-relative URLs, made absolute per
request. An item's save, delete or genre change drops its card (receivers.py); the short TTL
bounds what a change the signals do not see (a genre renamed, a bulk update) can leave stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.request import Request

from entertainment.catalogue.models import Item
from entertainment.catalogue.serializers import ItemListSerializer

from . import caching

CARD_TTL_S = 300
URL_FIELDS = ("thumbnail_url", "page_url")


def card_key(item_id: int) -> str:
    return f"card:{item_id}"


def cards(request: Request, item_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """item id → card, for the items that exist (a deleted item has no card)."""
    ids = list(dict.fromkeys(item_ids))
    cached = caching.get_many([card_key(i) for i in ids])
    found = {i: cached[card_key(i)] for i in ids if isinstance(cached.get(card_key(i)), dict)}
    missing = [i for i in ids if i not in found]
    if missing:
        items = Item.objects.prefetch_related("genres").in_bulk(missing)
        # No request in the context: URLs stay relative, so one cached card serves every host.
        fresh = {pk: dict(ItemListSerializer(item).data) for pk, item in items.items()}
        caching.put_many({card_key(pk): card for pk, card in fresh.items()}, CARD_TTL_S)
        found.update(fresh)
    # Every cached URL is site-relative ("/..."): the same origin prefixes them all.
    origin = request.build_absolute_uri("/")[:-1]
    return {i: _absolute(origin, found[i]) for i in ids if i in found}


def _absolute(origin: str, card: dict[str, Any]) -> dict[str, Any]:
    out = dict(card)
    for field in URL_FIELDS:
        url = out.get(field)
        if url is not None:
            out[field] = origin + url if url.startswith("/") else url
    return out


def forget(item_ids: Iterable[int]) -> None:
    caching.delete(card_key(i) for i in item_ids)
