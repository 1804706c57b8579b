from __future__ import annotations

from django import forms

from .models import Format


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Your export",
        allow_empty_file=True,
        help_text="A Letterboxd export (the ZIP, or diary.csv, ratings.csv, reviews.csv or "
        "watched.csv), IMDb's ratings CSV, Steam's GetOwnedGames JSON or a Playnite library "
        "JSON.",
    )
    format = forms.ChoiceField(
        label="Which export", choices=Format.choices, initial=Format.AUTO, required=False
    )

    def clean_format(self) -> str:
        return str(self.cleaned_data.get("format") or Format.AUTO)


class SearchForm(forms.Form):
    q = forms.CharField(label="Title to find", max_length=200, required=False)


class MatchForm(forms.Form):
    item = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
