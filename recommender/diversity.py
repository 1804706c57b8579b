"""Diversity and novelty of a served list, whichever model version ranked it.

**One series, artist or franchise.** In this catalogue a series hangs on its first part through
`Item.parent` (a film's or game's sequels on the first film or game, a track on its album, an
album on its artist), and music credits its artist with a `Credit` of role `artist`. Two items
are of one group when they share their top ancestor (an item without a parent is its own top)
or a credited artist (their own or an ancestor's). A served list holds at most `PER_GROUP` items
of one group in any `WINDOW` consecutive places (`capped`): the rest wait, best first, for a
place where they fit; one that never fits is left out.

**"Surprise me"** (PrivacySettings.list_style): items among the most popular `HEAD_SHARE` of
their kind's catalogue (by plays) move `SURPRISE_SHIFT` places down (`novel_first`), so items
outside that head come up past them while relevance still orders each of the two (no item moves
more than that many places).
"More of what I like" is the ranking as it is.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable, Sequence

from django.db.models import Count, FilteredRelation, Q

from entertainment import caching
from entertainment.accounts.models import ListStyle
from entertainment.catalogue.models import Credit, Item

from .entries import Entry

PER_GROUP = 2
WINDOW = 10
HEAD_SHARE = 0.1
# A list's length: in a list of ten, an item of the head shows only where it ranked ten places
# above the novel items it now comes after.
SURPRISE_SHIFT = 10
HEAD_TTL_S = 600
# Ancestors followed up Item.parent: track -> album -> artist is the deepest chain there is.
ANCESTORS = ("parent_id", "parent__parent_id", "parent__parent__parent_id")


def head_key(kind: str) -> str:
    return f"recs:popular-head:{kind}"


def groups(item_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    """Item id -> the series/artist groups it belongs to (one query)."""
    ids = set(item_ids)
    if not ids:
        return {}
    artist = Credit.Role.ARTIST
    # The credited artists of the item and of its ancestors, joined on the lineage.
    rows = (
        Item.objects.filter(pk__in=ids)
        .annotate(
            a0=FilteredRelation("credits", condition=Q(credits__role=artist)),
            a1=FilteredRelation("parent__credits", condition=Q(parent__credits__role=artist)),
            a2=FilteredRelation(
                "parent__parent__credits", condition=Q(parent__parent__credits__role=artist)
            ),
        )
        .order_by()
        .values_list("pk", *ANCESTORS, "a0__creator_id", "a1__creator_id", "a2__creator_id")
    )
    found: dict[int, set[str]] = {}
    for pk, p1, p2, p3, *artists in rows:
        lineage = [a for a in (pk, p1, p2, p3) if a is not None]
        mine = found.setdefault(pk, {f"series:{lineage[-1]}"})
        mine.update(f"artist:{c}" for c in artists if c is not None)
    return {pk: frozenset(g) for pk, g in found.items()}


def capped(
    entries: Sequence[Entry],
    found: dict[int, frozenset[str]],
    per_group: int = PER_GROUP,
    window: int = WINDOW,
    limit: int | None = None,
) -> list[Entry]:
    """The entries in their order, except that no `window` consecutive places hold more than
    `per_group` of one group; an entry that does not fit waits for the first place it does.
    At most `limit` entries (all that fit when None)."""
    out: list[Entry] = []
    waiting: deque[Entry] = deque()
    pending = deque(entries)

    def fits(entry: Entry) -> bool:
        recent = Counter(g for e in out[-(window - 1) :] for g in found.get(e.item_id, ()))
        return all(recent[g] < per_group for g in found.get(entry.item_id, ()))

    while (pending or waiting) and (limit is None or len(out) < limit):
        # The best waiting entry that fits now goes first; else the next in rank order.
        chosen = next((e for e in waiting if fits(e)), None)
        if chosen is not None:
            waiting.remove(chosen)
            out.append(chosen)
            continue
        if not pending:
            break  # nothing left fits anywhere
        entry = pending.popleft()
        if fits(entry):
            out.append(entry)
        else:
            waiting.append(entry)
    return out


def popular_head(kind: str) -> set[int]:
    """The most played and rated HEAD_SHARE of a kind's items (cached briefly, shared)."""
    cached = caching.get(head_key(kind))
    if isinstance(cached, list):
        return set(cached)
    size = Item.objects.filter(kind=kind).count()
    top = math.ceil(size * HEAD_SHARE)
    rows = (
        (
            Item.objects.filter(kind=kind)
            .annotate(
                n_plays=Count("plays", distinct=True), n_ratings=Count("ratings", distinct=True)
            )
            .filter(n_plays__gt=0)
            .order_by("-n_plays", "-n_ratings", "pk")
            .values_list("pk", flat=True)[:top]
        )
        if top
        else []
    )
    head = list(rows)
    caching.put(head_key(kind), head, HEAD_TTL_S)
    return set(head)


def novel_first(
    entries: Sequence[Entry], head: set[int], shift: int = SURPRISE_SHIFT
) -> list[Entry]:
    """The entries with each one of `head` moved `shift` places down (stable otherwise)."""
    keyed = [
        (place + (shift if e.item_id in head else 0), place, e) for place, e in enumerate(entries)
    ]
    return [e for *_, e in sorted(keyed, key=lambda t: (t[0], t[1]))]


def styled(entries: Sequence[Entry], style: str, kind: str | None) -> list[Entry]:
    """The entries re-ranked for the person's list style (see the module docstring)."""
    if style != ListStyle.SURPRISE or not entries:
        return list(entries)
    kinds = [kind] if kind else sorted(_kinds(e.item_id for e in entries))
    head = set().union(*(popular_head(k) for k in kinds)) if kinds else set()
    return novel_first(entries, head)


def _kinds(item_ids: Iterable[int]) -> set[str]:
    return set(Item.objects.filter(pk__in=set(item_ids)).values_list("kind", flat=True))


def arranged(
    entries: Sequence[Entry], style: str, kind: str | None, limit: int | None = None
) -> list[Entry]:
    """Style, then the cap: what every list shows (kind: the list's, when it has one)."""
    ordered = styled(entries, style, kind)
    return capped(ordered, groups(e.item_id for e in ordered), limit=limit)
