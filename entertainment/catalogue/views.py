"""Catalogue pages: a list per kind with filters, search across kinds, and the item page.

The item page also shows the signed-in person's rate, play and review controls; their forms
post to the activity app, which re-renders this page through `item_page` when input is bad.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db.models import Avg, Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from entertainment.accounts.models import ReviewVisibility, User
from entertainment.activity.forms import PlayForm, RatingForm, ReviewForm
from entertainment.activity.models import ListName, Review
from entertainment.activity.recording import record_click

from .forms import CatalogueFilterForm
from .models import Credit, Item, ItemQuerySet, Kind

PAGE_SIZE = 24
REVIEWS_PAGE_SIZE = 10

# URL segment → kind, and the words each kind's pages use.
KIND_SLUGS = {"films": Kind.FILM, "music": Kind.MUSIC, "games": Kind.GAME}
SLUG_OF_KIND = {kind: slug for slug, kind in KIND_SLUGS.items()}
KIND_PLURALS = {Kind.FILM: "Films", Kind.MUSIC: "Music", Kind.GAME: "Games"}
# Who an anonymous reviewer is shown as.
ANONYMOUS_REVIEWER = {Kind.FILM: "A viewer", Kind.MUSIC: "A listener", Kind.GAME: "A player"}


def items_for_lists() -> ItemQuerySet:
    """Items with what a card shows (genres) fetched in one extra query per page."""
    return Item.objects.prefetch_related("genres")


def _paginate(request: HttpRequest, queryset: QuerySet[Any], param: str, size: int) -> Any:
    return Paginator(queryset, size).get_page(request.GET.get(param))


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _list_page(request: HttpRequest, kind: str | None) -> HttpResponse:
    form = CatalogueFilterForm(request.GET or None, kind=kind)
    items = items_for_lists()
    if kind is not None:
        items = items.of_kind(kind)
    status = 200
    if form.is_bound and not form.is_valid():
        # Bad filters are answered with the form's messages, never silently ignored.
        items, status = items.none(), 400
    elif form.is_bound:
        items = form.filter(items)
    else:
        items = items.order_by("title", "pk")
    context = {
        "kind": kind,
        "kind_slug": SLUG_OF_KIND[Kind(kind)] if kind else None,
        "heading": KIND_PLURALS[Kind(kind)] if kind else "Search",
        "form": form,
        "page_obj": _paginate(request, items, "page", PAGE_SIZE),
        "query_without_page": _query_without_page(request),
        "kind_links": _kind_links(),
        "show_kind": kind is None,
    }
    return render(request, "catalogue/list.html", context, status=status)


def _kind_links() -> list[tuple[str, str]]:
    return [(slug, KIND_PLURALS[kind]) for slug, kind in KIND_SLUGS.items()]


@require_GET
def kind_list(request: HttpRequest, kind_slug: str) -> HttpResponse:
    kind = KIND_SLUGS.get(kind_slug)
    if kind is None:
        raise Http404("No such kind of item.")
    return _list_page(request, kind)


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    return _list_page(request, None)


def _visible_reviews(item: Item, viewer: User | None) -> QuerySet[Review]:
    """Reviews others may read: everyone's but private ones; a person always sees their own."""
    hidden = Q(user__privacy_settings__review_visibility=ReviewVisibility.PRIVATE)
    if viewer is not None:
        hidden &= ~Q(user=viewer)
    return (
        Review.objects.filter(item=item)
        .exclude(hidden)
        .select_related("user", "user__privacy_settings")
        .order_by("-updated_at", "-pk")
    )


def reviewer_name(review: Review, item: Item) -> str:
    settings = getattr(review.user, "privacy_settings", None)
    visibility = settings.review_visibility if settings else ReviewVisibility.ANONYMOUS
    if visibility == ReviewVisibility.PUBLIC:
        return review.user.get_username()
    return ANONYMOUS_REVIEWER[Kind(item.kind)]


def _item_queryset() -> QuerySet[Item]:
    credits = Credit.objects.select_related("creator").order_by("role", "order")
    return Item.objects.select_related("parent", "parent__parent").prefetch_related(
        "genres", Prefetch("credits", queryset=credits)
    )


def item_page(
    request: HttpRequest,
    item: Item,
    *,
    forms: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render an item's page; `forms` carries bound forms with errors from the activity views."""
    stats = item.ratings.aggregate(average=Avg("value"), count=Count("pk"))
    viewer = request.user if request.user.is_authenticated else None
    assert viewer is None or isinstance(viewer, User)
    reviews_page = _paginate(request, _visible_reviews(item, viewer), "reviews", REVIEWS_PAGE_SIZE)
    reviews = [(review, reviewer_name(review, item)) for review in reviews_page]

    context: dict[str, Any] = {
        "item": item,
        "kind_slug": SLUG_OF_KIND[Kind(item.kind)],
        "kind_plural": KIND_PLURALS[Kind(item.kind)],
        "genres": list(item.genres.all()),
        "rating_average": stats["average"],
        "rating_count": stats["count"],
        "play_count": item.plays.count(),
        "review_count": item.reviews.count(),
        "reviews": reviews,
        "reviews_page": reviews_page,
        **_attributes(item),
    }
    if viewer is not None:
        own_rating = item.ratings.filter(user=viewer).first()
        own_review = item.reviews.filter(user=viewer).first()
        forms = forms or {}
        context.update(
            history_paused=viewer.privacy.history_paused,
            own_rating=own_rating,
            own_review=own_review,
            own_play_count=item.plays.filter(user=viewer).count(),
            rating_form=forms.get("rating")
            or RatingForm(initial={"value": own_rating.value if own_rating else None}),
            play_form=forms.get("play") or PlayForm(),
            review_form=forms.get("review")
            or ReviewForm(
                initial={
                    "text": own_review.text if own_review else "",
                    "rating": own_review.rating if own_review else None,
                }
            ),
        )
    return render(request, "catalogue/item.html", context, status=status)


def _attributes(item: Item) -> dict[str, Any]:
    """What the page shows besides the common fields, by kind."""
    role = Credit.Role
    if item.kind == Kind.FILM:
        return {"directors": item.credited(role.DIRECTOR), "cast": item.credited(role.CAST)}
    if item.kind == Kind.GAME:
        return {
            "developers": item.credited(role.DEVELOPER),
            "publishers": item.credited(role.PUBLISHER),
        }
    # Music: the artist may be credited on the item itself or on the album/artist above it.
    artists = item.credited(role.ARTIST)
    album = artist_item = None
    if item.music_type == "track" and item.parent is not None:
        album = item.parent
        if album.parent is not None and album.parent.music_type == "artist":
            artist_item = album.parent
    elif item.music_type == "album" and item.parent is not None:
        artist_item = item.parent
    children = list(item.children.order_by("position", "title", "pk"))
    return {
        "artists": artists,
        "album": album,
        "artist_item": artist_item,
        "duration": minutes_and_seconds(item.duration_seconds),
        "tracks": (
            [(track, minutes_and_seconds(track.duration_seconds)) for track in children]
            if item.music_type == "album"
            else []
        ),
        "albums": children if item.music_type == "artist" else [],
    }


def minutes_and_seconds(seconds: int | None) -> str:
    if not seconds:
        return ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def item_or_404(pk: int) -> Item:
    return get_object_or_404(_item_queryset(), pk=pk)


@require_GET
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_or_404(pk)
    # A card in a recommendation list links here with ?via=<list>: a click through, measured.
    via = request.GET.get("via", "")
    if via in ListName.values and isinstance(request.user, User):
        record_click(request.user, item, via)
    return item_page(request, item)
