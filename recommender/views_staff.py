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

from . import dashboard, experiments, staff_actions
from .models import Experiment, ModelKind, ModelVersion

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
        **_experiments_context(request),
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


# --- Online experiments (templates/recommender/_experiments.html) ----------------------------


class ExperimentForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=ModelKind.choices, initial=ModelKind.SEQUENCE)
    version_a = forms.ModelChoiceField(queryset=ModelVersion.objects.all(), label="Arm A")
    # Empty: arm B sees the popular lists.
    version_b = forms.ModelChoiceField(
        queryset=ModelVersion.objects.all(), required=False, label="Arm B"
    )
    share = forms.FloatField(label="Share in arm B", initial=0.5)


def _experiments_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "experiments": experiments.rows(),
        "experiment_versions": experiments.version_choices(),
        "experiment_min_people": settings.EXPERIMENT_MIN_PEOPLE,
    }


@require_POST
@staff_required
def experiment_start(request: HttpRequest) -> HttpResponse:
    form = ExperimentForm(request.POST)
    if not form.is_valid():
        for field_name, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{form.fields[field_name].label or field_name}: {error}")
        return _page(request, status=400)
    data = form.cleaned_data
    try:
        experiment = experiments.start(
            data["name"],
            data["kind"],
            data["version_a"],
            data["version_b"],
            data["share"],
            _staff_user(request),
        )
    except experiments.Refused as exc:
        for refusals in exc.errors.values():
            for refusal in refusals:
                messages.error(request, refusal)
        return _page(request, status=400)
    b = experiment.version_b.label if experiment.version_b else "the popular lists"
    messages.success(
        request,
        f"Started experiment “{experiment.name}”: {experiment.version_a.label} against {b}, "
        f"{experiment.share:.0%} of people in arm B.",
    )
    return redirect("staff:dashboard")


@require_POST
@staff_required
def experiment_stop(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    try:
        experiment = experiments.stop(experiment)
    except experiments.Refused as exc:
        messages.error(request, str(exc))
    else:
        verdict = f"arm {experiment.winner.upper()} won" if experiment.winner else "no winner"
        messages.success(request, f"Stopped experiment “{experiment.name}”: {verdict}.")
    return redirect("staff:dashboard")


@require_POST
@staff_required
def experiment_activate(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    try:
        version = experiments.activate_winner(experiment)
    except (experiments.Refused, staff_actions.ActivationRefused) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, f"{version.label} is now active; recommendations are being refreshed."
        )
    return redirect("staff:dashboard")
