"""The privacy pages: settings and their history, exports, erasure (each with a confirmation).

Every page shows and changes only the signed-in person's own data; settings change through
`privacy.change_settings`, erasure through `erasure`, exports through `export`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from entertainment.activity.models import Play, Rating, Review

from . import own_data, sessions
from .erasure import erase_account, erase_history
from .export import request_export
from .models import DataExport, SettingChange, User
from .privacy import change_settings
from .privacy_forms import (
    CHOICES,
    LABELS,
    ChosenItemsForm,
    ConfirmAccountErasureForm,
    PrivacySettingsForm,
    describe,
)

CHANGES_SHOWN = 50
ERASE_ITEMS_PAGE_SIZE = 50
UNFINISHED = (DataExport.Status.PENDING, DataExport.Status.BUILDING)


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # behind login_required
    return user


def _shown_value(setting: str, value: str) -> str:
    choices = CHOICES.get(setting)
    if choices is not None and value in choices.values:
        return str(choices(value).label)
    return value


def _change_rows(user: User) -> list[dict[str, Any]]:
    return [
        {
            "setting": LABELS.get(change.setting, change.setting),
            "old": _shown_value(change.setting, change.old_value),
            "new": _shown_value(change.setting, change.new_value),
            "at": change.changed_at,
        }
        for change in SettingChange.objects.filter(user=user)[:CHANGES_SHOWN]
    ]


@login_required
@require_http_methods(["GET", "POST"])
def privacy(request: HttpRequest) -> HttpResponse:
    user = _person(request)
    status = 200
    if request.method == "POST":
        form = PrivacySettingsForm.for_settings(user.privacy, request.POST)
        if form.is_valid():
            changes = change_settings(user, **form.cleaned_data)
            if changes:
                messages.success(request, f"Saved. {describe(changes)}.")
            else:
                messages.info(request, "Nothing changed.")
            return redirect("accounts:privacy")
        status = 400
    else:
        form = PrivacySettingsForm.for_settings(user.privacy)
    erasures = [
        {"row": erasure, "deadline": own_data.retrain_deadline(erasure)}
        for erasure in user.erasures.all()
    ]
    context = {
        "form": form,
        "changes": _change_rows(user),
        "erasures": erasures,
        "retrain_window_h": settings.ERASURE_RETRAIN_WINDOW_H,
        "exports_unfinished": user.data_exports.filter(status__in=UNFINISHED).count(),
    }
    return render(request, "accounts/privacy.html", context, status=status)


# --- Export ---------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def exports(request: HttpRequest) -> HttpResponse:
    user = _person(request)
    if request.method == "POST":
        request_export(user)
        messages.success(
            request, "Your export is being built. This page updates itself until it is ready."
        )
        return redirect("accounts:exports")
    rows = list(user.data_exports.all())
    context = {
        "exports": [{"row": row, "expired": own_data.is_expired(row)} for row in rows],
        "building": any(row.status in UNFINISHED for row in rows),
        "ttl_h": settings.EXPORT_TTL_H,
    }
    return render(request, "accounts/exports.html", context)


@login_required
@require_GET
def export_download(request: HttpRequest, pk: int) -> HttpResponseBase:
    try:
        return own_data.download(_person(request), pk)
    except own_data.ExportGone:
        return render(request, "accounts/export_gone.html", status=410)


# --- Erasure --------------------------------------------------------------------------------


def _history_summary(user: User, item_ids: list[int]) -> dict[int, list[str]]:
    """What the person did with each item, for the erase list ("rated 4.0", "played 3 times")."""
    done: dict[int, list[str]] = {pk: [] for pk in item_ids}
    for item_id, value in Rating.objects.filter(user=user, item_id__in=item_ids).values_list(
        "item_id", "value"
    ):
        done[item_id].append(f"rated {value}")
    plays: dict[int, int] = {}
    for item_id, count in Play.objects.filter(user=user, item_id__in=item_ids).values_list(
        "item_id", "play_count"
    ):
        plays[item_id] = plays.get(item_id, 0) + count
    for item_id, count in plays.items():
        done[item_id].append("played once" if count == 1 else f"played {count} times")
    for item_id in Review.objects.filter(user=user, item_id__in=item_ids).values_list(
        "item_id", flat=True
    ):
        done[item_id].append("reviewed")
    return done


@login_required
@require_http_methods(["GET", "POST"])
def erase_items(request: HttpRequest) -> HttpResponse:
    """A list of items with history, ticked; then a confirmation page; then the erasure."""
    user = _person(request)
    has_history = own_data.items_with_history(user)
    if request.method == "POST":
        form = ChosenItemsForm(request.POST, has_history=has_history)
        if form.is_valid():
            ids = form.cleaned_data["items"]
            if request.POST.get("confirm") == "yes":
                erasure = erase_history(user, item_ids=ids)
                # This request's session was read before the erasure and may be saved after.
                sessions.drop_paused_plays(request.session, ids)
                messages.success(
                    request,
                    f"Erased your history of {len(ids)} item{'s' if len(ids) != 1 else ''}: "
                    f"{erasure.rows_deleted} row{'s' if erasure.rows_deleted != 1 else ''} "
                    "deleted.",
                )
                return redirect("accounts:privacy")
            chosen = list(has_history.filter(pk__in=ids).order_by("title", "pk"))
            return render(request, "accounts/erase_items_confirm.html", {"items": chosen})
        status = 400
    else:
        form = ChosenItemsForm(has_history=has_history)
        status = 200
    page = Paginator(has_history.order_by("title", "pk"), ERASE_ITEMS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    summary = _history_summary(user, [item.pk for item in page.object_list])
    context = {
        "form": form,
        "page_obj": page,
        "entries": [{"item": item, "done": summary[item.pk]} for item in page.object_list],
    }
    return render(request, "accounts/erase_items.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def erase_all_history(request: HttpRequest) -> HttpResponse:
    user = _person(request)
    status = 200
    if request.method == "POST":
        if request.POST.get("confirm") == "yes":
            erasure = erase_history(user)
            sessions.drop_paused_plays(request.session, None)
            messages.success(
                request,
                f"Erased all your history: {erasure.rows_deleted} "
                f"row{'s' if erasure.rows_deleted != 1 else ''} deleted.",
            )
            return redirect("accounts:privacy")
        status = 400
    counts = {
        "ratings": Rating.objects.filter(user=user).count(),
        "plays": Play.objects.filter(user=user).count(),
        "reviews": Review.objects.filter(user=user).count(),
    }
    return render(
        request,
        "accounts/erase_history_confirm.html",
        {"counts": counts, "unconfirmed": status == 400},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def erase_whole_account(request: HttpRequest) -> HttpResponse:
    user = _person(request)
    if request.method == "POST":
        form = ConfirmAccountErasureForm(request.POST, user=user)
        if form.is_valid():
            erase_account(user)
            # Every recorded session of the person is gone already; this one is ended too,
            # with a fresh key, so the browser is plainly logged out.
            logout(request)
            return redirect("accounts:goodbye")
        status = 400
    else:
        form = ConfirmAccountErasureForm(user=user)
        status = 200
    return render(request, "accounts/erase_account_confirm.html", {"form": form}, status=status)


@require_GET
def goodbye(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/erase_goodbye.html")
