"""What the recommender's lists showed each person, handed to activity's impression buffer.

Pages note their shelves ("For you" rows, "Up next", "Looks similar", "Fans also played"),
the API its answers, each with the list's model version label, its experiment and arm, and the
rank each item was shown at (1-based, as shown: after owned items were left out). Nothing is
written here: activity.impressions appends one record per list to its buffer and a `cpu` task
writes them in batches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from entertainment.activity import impressions
from entertainment.activity.models import ListName

from . import serving
from .entries import RecommendationList

if TYPE_CHECKING:
    from .shelves import Shelf


@dataclass(frozen=True)
class Source:
    """Where a shelf's items came from."""

    list: str
    kind: str
    model_version: str
    experiment_id: int | None = None
    arm: str = ""


def of_list(found: RecommendationList) -> Source:
    """A person's own list is "for_you"; the popular one, shown instead, is "popular"."""
    name = ListName.FOR_YOU if found.personalised else ListName.POPULAR
    return Source(name, found.kind, found.model_version, found.experiment_id, found.arm)


def shown_shelves(person: Any, shelves: list[Shelf], sources: Mapping[str, Source]) -> list[Shelf]:
    """The shelves with their list name for the cards' links (`?via=`), after noting them as
    shown to `person` (None: signed out) when they let what they are shown be measured."""
    out = [replace(s, via=sources[s.slug].list) if s.slug in sources else s for s in shelves]
    if person is None or not impressions.measuring(person.privacy):
        return out
    impressions.note(
        impressions.Shown(
            person.pk,
            src.list,
            src.kind,
            src.model_version,
            [card.item.pk for card in shelf.cards],
            src.experiment_id,
            src.arm,
        )
        for shelf in shelves
        if (src := sources.get(shelf.slug)) is not None
    )
    return out


def shown_by_api(
    user: Any,
    found: Iterable[RecommendationList],
    results: list[dict[str, Any]],
    cached: dict[str, Any] | None,
) -> None:
    """Note an /api/recommendations/ answer: one record per list it drew from, each item at
    the rank the answer gave it."""
    if not results or not impressions.may_measure(user, cached):
        return
    lists = list(found)
    origin = {e.item_id: n for n, f in enumerate(lists) for e in f.entries}
    ranked: dict[int, list[tuple[int, int]]] = {}
    for row in results:
        item_id = row["item"]["id"]
        if item_id in origin:
            ranked.setdefault(origin[item_id], []).append((row["rank"], item_id))
    records = []
    for n, rows in ranked.items():
        source = lists[n]
        records.append(
            impressions.Shown(
                user.pk,
                ListName.API,
                source.kind,
                source.model_version,
                [item_id for _, item_id in rows],
                source.experiment_id,
                source.arm,
                ranks=[rank for rank, _ in rows],
            )
        )
    impressions.note(records)


def cache_key(user_id: int) -> str:
    """The key the API reads with its others (the person's measurement switch)."""
    return impressions.measure_key(user_id)


# The item page's panels: shelf slug -> list name.
ITEM_PANELS = {
    "up-next": ListName.UP_NEXT,
    "looks-similar": ListName.SIMILAR,
    "fans-also-played": ListName.FANS_ALSO_PLAYED,
}


def item_sources(kind: str, person: Any, shelves: list[Shelf]) -> dict[str, Source]:
    """Sources of the item page's panels: "Up next" by the person's arm where an experiment
    runs, the related-item panels by the active versions."""
    out: dict[str, Source] = {}
    for shelf in shelves:
        name = ITEM_PANELS.get(shelf.slug)
        if name is None:
            continue
        own = name == ListName.UP_NEXT and person is not None
        serves = serving.active(person.pk) if own else serving.active()
        out[shelf.slug] = Source(name, kind, serves.label, serves.experiment_id, serves.arm)
    return out
