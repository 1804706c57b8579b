"""Staff screens for people: imported accounts told apart, privacy settings seen, never changed."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpRequest

from .audit import AuditedPersonalDataAdmin
from .models import DataExport, PersonalDataAccess, PrivacySettings, SettingChange, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "is_staff", "is_active", "imported_from", "date_joined"]
    list_filter = [*DjangoUserAdmin.list_filter, "imported_from"]
    search_fields = [*DjangoUserAdmin.search_fields, "imported_id"]
    readonly_fields = ["imported_from", "imported_id", "last_login", "date_joined"]
    fieldsets = [
        *(DjangoUserAdmin.fieldsets or ()),
        ("Imported from", {"fields": ["imported_from", "imported_id"]}),
    ]
    show_full_result_count = False


class ReadOnlyAdmin(admin.ModelAdmin):
    """The person's own choices and their record: staff may look, not change."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PrivacySettings)
class PrivacySettingsAdmin(ReadOnlyAdmin):
    list_display = [
        "user",
        "personalised",
        "history_paused",
        "train_on_plays",
        "train_on_ratings",
        "train_on_reviews",
        "review_visibility",
        "updated_at",
    ]
    list_filter = ["personalised", "history_paused", "review_visibility"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]


@admin.register(SettingChange)
class SettingChangeAdmin(ReadOnlyAdmin):
    list_display = ["user", "setting", "old_value", "new_value", "changed_at"]
    list_filter = ["setting"]
    list_select_related = ["user"]
    search_fields = ["user__username", "setting"]
    raw_id_fields = ["user"]
    date_hierarchy = "changed_at"


@admin.register(DataExport)
class DataExportAdmin(AuditedPersonalDataAdmin):
    """A person's exports (not their contents: the archive is handed only to its owner)."""

    list_display = ["user", "status", "progress", "created_at", "finished_at", "expires_at"]
    list_filter = ["status"]
    list_select_related = ["user"]
    search_fields = ["user__username"]
    fields = ["user", "status", "progress", "error", "created_at", "finished_at", "expires_at"]
    readonly_fields = [
        "user",
        "status",
        "progress",
        "error",
        "created_at",
        "finished_at",
        "expires_at",
    ]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(admin.ModelAdmin):
    """Who looked at whose data: for superusers only, and nobody may alter the record."""

    list_display = ["at", "author", "subject", "what"]
    list_select_related = ["staff", "subject"]
    search_fields = ["staff_name", "subject__username", "what"]
    date_hierarchy = "at"
    fields = ["at", "author", "staff_ref", "subject", "what"]
    readonly_fields = ["at", "author", "staff_ref", "subject", "what"]
    show_full_result_count = False

    @admin.display(description="staff", ordering="staff_name")
    def author(self, row: PersonalDataAccess) -> str:
        # The name as it was when they looked: their account may be erased since.
        if row.staff_id is None:
            return f"{row.staff_name or '?'} (account erased)"
        return row.staff_name or str(row.staff)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
