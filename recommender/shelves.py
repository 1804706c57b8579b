"""What the recommender shows on the site's pages: the home page's "For you" rows and the
item page's panels ("Up next", "Looks similar", "Fans also played", review sentiment).

The product apps never import the recommender, so their templates call the tags in
`recommender.templatetags.recommendations`, which render what this module computes. Every
page costs a fixed number of queries: the items behind all of a page's lists are fetched in
one query, marked with whether the person has already played, rated or reviewed each.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.db.models import Count, Exists, OuterRef, Q

from entertainment.accounts.models import ReviewVisibility, User
from entertainment.activity.models import Dismissal, Play, Rating, Review, Sentiment
from entertainment.catalogue.models import Item, Kind

from . import controls, diversity, impressions, lists, realtime, similarity
from .lists import Entry

log = logging.getLogger(__name__)

ROW_LENGTH = 6
# Lists are asked for longer than a row: owned or other-kind items are dropped.
OVERFETCH = 3
# Where the activity views keep the items played while a person's history is paused.
SESSION_PLAYS_KEY = "session_plays"
ROW_LABELS = {Kind.FILM: "Films", Kind.MUSIC: "Music", Kind.GAME: "Games"}


class Audience:
    """Who the home page's rows are for, which decides their heading and note."""

    PERSONAL = "personal"  # at least one row comes from the person's own list
    NEW = "new"  # signed out, or nothing computed for them yet: popular items and an invitation
    OFF = "off"  # personalisation switched off: popular items and a note saying so


@dataclass(frozen=True)
class Card:
    item: Item
    reason: str


@dataclass(frozen=True)
class Shelf:
    slug: str
    label: str
    cards: list[Card]
    # The list its cards' links name (`?via=`), so a click through is counted for it.
    via: str = ""


@dataclass(frozen=True)
class ForYou:
    audience: str
    shelves: list[Shelf]


@dataclass(frozen=True)
class SentimentSummary:
    reviews: int
    positive_percent: int


@dataclass(frozen=True)
class ItemPanels:
    shelves: list[Shelf]
    sentiment: SentimentSummary | None


def signed_in(user: Any) -> User | None:
    return user if isinstance(user, User) and user.is_authenticated else None


def _items(ids: Iterable[int], person: User | None) -> tuple[dict[int, Item], set[int]]:
    """The items behind some entries, in one query, and which of them the person already has
    (played, rated or reviewed): lists shared by everyone (co-play, look-alikes, popular) know
    nothing of the person, and nothing they have is ever offered to them again. A person who
    switched personalisation off is not looked up at all."""
    items = Item.objects.filter(pk__in=set(ids))
    if person is None or not person.privacy.personalised:
        return items.in_bulk(), set()
    found = items.annotate(
        played=Exists(Play.objects.filter(user=person, item=OuterRef("pk"))),
        rated=Exists(Rating.objects.filter(user=person, item=OuterRef("pk"))),
        reviewed=Exists(Review.objects.filter(user=person, item=OuterRef("pk"))),
        dismissed=Exists(Dismissal.objects.filter(user=person, item=OuterRef("pk"))),
    ).in_bulk()
    done = {
        pk
        for pk, item in found.items()
        if item.played or item.rated or item.reviewed or item.dismissed
    }
    return dict(found.items()), done


def _cards(
    entries: Sequence[Entry],
    items: dict[int, Item],
    kind: str,
    skip: set[int],
    groups: dict[int, frozenset[str]] | None = None,
) -> list[Card]:
    """The first row's worth of entries whose items exist, are of `kind` and not in `skip`,
    at most diversity.PER_GROUP of one series or artist (a row is shorter than its window)."""
    cards: list[Card] = []
    seen = set(skip)
    per_group: dict[str, int] = {}
    for entry in entries:
        item = items.get(entry.item_id)
        if item is None or item.kind != kind or item.pk in seen:
            continue
        mine = (groups or {}).get(item.pk, frozenset())
        if any(per_group.get(g, 0) >= diversity.PER_GROUP for g in mine):
            continue
        for g in mine:
            per_group[g] = per_group.get(g, 0) + 1
        seen.add(item.pk)
        cards.append(Card(item, entry.reason))
        if len(cards) == ROW_LENGTH:
            break
    return cards


def _shelves(
    wanted: list[tuple[str, str, str, list[Entry]]],
    person: User | None,
    skip: set[int],
    groups: dict[int, frozenset[str]] | None = None,
) -> list[Shelf]:
    """(slug, label, kind, entries) → shelves with cards, the empty ones left out; each row
    with at most diversity.PER_GROUP of one series or artist where `groups` are given (the
    "For you" rows are prefixes of lists capped already)."""
    items, done = _items((e.item_id for *_, entries in wanted for e in entries), person)
    shelves = [
        Shelf(slug, label, _cards(entries, items, kind, skip | done, groups))
        for slug, label, kind, entries in wanted
    ]
    return [shelf for shelf in shelves if shelf.cards]


def for_you(user: Any, narrow: controls.Wanted = controls.NOTHING) -> ForYou:
    """The home page's rows, one per kind, each from the person's own list where there is one
    (through the filters `narrow`)."""
    person = signed_in(user)
    n = ROW_LENGTH * OVERFETCH
    found = lists.for_kinds(person or user, list(Kind.values), n, wanted=narrow)
    if person is not None and not person.privacy.personalised:
        audience = Audience.OFF
    elif any(found_list.personalised for found_list in found.values()):
        audience = Audience.PERSONAL
    else:
        audience = Audience.NEW
    wanted = [
        (f"for-you-{kind}", ROW_LABELS[Kind(kind)], kind, found_list.entries)
        for kind, found_list in found.items()
    ]
    sources = {f"for-you-{kind}": impressions.of_list(f) for kind, f in found.items()}
    shown = impressions.shown_shelves(person, _shelves(wanted, person, skip=set()), sources)
    return ForYou(audience, shown)


def _guarded(source: Callable[[], list[Entry]], what: str) -> list[Entry]:
    # A broken or missing model file hides a panel; it never fails the item page.
    try:
        return source()
    except Exception:
        log.exception("%s failed", what)
        return []


def session_plays(session: SessionBase) -> list[int]:
    """The item ids played while the history was paused, oldest first (held in the session only)."""
    raw = session.get(SESSION_PLAYS_KEY)
    if not isinstance(raw, list):
        return []
    return [i for i in raw if isinstance(i, int) and not isinstance(i, bool)][-realtime.HISTORY :]


def up_next(person: User | None, session: SessionBase) -> list[Entry]:
    """What to play next: from the person's stored plays, or, while their history is paused,
    from the plays of this session, which were never stored."""
    if person is None or not person.privacy.personalised:
        return []
    if person.privacy.history_paused:
        played = session_plays(session)
        if played:
            return realtime.next_items(played, exclude=set(played), k=realtime.UP_NEXT * OVERFETCH)
    return realtime.up_next(person.pk, k=realtime.UP_NEXT * OVERFETCH)


def sentiment_summary(item: Item) -> SentimentSummary | None:
    """The share of an item's scored reviews the sentiment model read as positive.

    Only reviews others may read count, so the summary tells nothing about private ones;
    unscored reviews are left out rather than guessed.
    """
    counts = (
        Review.objects.filter(item=item)
        .exclude(sentiment="")
        .exclude(user__privacy_settings__review_visibility=ReviewVisibility.PRIVATE)
        .aggregate(scored=Count("pk"), positive=Count("pk", filter=Q(sentiment=Sentiment.POSITIVE)))
    )
    if not counts["scored"]:
        return None
    return SentimentSummary(counts["scored"], round(100 * counts["positive"] / counts["scored"]))


def item_panels(item: Item, user: Any, session: SessionBase) -> ItemPanels:
    """The item page's panels, each only the item's kind and without what the person has
    played, rated or reviewed; a panel with nothing to show is left out."""
    person = signed_in(user)
    n = ROW_LENGTH * OVERFETCH
    nexts = _guarded(lambda: up_next(person, session), "up next")
    related = [
        _guarded(lambda: similarity.looks_like(item.pk, n), "looks similar"),
        _guarded(lambda: similarity.co_played(item.pk, n), "fans also played"),
    ]
    # The shared panels in the person's list style, without their "not for me" (controls.py).
    (similar, fans), groups = controls.shared_lists(user, related, item.kind, also=nexts)
    wanted = [
        ("up-next", "Up next", item.kind, nexts),
        ("looks-similar", "Looks similar", item.kind, similar),
        ("fans-also-played", "Fans also played", item.kind, fans),
    ]
    shelves = _shelves(wanted, person, skip={item.pk}, groups=groups)
    sources = impressions.item_sources(item.kind, person, shelves)
    shown = impressions.shown_shelves(person, shelves, sources)
    return ItemPanels(shown, sentiment_summary(item))
