"""People, their privacy settings and the record of every change to them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
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
    train_on_plays = models.BooleanField(default=True)
    train_on_ratings = models.BooleanField(default=True)
    train_on_reviews = models.BooleanField(default=True)
    review_visibility = models.CharField(
        max_length=12, choices=ReviewVisibility.choices, default=ReviewVisibility.ANONYMOUS
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
