"""Forms of the privacy pages: the settings, and the confirmations before anything is erased."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from entertainment.catalogue.models import Item

from .models import ListStyle, PrivacySettings, ReviewVisibility, User
from .privacy import SETTINGS

# One plain sentence per control, shown beside it (and reused by the API's schema).
EXPLANATIONS = {
    "personalised": (
        "Off: you get the same lists as everyone; we delete the lists we computed for you."
    ),
    "history_paused": (
        "On: nothing you play, rate or review is stored until you resume; this browser still "
        "suggests what to play next from what you played in it."
    ),
    "train_on_plays": "Off: what you play is left out of every future training of our models.",
    "train_on_ratings": "Off: your ratings are left out of every future training of our models.",
    "train_on_reviews": (
        "Off: the words of your reviews are left out of every future training of our models."
    ),
    "review_visibility": (
        "Who sees your reviews on item pages: everyone with your name, everyone without it, "
        "or only you."
    ),
    "measure_recommendations": (
        "On: which suggestions you were shown, and whether you opened, played, rated or "
        "reviewed them within a week, are kept for 30 days and counted, with everyone's, to "
        "tell whether our suggestions work. Off: nothing is recorded and what was is deleted "
        "at once."
    ),
    "list_style": (
        "More of what I like: suggestions close to what you enjoy. Surprise me: more items "
        "off your beaten track."
    ),
}

LABELS = {
    "personalised": "Personalised recommendations",
    "history_paused": "Pause my history",
    "train_on_plays": "Learn from my plays",
    "train_on_ratings": "Learn from my ratings",
    "train_on_reviews": "Learn from my reviews",
    "review_visibility": "Who sees my reviews",
    "measure_recommendations": "Use what I'm shown to measure recommendations",
    "list_style": "My suggestions",
}

# How each choice setting's stored value is shown.
CHOICES = {"review_visibility": ReviewVisibility, "list_style": ListStyle}


def _switch(name: str) -> forms.BooleanField:
    return forms.BooleanField(label=LABELS[name], help_text=EXPLANATIONS[name], required=False)


class PrivacySettingsForm(forms.Form):
    personalised = _switch("personalised")
    history_paused = _switch("history_paused")
    train_on_plays = _switch("train_on_plays")
    train_on_ratings = _switch("train_on_ratings")
    train_on_reviews = _switch("train_on_reviews")
    review_visibility = forms.ChoiceField(
        label=LABELS["review_visibility"],
        help_text=EXPLANATIONS["review_visibility"],
        choices=ReviewVisibility.choices,
        widget=forms.RadioSelect,
    )
    measure_recommendations = _switch("measure_recommendations")
    list_style = forms.ChoiceField(
        label=LABELS["list_style"],
        help_text=EXPLANATIONS["list_style"],
        choices=ListStyle.choices,
        widget=forms.RadioSelect,
    )

    @classmethod
    def for_settings(cls, privacy: PrivacySettings, data: Any = None) -> PrivacySettingsForm:
        return cls(data, initial={name: getattr(privacy, name) for name in SETTINGS})


def describe(changes: dict[str, tuple[Any, Any]]) -> str:
    """ "Pause my history: on; Who sees my reviews: Private" for a success message."""
    parts = []
    for name, (_, new) in changes.items():
        on_off = "on" if new else "off"
        shown = on_off if isinstance(new, bool) else str(CHOICES[name](new).label)
        parts.append(f"{LABELS[name]}: {shown}")
    return "; ".join(parts)


# A page of the erase list holds fewer; this bounds a hand-made request.
MAX_ITEMS_PER_ERASURE = 500
# The largest id a bigint primary key holds: a larger one overflows the query (a 500).
MAX_ITEM_ID = 2**63 - 1


class ItemIdsField(forms.Field):
    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Tick at least one item to erase.",
        "invalid": "Item ids are whole numbers.",
        "too_many": f"Choose at most {MAX_ITEMS_PER_ERASURE} items at a time.",
    }

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        try:
            ids = sorted({int(v) for v in values})
        except (TypeError, ValueError):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if any(not 1 <= i <= MAX_ITEM_ID for i in ids):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if len(ids) > MAX_ITEMS_PER_ERASURE:
            raise forms.ValidationError(self.error_messages["too_many"], code="too_many")
        return ids


class ChosenItemsForm(forms.Form):
    """Item ids ticked on the erase-items list, carried to its confirmation."""

    items = ItemIdsField()

    def __init__(self, *args: Any, has_history: QuerySet[Item], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.has_history = has_history

    def clean_items(self) -> list[int]:
        ids: list[int] = self.cleaned_data["items"]
        known = set(self.has_history.filter(pk__in=ids).values_list("pk", flat=True))
        if known != set(ids):
            raise forms.ValidationError("Some of the chosen items are not in your history.")
        return ids


class ConfirmAccountErasureForm(forms.Form):
    confirm = forms.CharField(
        label="Type your username to confirm",
        max_length=150,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_confirm(self) -> str:
        typed: str = self.cleaned_data["confirm"]
        if typed != self.user.get_username():
            raise forms.ValidationError(
                "That is not your username: type it exactly to erase your account."
            )
        return typed
