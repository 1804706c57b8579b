"""Fields that take only the type the schema gives them.

DRF's CharField takes a number (0 becomes "0"), its BooleanField takes 1, "yes" or "on", and
its IntegerField, like Django's form field, takes "12.0" or 12.0 for 12; the schema says
string, boolean and integer, so a client generated from it must be able to count on a number
being refused where a string is due, on a consent being given by `true` and nothing else,
and on an id or a year being a whole number as written.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db import models
from rest_framework import serializers

# An integer as JSON or a query string writes it.
_WHOLE = re.compile(r"-?[0-9]+")


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class StrictIntegerField(serializers.IntegerField):
    """In a JSON body: a JSON integer, not "1", 1.0 or true."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class QueryIntegerField(serializers.IntegerField):
    """In a query string: digits, not "10.0"."""

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str) or not _WHOLE.fullmatch(data.strip()):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class WholeNumberFormField(forms.IntegerField):
    """For django-filter's filters: digits only, where Django takes "12.0" for 12."""

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str) and value.strip() and not _WHOLE.fullmatch(value.strip()):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        result: int | None = super().to_python(value)
        return result


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


# For a ModelSerializer's `serializer_field_mapping`: its text and boolean model fields strict.
STRICT_FIELD_MAPPING = {
    **serializers.ModelSerializer.serializer_field_mapping,
    models.CharField: StrictCharField,
    models.TextField: StrictCharField,
    models.BooleanField: StrictBooleanField,
}
