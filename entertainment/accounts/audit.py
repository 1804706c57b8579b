"""The audit trail of staff looking at a person's raw data in the admin.

Admins of personal data (ratings, plays, reviews, exports) take `AuditedPersonalDataAdmin`:
only staff holding `accounts.view_personal_data` get in, and every list or record they open
is written down as a PersonalDataAccess row, naming the person when one is in view.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from .models import PersonalDataAccess

PERSONAL_DATA = "accounts.view_personal_data"
WHAT_MAX = PersonalDataAccess._meta.get_field("what").max_length or 200


def may_see_personal_data(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.has_perm(PERSONAL_DATA))


def log_access(request: HttpRequest, what: str, subject_id: int | None) -> None:
    assert request.user.is_authenticated  # the admin lets no one else in
    PersonalDataAccess.objects.create(
        staff_id=request.user.pk,
        staff_name=request.user.get_username(),
        staff_ref=request.user.pk,
        subject_id=subject_id,
        what=what[:WHAT_MAX],
    )


class AuditedPersonalDataAdmin(admin.ModelAdmin):
    """Rows with a `user`: seen only with the permission, and each look is logged."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_see_personal_data(request) and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_see_personal_data(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return may_see_personal_data(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_see_personal_data(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_see_personal_data(request) and super().has_delete_permission(request, obj)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        if isinstance(response, TemplateResponse) and response.status_code == 200:
            changelist = (response.context_data or {}).get("cl")
            if changelist is not None:
                people = {row.user_id for row in changelist.result_list}
                query = request.GET.urlencode()
                log_access(
                    request,
                    f"{self.opts.verbose_name_plural} list" + (f" ?{query}" if query else ""),
                    people.pop() if len(people) == 1 else None,
                )
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if isinstance(response, TemplateResponse) and response.status_code == 200:
            shown = (response.context_data or {}).get("original")
            if shown is not None:
                log_access(request, f"{self.opts.verbose_name} {shown.pk}", shown.user_id)
        return response
