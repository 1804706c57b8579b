"""A person's import of an export from another service, and the rows it could not place.

Both are personal data: they are in the person's export and go with an erasure of their
history or account (receivers.py). The uploaded file is kept in the row, not on a disk, so a
`cpu` worker on another machine reads it; it is emptied once the import has run.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from entertainment.catalogue.models import Item, Kind


class Format(models.TextChoices):
    AUTO = "auto", "Tell from the file"
    LETTERBOXD = "letterboxd", "Letterboxd export (ZIP, or one of its CSV files)"
    IMDB = "imdb", "IMDb ratings (CSV)"
    STEAM = "steam", "Steam owned games (GetOwnedGames JSON)"
    PLAYNITE = "playnite", "Playnite library (JSON)"


SOURCE_NAMES: dict[str, str] = {
    Format.LETTERBOXD: "Letterboxd",
    Format.IMDB: "IMDb",
    Format.STEAM: "Steam",
    Format.PLAYNITE: "Playnite",
}


class PersonalImport(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_imports"
    )
    format = models.CharField(max_length=12, choices=Format.choices, default=Format.AUTO)
    filename = models.CharField(max_length=255)
    # The file as uploaded; NULL once the import has run (done or failed).
    upload = models.BinaryField(null=True, blank=True, editable=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # Counts once done: rows read, placed in the catalogue, listed for the person to match,
    # with nothing to record (a game never played); events stored, and already stored before.
    rows = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    unmatched = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    stored = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_format_display()} import {self.pk} of {self.user_id}"

    @property
    def source_name(self) -> str:
        """The service the file came from, once known ("Letterboxd")."""
        return SOURCE_NAMES.get(self.format, "")

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)


class UnmatchedRow(models.Model):
    """A title of an import that no catalogue item matched, with what to record once matched."""

    class Status(models.TextChoices):
        OPEN = "open", "To match"
        MATCHED = "matched", "Matched"
        SKIPPED = "skipped", "Skipped"

    personal_import = models.ForeignKey(
        PersonalImport, on_delete=models.CASCADE, related_name="unmatched_rows"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="unmatched_import_rows"
    )
    # 1, 2, 3 ... within its import: the {row} of the API's paths.
    number = models.PositiveIntegerField()
    # What identifies this title in its source (a digest), so a later import of the same file
    # lists it once and reuses a match the person made.
    key = models.CharField(max_length=40)
    source = models.CharField(max_length=300, help_text="Where in the file, e.g. diary.csv:12.")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    title = models.CharField(max_length=300)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    external_id = models.CharField(max_length=64, blank=True)
    # The activity to record once matched: bulk events without their item (activity.events).
    events = models.JSONField(default=list)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.SET_NULL)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["personal_import", "number"]
        indexes = [models.Index(fields=["user", "key"], name="unmatched_user_key")]
        constraints = [
            models.UniqueConstraint(
                fields=["personal_import", "number"], name="unmatched_number_per_import"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.year}) in import {self.personal_import_id}"

    def describe(self) -> str:
        """What the events would record, in words ("rated 4.5, watched 2 times")."""
        parts: list[str] = []
        plays = [e for e in self.events if e.get("type") == "play"]
        for event in self.events:
            if event.get("type") == "rating":
                parts.append(f"rated {event['value']}")
        if plays:
            count = sum(int(e.get("play_count", 1)) for e in plays)
            hours = sum(int(e.get("seconds_played", 0)) for e in plays) / 3600
            played = "played" if self.kind == Kind.GAME else "watched"
            parts.append(f"{played} {count} time{'s' if count != 1 else ''}")
            if hours >= 0.1:
                parts.append(f"{hours:.1f} hours")
        if any(e.get("type") == "review" for e in self.events):
            parts.append("reviewed")
        return ", ".join(parts)
