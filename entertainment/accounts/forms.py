"""Sign-up form: a username, an optional e-mail address and a password typed twice."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm

from .models import User


class SignUpForm(UserCreationForm):
    email = forms.EmailField(
        label="E-mail address (optional)",
        required=False,
        help_text="Only used to help you get back into your account.",
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")
