"""Real-time "up next": a GRU step in NumPy inside the web process (no TensorFlow here).

The active sequence model's NumPy export is loaded once per process and reloaded when another
version becomes active. Lists are kept in the cache only: they follow the latest play and are
recomputed on demand when missing.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from entertainment import caching
from entertainment.accounts.models import User
from entertainment.activity.models import Play, Rating
from entertainment.catalogue.models import Item

from . import registry
from .lists import Entry, plain

log = logging.getLogger(__name__)

HISTORY = 50
UP_NEXT = 10
_VERSION_TTL_S = 5.0
_active: dict[str, Any] = {"checked": 0.0, "path": None}


def up_next_key(user_id: int) -> str:
    return f"upnext:{user_id}"


@lru_cache(maxsize=2)
def _server(path: str) -> Any:
    from ml.serving import SequenceServer

    # The sequence version is a hybrid directory; the GRU's NumPy export is in sequence/.
    return SequenceServer.load(Path(path) / "sequence")


def active_server() -> Any | None:
    """The serving model of the active sequence version (looked up at most every few seconds)."""
    now = time.monotonic()
    if now - _active["checked"] > _VERSION_TTL_S:
        version = registry.active_version("sequence")
        _active.update(checked=now, path=version.path if version else None)
    path = _active["path"]
    return None if path is None else _server(path)


def active_version_label() -> str | None:
    version = registry.active_version("sequence")
    return version.label if version else None


def next_items(item_ids: list[int], exclude: set[int], k: int = UP_NEXT) -> list[Entry]:
    """What tends to come after this sequence of items, with the reason."""
    server = active_server()
    if server is None or not item_ids:
        return []
    ranked = server.recommend([str(i) for i in item_ids], k, exclude={str(i) for i in exclude})
    last = Item.objects.filter(pk=item_ids[-1]).values_list("title", flat=True).first() or ""
    return [
        Entry(int(item), round(float(score), 6), f"Because you played {last}")
        for item, score in ranked
    ]


def update_up_next(user_id: int) -> list[Entry]:
    """Recompute a person's up-next list from their latest plays and cache it."""
    user = User.objects.filter(pk=user_id).select_related("privacy_settings").first()
    if user is None or not user.privacy.personalised:
        return []
    recent = list(
        Play.objects.filter(user_id=user_id)
        .order_by("-started_at", "-pk")
        .values_list("item_id", flat=True)[:HISTORY]
    )[::-1]
    done = set(Rating.objects.filter(user_id=user_id).values_list("item_id", flat=True))
    done |= set(
        Play.objects.filter(user_id=user_id, completed=True).values_list("item_id", flat=True)
    )
    try:
        entries = next_items(recent, exclude=done)
    except Exception:  # a broken model file must not fail the play that was just stored
        log.exception("up-next failed for %s", user_id)
        return []
    caching.put(up_next_key(user_id), [plain(e) for e in entries], 24 * 3600)
    return entries


def up_next(user_id: int) -> list[Entry]:
    cached = caching.get(up_next_key(user_id))
    if isinstance(cached, list):
        return [Entry(**e) for e in cached]
    return update_up_next(user_id)
