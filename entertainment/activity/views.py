"""The person's own activity: the item page's write controls and their history.

Every write goes through `recording`, so a paused history stores nothing here either.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import CharField, DateTimeField, F, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from entertainment.accounts.models import User
from entertainment.catalogue.models import Item
from entertainment.catalogue.views import item_or_404, item_page, minutes_and_seconds

from . import recording
from .forms import PlayForm, RatingForm, ReviewForm
from .models import Dismissal, Play, Rating, Review

HISTORY_PAGE_SIZE = 25
DISMISSALS_PAGE_SIZE = 20
PAUSED_MESSAGE = "Your history is paused, so nothing was stored. Resume it to record again."
HISTORY_TYPES = {"rating": Rating, "play": Play, "review": Review}
# request.session["session_plays"]: ids of the items played in this browser session while the
# person's history was paused (nothing is stored then), oldest first, the last
# SESSION_PLAYS_KEPT only. It lives and dies with the session; the recommender reads it to
# suggest "up next" during a paused session.
SESSION_PLAYS = "session_plays"
SESSION_PLAYS_KEPT = 50


def _signed_in(request: HttpRequest) -> User | None:
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def _done(request: HttpRequest, item: Item, stored: bool, success: str) -> HttpResponse:
    if stored:
        messages.success(request, success)
    else:
        messages.warning(request, PAUSED_MESSAGE)
    return redirect(item)


@require_POST
def rate(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_or_404(pk)
    if (user := _signed_in(request)) is None:
        return redirect_to_login(item.get_absolute_url())
    form = RatingForm(request.POST)
    if not form.is_valid():
        return item_page(request, item, forms={"rating": form}, status=400)
    value = form.cleaned_data["value"]
    result = recording.record_rating(user, item, value)
    return _done(request, item, result.stored, f"Rated {value} out of 5.")


@require_POST
def play(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_or_404(pk)
    if (user := _signed_in(request)) is None:
        return redirect_to_login(item.get_absolute_url())
    form = PlayForm(request.POST)
    if not form.is_valid():
        return item_page(request, item, forms={"play": form}, status=400)
    result = recording.record_play(
        user,
        item,
        started_at=timezone.now(),
        seconds_played=form.cleaned_data["seconds_played"] or 0,
        completed=form.cleaned_data["completed"],
    )
    if not result.stored:
        played = [*request.session.get(SESSION_PLAYS, []), item.pk]
        request.session[SESSION_PLAYS] = played[-SESSION_PLAYS_KEPT:]
    return _done(request, item, result.stored, "Play recorded.")


@require_POST
def review(request: HttpRequest, pk: int) -> HttpResponse:
    item = item_or_404(pk)
    if (user := _signed_in(request)) is None:
        return redirect_to_login(item.get_absolute_url())
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return item_page(request, item, forms={"review": form}, status=400)
    result = recording.record_review(
        user, item, form.cleaned_data["text"], rating=form.cleaned_data["rating"]
    )
    return _done(
        request, item, result.stored, "Review saved." if result.created else "Review updated."
    )


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    """To the page the form was on (its `next`, when it is one of this site's), else `fallback`."""
    wanted = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(wanted if wanted and safe else fallback)


@require_POST
def dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Not for me" on a card: stored even while the history is paused (a control)."""
    item = item_or_404(pk)
    if (user := _signed_in(request)) is None:
        return redirect_to_login(item.get_absolute_url())
    recording.record_dismissal(user, item)
    messages.success(request, f"{item.title} won't be suggested to you again.")
    return _back(request, reverse("home"))


@require_POST
def undo_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    if (user := _signed_in(request)) is None:
        return redirect_to_login(reverse("activity:history"))
    if recording.undo_dismissal(user, pk):
        messages.success(request, "Taken back: it may be suggested to you again.")
    return _back(request, reverse("activity:history"))


def _timeline(user: User, only: str | None) -> Any:
    """One newest-first stream of (type, pk, when) over the three tables, for one page query."""
    parts = []
    for name, model in HISTORY_TYPES.items():
        if only and name != only:
            continue
        when = Coalesce("started_at", "created_at") if model is Play else F("updated_at")
        parts.append(
            model._default_manager.filter(user=user)
            .order_by()
            .annotate(
                entry=Value(name, output_field=CharField()),
                when=Coalesce(when, "created_at", output_field=DateTimeField()),
            )
            .values_list("entry", "pk", "when")
        )
    first, *rest = parts
    return (
        first.union(*rest, all=True).order_by("-when", "-pk")
        if rest
        else first.order_by("-when", "-pk")
    )


@login_required
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    user = _signed_in(request)
    assert user is not None
    only = request.GET.get("type")
    if only not in HISTORY_TYPES:
        only = None
    page = Paginator(_timeline(user, only), HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    # Fetch the page's rows table by table (three queries at most, whatever the page size).
    wanted: dict[str, list[int]] = {name: [] for name in HISTORY_TYPES}
    for name, pk, _when in page.object_list:
        wanted[name].append(pk)
    rows = {
        (name, row.pk): row
        for name, model in HISTORY_TYPES.items()
        if wanted[name]
        for row in model._default_manager.filter(pk__in=wanted[name], user=user).select_related(
            "item"
        )
    }
    entries = [
        {
            "type": name,
            "when": when,
            "row": rows[(name, pk)],
            "length": minutes_and_seconds(getattr(rows[(name, pk)], "seconds_played", None)),
        }
        for name, pk, when in page.object_list
        if (name, pk) in rows
    ]
    counts = {
        name: model._default_manager.filter(user=user).count()
        for name, model in HISTORY_TYPES.items()
    }
    dismissed = Paginator(
        Dismissal.objects.filter(user=user).select_related("item"), DISMISSALS_PAGE_SIZE
    ).get_page(request.GET.get("dismissed_page"))
    context = {
        "dismissed": dismissed,
        "page_obj": page,
        "entries": entries,
        "only": only,
        "total": sum(counts.values()),
        "history_paused": user.privacy.history_paused,
        "types": [
            (name, label, counts[name])
            for name, label in (("rating", "Ratings"), ("play", "Plays"), ("review", "Reviews"))
        ],
    }
    return render(request, "activity/history.html", context)
