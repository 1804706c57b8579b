"""People, their privacy settings and the record of every change to them."""

from __future__ import annotations

import os

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.files.storage import FileSystemStorage
from django.db import models


class User(AbstractUser):
    # Accounts created by an importer stand for a source's anonymous users ("movielens:17");
    # they cannot log in (unusable password) but their history trains the models.
    imported_from = models.CharField(max_length=32, blank=True, db_index=True)
    imported_id = models.CharField(max_length=64, blank=True)

    class Meta:
        permissions = [
            ("view_personal_data", "Can view a person's raw history, reviews and exports"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["imported_from", "imported_id"],
                condition=~models.Q(imported_from=""),
                name="user_unique_import_source_id",
            ),
        ]

    @property
    def privacy(self) -> PrivacySettings:
        """The person's settings, created with the defaults on first use."""
        try:
            return self.privacy_settings
        except PrivacySettings.DoesNotExist:
            privacy, _ = PrivacySettings.objects.get_or_create(user=self)
            self.privacy_settings = privacy
            return privacy


class ReviewVisibility(models.TextChoices):
    PUBLIC = "public", "Public, with my name"
    ANONYMOUS = "anonymous", "Public, anonymously"
    PRIVATE = "private", "Private"


class ListStyle(models.TextChoices):
    FAMILIAR = "familiar", "More of what I like"
    SURPRISE = "surprise", "Surprise me"


class PrivacySettings(models.Model):
    """What Encore may store about a person and use to train and personalise."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="privacy_settings"
    )
    personalised = models.BooleanField(
        default=True, help_text="Compute and show recommendations from my history."
    )
    history_paused = models.BooleanField(
        default=False, help_text="Do not store plays, ratings or reviews while paused."
    )
    # Plays and ratings are what the service runs on (a legitimate interest, one click to
    # refuse). Review text can say far more about a person, so it trains nothing until they
    # opt in.
    train_on_plays = models.BooleanField(default=True)
    train_on_ratings = models.BooleanField(default=True)
    train_on_reviews = models.BooleanField(default=False)
    review_visibility = models.CharField(
        max_length=12, choices=ReviewVisibility.choices, default=ReviewVisibility.ANONYMOUS
    )
    measure_recommendations = models.BooleanField(
        default=True, help_text="Use what I'm shown to measure recommendations."
    )
    list_style = models.CharField(
        max_length=8, choices=ListStyle.choices, default=ListStyle.FAMILIAR
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "privacy settings"

    def __str__(self) -> str:
        return f"Privacy settings of {self.user}"


class SettingChange(models.Model):
    """One change of one privacy setting, shown back to the person."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="setting_changes"
    )
    setting = models.CharField(max_length=64)
    old_value = models.CharField(max_length=64)
    new_value = models.CharField(max_length=64)
    changed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.user}: {self.setting} {self.old_value} → {self.new_value}"


class LoginSession(models.Model):
    """The session keys a person logged in with, so erasure can end every one of them."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_sessions"
    )
    session_key = models.CharField(max_length=40, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"session of {self.user_id}"


class ExportStorage(FileSystemStorage):
    """Exports are personal: kept under EXPORT_ROOT, outside MEDIA_ROOT (which is served
    publicly), and handed out only by the owner's download view.

    The folder is read from settings on each use rather than once at import, so a changed
    EXPORT_ROOT (tests, a management shell) is honoured like MEDIA_ROOT is for media.
    """

    @property
    def base_location(self) -> str:
        return str(settings.EXPORT_ROOT)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)


def _export_storage() -> FileSystemStorage:
    return ExportStorage()


class DataExport(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        BUILDING = "building", "Being built"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    archive = models.FileField(storage=_export_storage, upload_to="exports/", blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.user_id} ({self.status})"


class ErasureRequest(models.Model):
    """A person's erasure of part or all of their history, kept so the privacy page can show
    when the models stopped containing that data. An erased account leaves no such row."""

    class Scope(models.TextChoices):
        ITEMS = "items", "Chosen items"
        HISTORY = "history", "All history"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="erasures"
    )
    scope = models.CharField(max_length=8, choices=Scope.choices)
    rows_deleted = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField(auto_now_add=True)
    # Ids of the active model versions that held the data, and "run:<id>" for each training run
    # reading a snapshot that held it; emptied as each is replaced or ends.
    pending_versions = models.JSONField(default=list)
    models_clean_at = models.DateTimeField(null=True, blank=True)
    # Set when a version holding the data could not be retrained within
    # ERASURE_RETRAIN_WINDOW_H and was withdrawn instead (an earlier version or popular lists).
    models_withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return f"erasure {self.pk} ({self.scope}) of {self.user_id}"


class PersonalDataAccess(models.Model):
    """A staff member looked at a person's raw history, reviews or export (an audit trail).

    The trail outlives its author: erasing a staff member's account keeps their rows, with the
    name and id they had (the link itself goes, as the account does)."""

    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="personal_data_views",
    )
    staff_name = models.CharField(max_length=150, blank=True)
    staff_ref = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="personal_data_viewed",
    )
    what = models.CharField(max_length=200)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name_plural = "personal data accesses"

    def __str__(self) -> str:
        return f"{self.staff_name or self.staff_id} viewed {self.what}"
