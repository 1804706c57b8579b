"""Reasons in words: the one place where the site says why an item is recommended.

ml/ gives structured reasons (ml.ranking.Reason: a kind and the item or genre it cites, by id);
people read titles. Popular lists, built here without a model, say so with their average rating.
"""

from __future__ import annotations

from collections.abc import Iterable

from entertainment.catalogue.models import Item, Kind
from ml.ranking import Reason

PLURAL = {Kind.FILM: "films", Kind.MUSIC: "music", Kind.GAME: "games"}


def cited(reasons: Iterable[Reason]) -> set[int]:
    """The item ids these reasons name (to fetch their titles in one query)."""
    return {int(r.item) for r in reasons if r.item is not None and r.item.isdigit()}


def titles(item_ids: Iterable[int]) -> dict[int, str]:
    return dict(Item.objects.filter(pk__in=set(item_ids)).values_list("pk", "title"))


def words(reason: Reason, titles: dict[int, str]) -> str:
    """`reason` as a card shows it; `titles` holds the titles of the items it may cite."""
    title = titles.get(int(reason.item), "") if reason.item and reason.item.isdigit() else ""
    if reason.kind == "played":
        return f"Because you played {title}"
    if reason.kind in ("looks_like", "similar"):
        return f"Looks like {title}"
    if reason.kind == "co_played":
        return f"{reason.people} fans of {title} played it"
    if reason.kind == "genre" and reason.genre:
        return f"Popular in {reason.genre.replace('-', ' ')}"
    return "Popular in the whole catalogue"


def popular(kind: str, average: float | None) -> str:
    """The reason of an entry of a popular list (no model: counts and ratings)."""
    rated = f", rated {average:.1f}★ on average" if average is not None else ""
    return f"Popular in {PLURAL[Kind(kind)]}{rated}"
