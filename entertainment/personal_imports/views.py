"""Pages: upload an export, watch it import, match or skip the titles left over."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from entertainment.accounts.models import User
from entertainment.catalogue.models import Item

from . import importing
from .forms import MatchForm, SearchForm, UploadForm
from .models import PersonalImport, UnmatchedRow


def _person(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required
    return user


@login_required
@require_http_methods(["GET", "POST"])
def imports(request: HttpRequest) -> HttpResponse:
    user = _person(request)
    status = 200
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = importing.start_import(
                    user, form.cleaned_data["file"], form.cleaned_data["format"]
                )
            except importing.HistoryPaused as exc:
                form.add_error(None, str(exc))
            except importing.UploadTooLarge as exc:
                form.add_error("file", str(exc))
            else:
                messages.success(request, f"Importing {job.filename}. This page follows it.")
                return redirect("personal_imports:detail", pk=job.pk)
        status = 400
    else:
        form = UploadForm()
    jobs = PersonalImport.objects.filter(user=user).defer("upload")
    return render(
        request,
        "personal_imports/imports.html",
        {"form": form, "imports": jobs, "paused": user.privacy.history_paused},
        status=status,
    )


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(PersonalImport.objects.defer("upload"), pk=pk, user=_person(request))
    rows = list(job.unmatched_rows.select_related("item"))
    context = {
        "job": job,
        "open_rows": [row for row in rows if row.status == UnmatchedRow.Status.OPEN],
        "resolved_rows": [row for row in rows if row.status != UnmatchedRow.Status.OPEN],
    }
    return render(request, "personal_imports/detail.html", context)


def _row(request: HttpRequest, pk: int, row: int) -> UnmatchedRow:
    return get_object_or_404(
        UnmatchedRow.objects.select_related("personal_import"),
        personal_import__pk=pk,
        number=row,
        user=_person(request),
    )


@login_required
@require_http_methods(["GET", "POST"])
def match(request: HttpRequest, pk: int, row: int) -> HttpResponse:
    unmatched = _row(request, pk, row)
    if request.method == "POST":
        form = MatchForm(request.POST)
        item = (
            Item.objects.filter(pk=form.cleaned_data["item"]).first() if form.is_valid() else None
        )
        if item is None:
            messages.error(request, "Choose an item from the catalogue.")
            return redirect("personal_imports:match", pk=pk, row=row)
        try:
            importing.match_row(_person(request), unmatched, item)
        except (importing.HistoryPaused, importing.AlreadyResolved) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Matched “{unmatched.title}” to {item}.")
        return redirect("personal_imports:detail", pk=pk)
    search = SearchForm(request.GET or {"q": unmatched.title})
    text = search.cleaned_data["q"] if search.is_valid() else unmatched.title
    context = {
        "row": unmatched,
        "job": unmatched.personal_import,
        "search": search,
        "results": importing.search_items(unmatched, text),
    }
    return render(request, "personal_imports/match.html", context)


@login_required
@require_POST
def skip(request: HttpRequest, pk: int, row: int) -> HttpResponse:
    unmatched = _row(request, pk, row)
    try:
        importing.skip_row(_person(request), unmatched)
    except importing.AlreadyResolved as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Skipped “{unmatched.title}”.")
    return redirect("personal_imports:detail", pk=pk)
