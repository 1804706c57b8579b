"""Item cards (the catalogue's list summary of an item) as the recommendation endpoints show them.

A card is ItemListSerializer's representation, rendered here from plain rows in two queries
(the serializer, from model instances, costs half a millisecond an item: ten items of a list
computed on a read cost more than the list did). The same few thousand items appear in
everyone's lists; so each card is rendered once, with site-relative URLs (made absolute per
request), and kept:

- in the cache, shared by every process, for CARD_TTL_S;
- in each web process's memory, under the catalogue's current *generation*: a token that every
  item save, delete or genre change replaces (receivers.py). The generation is read in the same
  cache round trip as the person's list, so a warm process answers with no further round trip,
  and a change anywhere reaches every process on its next request.

A change the signals do not see (a genre renamed, a bulk update) lasts at most CARD_TTL_S.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.urls import reverse
from rest_framework.request import Request

from entertainment import caching
from entertainment.catalogue.models import Item

CARD_TTL_S = 300
GENERATION_KEY = "card:generation"
URL_FIELDS = ("thumbnail_url", "page_url")
MEMO_MAX = 50_000

# item id → (generation, monotonic time rendered or fetched, card); one per process.
_memo: dict[int, tuple[Any, float, dict[str, Any]]] = {}


def card_key(item_id: int) -> str:
    return f"card:{item_id}"


def cards(request: Request, item_ids: Iterable[int], generation: Any) -> dict[int, dict[str, Any]]:
    """item id → card, for the items that exist (a deleted item has no card).

    `generation` is what the cache held at GENERATION_KEY, read by the caller.
    """
    ids = list(dict.fromkeys(item_ids))
    now = time.monotonic()
    found: dict[int, dict[str, Any]] = {}
    for i in ids:
        memo = _memo.get(i)
        if memo is not None and memo[0] == generation and now - memo[1] < CARD_TTL_S:
            found[i] = memo[2]
    missing = [i for i in ids if i not in found]
    if missing:
        cached = caching.get_many([card_key(i) for i in missing])
        fresh = {
            i: cached[card_key(i)] for i in missing if isinstance(cached.get(card_key(i)), dict)
        }
        unknown = [i for i in missing if i not in fresh]
        if unknown:
            rendered = render(unknown)
            caching.put_many({card_key(pk): card for pk, card in rendered.items()}, CARD_TTL_S)
            fresh.update(rendered)
        if len(_memo) + len(fresh) > MEMO_MAX:
            _memo.clear()
        _memo.update((i, (generation, now, card)) for i, card in fresh.items())
        found.update(fresh)
    # Every cached URL is site-relative ("/..."): the same origin prefixes them all.
    # What build_absolute_uri("/") starts with, at a tenth of its cost (a per-request hot path).
    origin = f"{request.scheme}://{request.get_host()}"
    return {i: _absolute(origin, found[i]) for i in ids if i in found}


def render(item_ids: list[int]) -> dict[int, dict[str, Any]]:
    """item id → card, as ItemListSerializer renders the item without a request (its URLs
    site-relative, so one card serves every host), for the items that exist."""
    genres: dict[int, list[dict[str, Any]]] = {}
    tagged = Item.genres.through.objects.filter(item_id__in=item_ids)
    # Genre's own ordering, as the serializer's related manager reads them.
    for item, pk, kind, name, slug in tagged.order_by("genre__kind", "genre__name").values_list(
        "item_id", "genre_id", "genre__kind", "genre__name", "genre__slug"
    ):
        genres.setdefault(item, []).append({"id": pk, "kind": kind, "name": name, "slug": slug})
    thumbnails = Item._meta.get_field("artwork_thumbnail").storage
    rows = Item.objects.filter(pk__in=item_ids).values_list(
        "pk", "kind", "title", "year", "music_type", "artwork_thumbnail"
    )
    return {
        pk: {
            "id": pk,
            "kind": kind,
            "title": title,
            "year": year,
            "music_type": music_type,
            "genres": genres.get(pk, []),
            "thumbnail_url": thumbnails.url(thumbnail) if thumbnail else None,
            "page_url": reverse("catalogue:item", kwargs={"pk": pk}),
        }
        for pk, kind, title, year, music_type, thumbnail in rows.order_by()
    }


def _absolute(origin: str, card: dict[str, Any]) -> dict[str, Any]:
    out = dict(card)
    for field in URL_FIELDS:
        url = out.get(field)
        if url is not None:
            out[field] = origin + url if url.startswith("/") else url
    return out


def forget(item_ids: Iterable[int]) -> None:
    """These items changed: drop their cards now and again after commit (a request may have
    rendered the old row meanwhile)."""
    ids = list(item_ids)
    _forget(ids)
    transaction.on_commit(lambda: _forget(ids))


def _forget(ids: list[int]) -> None:
    # Cards first, then the generation: a process that sees the new generation finds no old card.
    caching.delete(card_key(i) for i in ids)
    caching.put(GENERATION_KEY, uuid.uuid4().hex, None)
    for i in ids:
        _memo.pop(i, None)
