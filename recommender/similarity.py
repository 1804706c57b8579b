"""Items related to an item: "Fans also played" (co-play) and "Looks similar" (artwork CNN)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from django.db.models import Count

from entertainment import caching
from entertainment.activity.models import Play
from entertainment.catalogue.models import Item

from . import registry
from .lists import Entry, plain
from .snapshot import consenting

# A co-play needs this many people behind it, so no list reveals one person's history.
MIN_PEOPLE = 2
CO_PLAY_TTL_S = 3600


def co_played(item_id: int, n: int = 10) -> list[Entry]:
    key = f"coplay:{item_id}:{n}"
    cached = caching.get(key)
    if isinstance(cached, list):
        return [Entry(**e) for e in cached]
    fans = Play.objects.filter(item_id=item_id, user__in=consenting("plays")).values("user_id")
    title = Item.objects.filter(pk=item_id).values_list("title", flat=True).first() or ""
    rows = (
        Play.objects.filter(user_id__in=fans)
        .exclude(item_id=item_id)
        .values("item_id")
        .annotate(people=Count("user_id", distinct=True))
        .filter(people__gte=MIN_PEOPLE)
        .order_by("-people", "item_id")[:n]
    )
    entries = [
        Entry(row["item_id"], float(row["people"]), f"{row['people']} fans of {title} played it")
        for row in rows
    ]
    caching.put(key, [plain(e) for e in entries], CO_PLAY_TTL_S)
    return entries


@lru_cache(maxsize=2)
def _visual(path: str) -> Any:
    """The artwork model's item embeddings (NumPy only), keyed by the version's directory."""
    from ml.hybrid import Visual

    return Visual.load(Path(path))


def looks_like(item_id: int, n: int = 10) -> list[Entry]:
    version = registry.active_version("artwork")
    if version is None or not version.path:
        return []
    visual = _visual(version.path)
    if visual is None:
        return []
    from ml.serving import similar_items

    title = Item.objects.filter(pk=item_id).values_list("title", flat=True).first() or ""
    return [
        Entry(int(other), round(score, 6), f"Looks like {title}")
        for other, score in similar_items(visual.embeddings, visual.ids, str(item_id), n)
    ]
