"""The staff dashboard: training runs, model versions, the metric chart, queues and workers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from entertainment.accounts.models import User

from . import dashboard, staff_actions
from .models import ModelKind, ModelVersion

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Anonymous people are sent to log in; signed-in people who are not staff get a 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (user.is_active and user.is_staff):
            raise PermissionDenied("Staff only.")
        return view(request, *args, **kwargs)

    return wrapped


class TrainForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[(kind, kind) for kind in staff_actions.TRAIN_CHOICES],
        error_messages={"invalid_choice": "Unknown model kind %(value)s."},
    )


def _page(request: HttpRequest, status: int = 200) -> HttpResponse:
    context = {
        "runs": dashboard.progress_payload()["runs"],
        "panels": dashboard.kind_panels(),
        "chart_data": dashboard.metric_series(),
        "queues": dashboard.queue_lengths(),
        "workers": dashboard.workers(),
        "training_counts": dashboard.training_data_counts(),
        "recommendation_counts": dashboard.people_warmed(),
        "min_group": settings.PRIVACY_MIN_GROUP_SIZE,
    }
    return render(request, "recommender/dashboard.html", context, status=status)


@require_GET
@never_cache
@staff_required
def dashboard_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_GET
@never_cache
@staff_required
def progress(request: HttpRequest) -> JsonResponse:
    """Polled every two seconds by the page's script."""
    return JsonResponse(dashboard.progress_payload())


def _staff_user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


@require_POST
@staff_required
def train_now(request: HttpRequest) -> HttpResponse:
    form = TrainForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("kind", ["Choose a model kind."]):
            messages.error(request, str(error))
        return _page(request, status=400)
    for started in staff_actions.start_training(form.cleaned_data["kind"], _staff_user(request)):
        run = started.run
        if started.new:
            messages.success(request, f"Queued {run.get_kind_display()} training (run {run.pk}).")
        else:
            messages.info(
                request,
                f"{run.get_kind_display()} is already training (run {run.pk}, "
                f"{run.get_status_display().lower()}); no second run was started.",
            )
    return redirect("staff:dashboard")


def _activated(request: HttpRequest, action: Callable[[], ModelVersion], done: str) -> None:
    try:
        version = action()
    except staff_actions.ActivationRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done.format(version=version.label))


@require_POST
@staff_required
def activate(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_object_or_404(ModelVersion, pk=pk)
    _activated(
        request,
        lambda: staff_actions.activate_version(version),
        "{version} is now active; recommendations are being refreshed.",
    )
    return redirect("staff:dashboard")


@require_POST
@staff_required
def roll_back(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in ModelKind.values:
        raise Http404("No such model kind.")
    _activated(
        request,
        lambda: staff_actions.roll_back(kind),
        "Rolled back: {version} is active again; recommendations are being refreshed.",
    )
    return redirect("staff:dashboard")
