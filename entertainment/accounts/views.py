"""Sign-up, log-in, log-out and password change pages, on Django's auth views.

Log-in goes through Django's LoginView, which passes the request to `authenticate`, so
django-axes sees every attempt and locks a username and address pair after repeated failures.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.messages.views import SuccessMessageMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET

from .forms import SignUpForm

# Axes sits in front of ModelBackend; a new account is logged in straight through the latter.
SIGN_UP_BACKEND = "django.contrib.auth.backends.ModelBackend"


def sign_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.method == "POST":
        form = SignUpForm(request.POST)
        if form.is_valid():
            user = form.save()
            login(request, user, backend=SIGN_UP_BACKEND)
            messages.success(request, f"Welcome to Encore, {user.get_username()}!")
            return redirect(next_url or "home")
        status = 400
    else:
        form = SignUpForm()
        status = 200
    return render(request, "accounts/signup.html", {"form": form, "next": next_url}, status=status)


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """POST only (Django's own rule since 5.0): a link or an image cannot log anyone out."""


class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:account")
    success_message = "Your password has been changed."

    def form_invalid(self, form: Any) -> HttpResponse:
        response = super().form_invalid(form)
        response.status_code = 400
        return response


@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/account.html")
