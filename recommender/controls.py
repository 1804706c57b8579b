"""A person's own controls over the lists they see, applied wherever a list is served.

- **"Not for me"** (activity.Dismissal): the item joins the person's history as negative
  feedback (personal.history), so it is left out of their lists like anything they have, and
  pushes down what is like it; `personal.owned` counts it, so every list that leaves out the
  person's items leaves it out too.
- **Filters** (`Wanted`: genre, year range, excluded ids) narrow one read. The cached list is
  filtered first; when too little of it passes, the person's history is ranked deeper
  (personal.ranked_deeper) or the popular list read deeper, so the list is full whenever the
  catalogue allows (up to DEPTHS[-1] items of a kind deep).
- **Diversity and list style** (diversity.py) are applied to every list a person sees, after
  whichever model version ranked it: computed lists when they are cached (lists.compute,
  realtime.up_next), shared lists (popular, similar) when they are served.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rest_framework import serializers

from entertainment import caching
from entertainment.accounts.models import ListStyle, PrivacySettings
from entertainment.activity.models import Dismissal
from entertainment.catalogue.api import ItemFilter
from entertainment.catalogue.models import Genre, Item

from . import diversity, personal
from .entries import Entry, RecommendationList
from .popular import NON_PERSONAL, popular

# How deep a filtered read looks, per kind, when the cached list runs short: the person's
# ranking, or the popular list.
DEPTHS = (100, 1000)
FILTERS = ("genre", "year_min", "year_max", "exclude")
EXCLUDE_PATTERN = r"^([0-9]+(,[0-9]+)*)?$"
EXCLUDE_MAX_LENGTH = 2000
EXCLUDE_MESSAGE = "Enter item ids separated by commas."
MAX_DB_ID = 2**63 - 1
GENRES_KEY = "recs:genre-choices"
GENRES_TTL_S = 600


@dataclass(frozen=True)
class Wanted:
    """What a read keeps: a genre (slug), a year range, and never these ids."""

    genre: str | None = None
    year_min: int | None = None
    year_max: int | None = None
    exclude: frozenset[int] = field(default_factory=frozenset)

    @property
    def narrows(self) -> bool:
        return bool(
            self.genre or self.year_min is not None or self.year_max is not None or self.exclude
        )


NOTHING = Wanted()


def parse(params: Mapping[str, Any]) -> Wanted:
    """The filters of a query string, validated as /api/items/ validates its own (genre,
    year_min, year_max: the same filter set, the same messages); `exclude` is item ids
    separated by commas. Raises serializers.ValidationError with messages by field."""
    given = {name: params.get(name) for name in ("genre", "year_min", "year_max")}
    form = ItemFilter(
        data={k: v for k, v in given.items() if v is not None}, queryset=Item.objects.none()
    ).form
    errors: dict[str, list[str]] = {}
    if not form.is_valid():
        errors.update({name: list(messages) for name, messages in form.errors.items()})
    raw = params.get("exclude") or ""
    exclude: set[int] = set()
    if len(raw) > EXCLUDE_MAX_LENGTH or not re.fullmatch(EXCLUDE_PATTERN, raw):
        errors["exclude"] = [EXCLUDE_MESSAGE]
    else:
        # An id beyond what the database holds names no item: it excludes nothing.
        exclude = {int(i) for i in raw.split(",") if i and int(i) <= MAX_DB_ID}
    if errors:
        raise serializers.ValidationError(errors)
    data = form.cleaned_data
    return Wanted(
        data.get("genre") or None, data.get("year_min"), data.get("year_max"), frozenset(exclude)
    )


def genre_choices() -> list[tuple[str, str]]:
    """(slug, name) of every genre slug, for a filter form (one slug may name a genre of
    several kinds: the filter keeps items of any of them, as /api/items/ does)."""
    cached = caching.get(GENRES_KEY)
    if isinstance(cached, list):
        return [(str(slug), str(name)) for slug, name in cached]
    names: dict[str, str] = {}
    for slug, name in Genre.objects.order_by("name").values_list("slug", "name"):
        names.setdefault(slug, name)
    choices = sorted(names.items(), key=lambda pair: pair[1].lower())
    caching.put(GENRES_KEY, [list(pair) for pair in choices], GENRES_TTL_S)
    return choices


def dismissed(user_id: int, among: Iterable[int] | None = None) -> set[int]:
    rows = Dismissal.objects.filter(user_id=user_id)
    if among is not None:
        rows = rows.filter(item_id__in=set(among))
    return set(rows.values_list("item_id", flat=True))


def style_of(user: Any) -> str:
    """The person's list style ("familiar" for anyone signed out)."""
    if not getattr(user, "is_authenticated", False):
        return ListStyle.FAMILIAR
    return str(user.privacy.list_style)


def kept(entries: Sequence[Entry], wanted: Wanted, kind: str | None = None) -> list[Entry]:
    """The entries whose items pass the filters (and are of `kind`, when given), in order."""
    if not wanted.narrows and kind is None:
        return list(entries)
    ids = {e.item_id for e in entries} - wanted.exclude
    items = Item.objects.filter(pk__in=ids)
    if kind is not None:
        items = items.filter(kind=kind)
    if wanted.genre:
        items = items.filter(genres__slug=wanted.genre)
    if wanted.year_min is not None:
        items = items.filter(year__gte=wanted.year_min)
    if wanted.year_max is not None:
        items = items.filter(year__lte=wanted.year_max)
    passing = set(items.values_list("pk", flat=True))
    return [e for e in entries if e.item_id in passing]


def arranged_lists(
    user_id: int, found: dict[str, RecommendationList]
) -> dict[str, RecommendationList]:
    """A person's freshly computed lists with their style and the diversity cap applied (what
    lists.compute caches)."""
    style = _privacy_style(user_id)
    groups = diversity.groups(e.item_id for f in found.values() for e in f.entries)
    out = {}
    for kind, found_list in found.items():
        entries = diversity.capped(diversity.styled(found_list.entries, style, kind), groups)
        out[kind] = RecommendationList(
            kind,
            entries,
            found_list.model_version,
            found_list.personalised,
            found_list.experiment_id,
            found_list.arm,
        )
    return out


def arranged_for(user_id: int, entries: Sequence[Entry]) -> list[Entry]:
    """A list computed for this person (up next) in their list style, capped for diversity."""
    return diversity.arranged(entries, _privacy_style(user_id), None)


def _privacy_style(user_id: int) -> str:
    style = (
        PrivacySettings.objects.filter(user_id=user_id).values_list("list_style", flat=True).first()
    )
    return style or ListStyle.FAMILIAR


def for_person(user: Any, entries: Sequence[Entry], kind: str | None = None) -> list[Entry]:
    """A shared list (similar items, fans also played, what comes next in a session) as this
    person sees it: in their list style, capped for diversity, without what they marked "not
    for me". Their own items are left out by the caller, as before."""
    (found,), groups = shared_lists(user, [entries], kind)
    return diversity.capped(found, groups)


def shared_lists(
    user: Any, found: Sequence[Sequence[Entry]], kind: str | None, also: Sequence[Entry] = ()
) -> tuple[list[list[Entry]], dict[int, frozenset[str]]]:
    """Shared lists in this person's list style, without what they marked "not for me" (not
    yet capped), and the diversity groups of their items and of `also`'s (two queries)."""
    ids = {e.item_id for entries in (*found, also) for e in entries}
    gone = dismissed(user.pk, ids) if getattr(user, "is_authenticated", False) else set()
    style = style_of(user)
    out = [
        diversity.styled([e for e in entries if e.item_id not in gone], style, kind)
        for entries in found
    ]
    return out, diversity.groups(ids)


def narrowed(user: Any, found: RecommendationList, n: int, wanted: Wanted) -> RecommendationList:
    """A person's own list (as cached, computed from their history) through the filters,
    ranked deeper when too few of its items pass."""
    style = style_of(user)
    entries = diversity.capped(
        kept(found.entries, wanted), diversity.groups(e.item_id for e in found.entries), limit=n
    )
    for depth in DEPTHS:
        if len(entries) >= n:
            break
        if found.personalised:
            deeper = personal.ranked_deeper(user.pk, depth).get(found.kind, [])
            exhausted = len(deeper) < depth
        else:
            # The popular list of a kind the model has nothing of theirs for.
            deeper, exhausted = _popular_deeper(found.kind, depth, personal.owned(user.pk))
        entries = diversity.arranged(kept(deeper, wanted), style, found.kind, limit=n)
        if exhausted:
            break
    return _with(found, entries[:n])


def popular_for(
    user: Any, kind: str, n: int, wanted: Wanted, gone: set[int] | None = None
) -> RecommendationList:
    """The popular list of a kind as this person sees it: without what they marked "not for
    me" (`gone`, when the caller has read them for several kinds), filtered, in their list
    style (read deeper when too little is left)."""
    signed_in = getattr(user, "is_authenticated", False)
    if gone is None:
        gone = dismissed(user.pk) if signed_in else set()
    style = style_of(user)
    if not gone and not wanted.narrows and style == ListStyle.FAMILIAR:
        return popular(kind, n)  # the same for everyone (capped for diversity in popular())
    entries: list[Entry] = []
    for depth in (n + diversity.SURPRISE_SHIFT + len(gone), *DEPTHS):
        deeper, exhausted = _popular_deeper(kind, depth, gone)
        entries = diversity.arranged(kept(deeper, wanted), style, kind, limit=n)
        if len(entries) >= n or exhausted:
            break
    return RecommendationList(kind, entries[:n], NON_PERSONAL, False)


def _popular_deeper(kind: str, depth: int, leave_out: set[int]) -> tuple[list[Entry], bool]:
    """The popular list `depth` deep less `leave_out`, and whether the kind has no more."""
    found = popular(kind, depth, capped=False).entries
    return [e for e in found if e.item_id not in leave_out], len(found) < depth


def _with(found: RecommendationList, entries: list[Entry]) -> RecommendationList:
    return RecommendationList(
        found.kind,
        entries,
        found.model_version,
        found.personalised,
        found.experiment_id,
        found.arm,
    )
