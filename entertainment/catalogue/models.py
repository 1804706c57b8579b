"""Films, music and games in one item table, with genres, creators and external ids."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db import models
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.text import slugify

from . import artwork as artwork_files


class Kind(models.TextChoices):
    FILM = "film", "Film"
    MUSIC = "music", "Music"
    GAME = "game", "Game"


class MusicType(models.TextChoices):
    TRACK = "track", "Track"
    ALBUM = "album", "Album"
    ARTIST = "artist", "Artist"


class Genre(models.Model):
    """A genre in the vocabulary of one kind ("Drama" for films is not "Drama" for games)."""

    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=110)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "slug"], name="genre_unique_slug_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self.slug:
            self.slug = slugify(self.name)[:110] or "genre"
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Creator(models.Model):
    """A person or organisation credited on items: director, actor, artist, studio."""

    name = models.CharField(max_length=255, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ItemQuerySet(models.QuerySet["Item"]):
    def of_kind(self, kind: str) -> ItemQuerySet:
        return self.filter(kind=kind)

    def search(self, text: str) -> ItemQuerySet:
        text = text.strip()
        if not text:
            return self
        return self.filter(
            Q(title__icontains=text) | Q(credits__creator__name__icontains=text)
        ).distinct()

    def with_activity_counts(self) -> ItemQuerySet:
        # Subqueries, not joins: three joined one-to-many tables would multiply the counts.
        from django.db.models import OuterRef, Subquery
        from django.db.models.functions import Coalesce

        def count_of(model_name: str) -> Coalesce:
            from django.apps import apps

            model = apps.get_model("activity", model_name)
            sub = (
                model.objects.filter(item=OuterRef("pk"))
                .order_by()
                .values("item")
                .annotate(n=Count("pk"))
                .values("n")
            )
            return Coalesce(Subquery(sub), 0)

        return self.annotate(
            rating_count=count_of("Rating"),
            play_count=count_of("Play"),
            review_count=count_of("Review"),
        )


class Item(models.Model):
    """One film, piece of music (track, album or artist) or game."""

    kind = models.CharField(max_length=8, choices=Kind.choices)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    genres = models.ManyToManyField(Genre, blank=True, related_name="items")
    creators = models.ManyToManyField(Creator, through="Credit", related_name="items")

    # Film.
    runtime_minutes = models.PositiveSmallIntegerField(null=True, blank=True)
    # Music: a track belongs to an album, an album to an artist (the parent item).
    music_type = models.CharField(max_length=8, choices=MusicType.choices, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    position = models.PositiveIntegerField(
        null=True, blank=True, help_text="Track number in its album, episode in its series."
    )
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Game.
    platforms = models.JSONField(default=list, blank=True)

    artwork = artwork_files.ArtworkField(upload_to="artwork/%Y/%m/", blank=True)
    # Derived from `artwork` on every change (see artwork.refresh_thumbnail); never uploaded.
    artwork_thumbnail = models.ImageField(
        upload_to="artwork/thumbs/%Y/%m/", blank=True, editable=False
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ItemQuerySet.as_manager()

    class Meta:
        ordering = ["title", "pk"]
        indexes = [
            models.Index(fields=["kind", "title"], name="item_kind_title"),
            models.Index(fields=["kind", "year"], name="item_kind_year"),
            models.Index(fields=["kind", "-created_at"], name="item_kind_created"),
        ]

    # The artwork name as last read from or written to the database: a change regenerates
    # the thumbnail.
    _stored_artwork: str = ""

    def __str__(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        artwork_changed = artwork_files.prepare_for_save(self)
        super().save(*args, **kwargs)
        if artwork_changed:
            artwork_files.refresh_thumbnail(self)
        self._stored_artwork = self.artwork.name or ""

    def get_absolute_url(self) -> str:
        return reverse("catalogue:item", kwargs={"pk": self.pk})

    @classmethod
    def from_db(
        cls, db: str | None, field_names: Collection[str], values: Collection[Any], **kwargs: Any
    ) -> Item:
        instance = super().from_db(db, field_names, values, **kwargs)
        if "artwork" in instance.__dict__:
            instance._stored_artwork = instance.artwork.name or ""
        return instance

    def credited(self, role: str) -> list[Creator]:
        """Creators in one role, in billing order (uses prefetched credits when present)."""
        credits = sorted((c for c in self.credits.all() if c.role == role), key=lambda c: c.order)
        return [c.creator for c in credits]


class Credit(models.Model):
    class Role(models.TextChoices):
        DIRECTOR = "director", "Director"
        CAST = "cast", "Cast"
        ARTIST = "artist", "Artist"
        DEVELOPER = "developer", "Developer"
        PUBLISHER = "publisher", "Publisher"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="credits")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="credits")
    role = models.CharField(max_length=16, choices=Role.choices)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["item", "role", "order"]
        constraints = [
            models.UniqueConstraint(fields=["item", "creator", "role"], name="credit_unique_role"),
        ]

    def __str__(self) -> str:
        return f"{self.creator} ({self.role}) on {self.item}"


class ExternalId(models.Model):
    """An item's id in another catalogue; importers find items again by it."""

    class Source(models.TextChoices):
        MOVIELENS = "movielens", "MovieLens"
        IMDB = "imdb", "IMDb"
        TMDB = "tmdb", "TMDb"
        LASTFM = "lastfm", "Last.fm"
        STEAM = "steam", "Steam"
        DEMO = "demo", "Demo world"
        # Recording, release and artist ids (UUIDs, unique across MusicBrainz entity types).
        MUSICBRAINZ = "musicbrainz", "MusicBrainz"
        # Items first seen in a listen or a Plex webhook (entertainment.scrobbling).
        LISTENBRAINZ = "listenbrainz", "ListenBrainz"
        PLEX = "plex", "Plex"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="external_ids")
    source = models.CharField(max_length=16, choices=Source.choices)
    value = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "value"], name="external_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.value}"
