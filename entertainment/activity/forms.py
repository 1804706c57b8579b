"""Forms behind the item page's rate, play and review controls."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from .models import MAX_STARS, MIN_STARS, Review


def _star_label(value: Decimal) -> str:
    whole, half = divmod(value, 1)
    stars = "★" * int(whole) + ("½" if half else "")
    return f"{value} {stars}"


STAR_CHOICES = [
    (str(value), _star_label(value))
    for value in (MIN_STARS + Decimal("0.5") * step for step in range(int(MAX_STARS * 2)))
]


class RatingForm(forms.Form):
    value = forms.TypedChoiceField(
        label="Your rating",
        choices=[("", "Choose stars"), *STAR_CHOICES],
        coerce=Decimal,
        help_text="From half a star to five stars.",
    )


class PlayForm(forms.Form):
    """A play that starts now; how long and whether it was finished are optional."""

    seconds_played = forms.IntegerField(
        label="Seconds played", required=False, min_value=0, max_value=7 * 24 * 3600
    )
    completed = forms.BooleanField(label="Played to the end", required=False)


class ReviewForm(forms.Form):
    text = forms.CharField(
        label="Your review",
        max_length=Review._meta.get_field("text").max_length,
        widget=forms.Textarea(attrs={"rows": 5}),
        strip=True,
    )
    rating = forms.TypedChoiceField(
        label="Stars with your review (optional)",
        choices=[("", "No stars"), *STAR_CHOICES],
        coerce=Decimal,
        empty_value=None,
        required=False,
    )
