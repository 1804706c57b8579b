"""factory-boy factories shared by every test package."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from entertainment.accounts.models import User
from entertainment.activity.models import Click, Impression, Play, Rating, Review
from entertainment.catalogue.models import Creator, Genre, Item, Kind


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"person{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


class StaffFactory(UserFactory):
    is_staff = True


class GenreFactory(factory.django.DjangoModelFactory[Genre]):
    class Meta:
        model = Genre
        django_get_or_create = ("kind", "slug")

    kind = Kind.FILM
    name = factory.Sequence(lambda n: f"Genre {n}")
    slug = factory.LazyAttribute(lambda g: g.name.lower().replace(" ", "-"))


class CreatorFactory(factory.django.DjangoModelFactory[Creator]):
    class Meta:
        model = Creator
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Creator {n}")


class ItemFactory(factory.django.DjangoModelFactory[Item]):
    class Meta:
        model = Item
        skip_postgeneration_save = True

    kind = Kind.FILM
    title = factory.Sequence(lambda n: f"Item {n}")
    year = 2001

    @factory.post_generation
    def genres(self, create: bool, extracted: list[Genre] | None, **kwargs: object) -> None:
        if create and extracted:
            self.genres.add(*extracted)


class RatingFactory(factory.django.DjangoModelFactory[Rating]):
    class Meta:
        model = Rating

    user = factory.SubFactory(UserFactory)
    item = factory.SubFactory(ItemFactory)
    value = Decimal("4.0")


class PlayFactory(factory.django.DjangoModelFactory[Play]):
    class Meta:
        model = Play

    user = factory.SubFactory(UserFactory)
    item = factory.SubFactory(ItemFactory)
    started_at = factory.LazyFunction(timezone.now)
    seconds_played = 120
    completed = True


class ReviewFactory(factory.django.DjangoModelFactory[Review]):
    class Meta:
        model = Review

    user = factory.SubFactory(UserFactory)
    item = factory.SubFactory(ItemFactory)
    text = "A wonderful, moving piece."
    rating = Decimal("4.5")


class ImpressionFactory(factory.django.DjangoModelFactory[Impression]):
    """An item shown to a person in a list (as a flush of the impression buffer writes it)."""

    class Meta:
        model = Impression

    user = factory.SubFactory(UserFactory)
    item = factory.SubFactory(ItemFactory)
    list = "for_you"
    kind = factory.LazyAttribute(lambda i: i.item.kind)
    model_version = "sequence-v1"
    rank = 1
    created_at = factory.LazyFunction(timezone.now)


class ClickFactory(factory.django.DjangoModelFactory[Click]):
    class Meta:
        model = Click

    user = factory.SubFactory(UserFactory)
    item = factory.SubFactory(ItemFactory)
    list = "for_you"
