"""What people do with items: rate, play, review.

Every row carries an optional client event id; a retried write with the same id is a no-op
(unique per person), which makes the API and bulk ingestion idempotent.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from entertainment.catalogue.models import Item

MIN_STARS = Decimal("0.5")
MAX_STARS = Decimal("5.0")


def validate_half_star(value: Decimal) -> None:
    if (Decimal(value) * 2) % 1 != 0:
        raise ValidationError("Ratings go in half stars: 0.5, 1.0, 1.5 ... 5.0.")


def star_field(**kwargs: object) -> models.DecimalField:
    return models.DecimalField(
        max_digits=2,
        decimal_places=1,
        validators=[MinValueValidator(MIN_STARS), MaxValueValidator(MAX_STARS), validate_half_star],
        **kwargs,  # type: ignore[arg-type]
    )


class Event(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    item = models.ForeignKey(Item, on_delete=models.CASCADE)
    # NULL, not "", so the per-person unique constraint ignores writes without an id.
    client_event_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True


class Rating(Event):
    value = star_field()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        default_related_name = "ratings"
        constraints = [
            models.UniqueConstraint(fields=["user", "item"], name="rating_one_per_item"),
            models.UniqueConstraint(
                fields=["user", "client_event_id"], name="rating_unique_event_id"
            ),
            models.CheckConstraint(
                condition=models.Q(value__gte=MIN_STARS, value__lte=MAX_STARS),
                name="rating_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} rated {self.item}: {self.value}"


class Play(Event):
    """One play of an item, or, for imported counts without times, several (play_count)."""

    started_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty when the source gives no time (play counts)."
    )
    seconds_played = models.PositiveIntegerField(default=0)
    completed = models.BooleanField(default=False)
    play_count = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-started_at", "-pk"]
        default_related_name = "plays"
        # Held by service accounts that send bulk events on behalf of other people.
        permissions = [
            ("ingest_for_others", "Can send bulk activity events on behalf of other people"),
        ]
        indexes = [models.Index(fields=["user", "started_at"], name="play_user_started")]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_event_id"], name="play_unique_event_id"
            ),
            models.CheckConstraint(
                condition=models.Q(play_count__gte=1), name="play_count_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} played {self.item}"


class Sentiment(models.TextChoices):
    POSITIVE = "positive", "Positive"
    NEGATIVE = "negative", "Negative"


class Review(Event):
    text = models.TextField(max_length=10_000)
    rating = star_field(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Filled by the sentiment model after the review is written.
    sentiment_score = models.FloatField(null=True, blank=True)
    sentiment = models.CharField(max_length=8, choices=Sentiment.choices, blank=True)
    sentiment_model_version = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        default_related_name = "reviews"
        constraints = [
            models.UniqueConstraint(fields=["user", "item"], name="review_one_per_item"),
            models.UniqueConstraint(
                fields=["user", "client_event_id"], name="review_unique_event_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} reviewed {self.item}"


class ListName(models.TextChoices):
    """The recommendation lists an impression can come from."""

    FOR_YOU = "for_you", "For you"
    UP_NEXT = "up_next", "Up next"
    SIMILAR = "similar", "Looks similar"
    FANS_ALSO_PLAYED = "fans_also_played", "Fans also played"
    POPULAR = "popular", "Popular"
    API = "api", "API"


class Impression(Event):
    """One item shown to a person in one list, and what came of it within the window.

    The outcome times are filled in when the person clicks through, plays, rates it 4 or
    more, or reviews it, attributed to the latest impression of that item before the event.
    Raw rows expire; recommender keeps daily aggregates.
    """

    # When the item was shown, which the batch that writes the row a minute later carries.
    created_at = models.DateTimeField(default=timezone.now)
    list = models.CharField(max_length=20, choices=ListName.choices)
    kind = models.CharField(max_length=8, help_text="The item kind the list was made for.")
    model_version = models.CharField(max_length=40, blank=True)
    rank = models.PositiveSmallIntegerField()
    # An experiment's id and arm (no foreign key: activity does not import recommender).
    experiment_id = models.PositiveIntegerField(null=True, blank=True)
    arm = models.CharField(max_length=1, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    played_at = models.DateTimeField(null=True, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        default_related_name = "impressions"
        indexes = [
            models.Index(fields=["user", "item", "created_at"], name="impression_user_item"),
            models.Index(fields=["created_at"], name="impression_created"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_event_id"], name="impression_unique_event_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} was shown {self.item} in {self.list} at {self.rank}"


class Click(Event):
    """A click through from a list to an item (the page's link, or a client's report)."""

    list = models.CharField(max_length=20, choices=ListName.choices, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        default_related_name = "clicks"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_event_id"], name="click_unique_event_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} clicked {self.item}"


class Dismissal(Event):
    """ "Not for me": the item leaves the person's lists and counts as negative feedback."""

    class Meta:
        ordering = ["-created_at", "-pk"]
        default_related_name = "dismissals"
        constraints = [
            models.UniqueConstraint(fields=["user", "item"], name="dismissal_one_per_item"),
            models.UniqueConstraint(
                fields=["user", "client_event_id"], name="dismissal_unique_event_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} dismissed {self.item}"
