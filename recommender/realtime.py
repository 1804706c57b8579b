"""Real-time "up next": what to play after the person's latest plays, from the loaded serving
model in the web process (recommender.serving; no TensorFlow here).

Cached under the person's stamp like their lists (lists.py): any event makes it stale and the
next read computes it again.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from entertainment import caching
from entertainment.activity.models import Play

from . import controls, lists, personal, reasons, serving
from .entries import Entry, plain

log = logging.getLogger(__name__)

HISTORY = 50
UP_NEXT = 10
CACHE_TTL_S = 24 * 3600


# How long a "playing now" steers up next without a stored play behind it (a long track).
NOW_PLAYING_TTL_S = 1800


def up_next_key(user_id: int) -> str:
    return f"upnext:{user_id}"


def next_items(
    item_ids: list[int],
    exclude: Collection[int],
    k: int = UP_NEXT,
    current: serving.Active | None = None,
) -> list[Entry]:
    """What tends to come after this sequence of items (oldest first), never one in it or in
    `exclude`, with the reason; by the active versions, or `current` (a person's arm)."""
    ranker = serving.ranker(current)
    if ranker is None or not item_ids:
        return []
    ranked = ranker.recommend([str(i) for i in item_ids], k, exclude=[str(i) for i in exclude])
    titles = reasons.titles(reasons.cited(r.reason for r in ranked))
    return [
        Entry(int(r.item), round(r.score, 6), reasons.words(r.reason, titles))
        for r in ranked
        if r.item.isdigit()
    ]


def active_version_label() -> str | None:
    current = serving.active()
    return None if current.sequence_path is None else current.label


def now_playing_key(user_id: int) -> str:
    return f"upnext:now:{user_id}"


def playing_now(user_id: int, item_id: int) -> None:
    """What the person's player says is playing (never stored as history): their up next
    follows it for NOW_PLAYING_TTL_S, as if it were their latest play."""
    caching.put(now_playing_key(user_id), item_id, NOW_PLAYING_TTL_S)
    caching.delete([up_next_key(user_id)])


def up_next(user_id: int, k: int = UP_NEXT) -> list[Entry]:
    """The person's up-next list: from the cache while it is current, else computed now from
    their latest plays (and what is playing now, when a player said so), leaving out
    everything they have played, rated or reviewed."""
    key, stamp_key = up_next_key(user_id), lists.stamp_key(user_id)
    cached = caching.get_many([key, stamp_key, now_playing_key(user_id)])
    # The person's arm where an experiment runs: its key keeps the arms' lists apart.
    serves = serving.active(user_id)
    stamp, active = lists.stamp(user_id, cached), serves.key
    payload: Any = cached.get(key)
    if lists.current(payload, stamp, active) and payload.get("k", 0) >= k:
        return [Entry(**e) for e in payload["e"][:k]]
    recent = list(
        Play.objects.filter(user_id=user_id)
        .order_by("-started_at", "-pk")
        .values_list("item_id", flat=True)[:HISTORY]
    )[::-1]
    playing = cached.get(now_playing_key(user_id))
    if isinstance(playing, int) and (not recent or recent[-1] != playing):
        recent.append(playing)
    owned = personal.owned(user_id) if recent else set()
    if isinstance(playing, int):
        owned.add(playing)
    try:
        entries = next_items(recent, exclude=owned, k=k, current=serves)
        entries = controls.arranged_for(user_id, entries)  # their list style, diversity
    except Exception:  # a broken model file must hide the panel, never fail the page
        log.exception("up-next failed for %s", user_id)
        return []
    if stamp is not None:
        payload = {"s": stamp, "a": active, "k": k, "e": [plain(e) for e in entries]}
        caching.put(key, payload, CACHE_TTL_S)
    return entries
