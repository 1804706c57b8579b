"""`manage.py seed_demo`: a deterministic, idempotent demo world with structure models can learn."""

from __future__ import annotations

import hashlib
import io
import itertools
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from entertainment.accounts.models import User
from entertainment.activity.models import Play, Rating, Review
from entertainment.catalogue.demo.artwork import render_canvas
from entertainment.catalogue.demo.reviews import (
    NEGATIVE_WORDS,
    PAN_WORDS,
    POSITIVE_WORDS,
    RAVE_WORDS,
)
from entertainment.catalogue.demo.world import DemoPerson, DemoWorld, build_world
from entertainment.catalogue.models import ExternalId, Genre, Item
from tests.factories import UserFactory

SMALL = ["--people", "8", "--items-per-kind", "3"]


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *SMALL, *args, stdout=out)
    return out.getvalue()


def digest() -> str:
    """Everything a seed decides, as one hash: items, artwork bytes, people and their history."""
    h = hashlib.sha256()
    ids = ExternalId.objects.filter(source="demo").select_related("item").order_by("value")
    key_of = {}
    for ext in ids:
        item = ext.item
        key_of[item.pk] = ext.value
        genres = sorted(item.genres.values_list("name", flat=True))
        credits = list(item.credits.order_by("role", "order").values_list("role", "creator__name"))
        h.update(repr((ext.value, item.title, item.year, item.position, genres, credits)).encode())
        if item.artwork:
            with item.artwork.open("rb") as cover:
                h.update(cover.read())
    people = {u.pk: u.imported_id for u in User.objects.filter(imported_from="demo")}
    for model, fields in (
        (Play, ("started_at", "seconds_played", "completed")),
        (Rating, ("value", "created_at")),
        (Review, ("text", "rating", "created_at")),
    ):
        rows = model.objects.filter(user_id__in=people).values_list(
            "user_id", "item_id", "client_event_id", *fields
        )
        h.update(repr(sorted((people[u], key_of[i], e, *rest) for u, i, e, *rest in rows)).encode())
    return h.hexdigest()


def counts() -> tuple[int, ...]:
    return (
        Item.objects.count(),
        User.objects.count(),
        Play.objects.count(),
        Rating.objects.count(),
        Review.objects.count(),
        Genre.objects.count(),
    )


# --- The command --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_same_seed_gives_the_same_world_and_another_seed_another():
    seed("--seed", "5")
    first = digest()
    assert Play.objects.exists() and Rating.objects.exists() and Review.objects.exists()

    seed("--seed", "5", "--replace")
    assert digest() == first

    seed("--seed", "6", "--replace")
    assert digest() != first


@pytest.mark.django_db
def test_rerun_adds_nothing_and_if_empty_skips():
    seed()
    before = counts()
    output = seed()
    assert counts() == before
    assert "added 0 items, 0 people, 0 plays, 0 ratings and 0 reviews" in output

    output = seed("--if-empty", "--seed", "99")
    assert "already loaded" in output
    assert counts() == before


@pytest.mark.django_db
def test_another_world_is_only_loaded_in_place_of_the_first():
    seed("--seed", "1")
    with pytest.raises(CommandError, match="--replace"):
        seed("--seed", "2")
    seed("--seed", "2", "--replace")
    values = ExternalId.objects.filter(source="demo").values_list("value", flat=True)
    assert {v.split(":")[0] for v in values} == {"s2-p8-i3"}


@pytest.mark.django_db
def test_a_failed_replace_keeps_the_loaded_world_and_leaves_no_files(settings):
    seed("--seed", "1")
    before = digest()
    taken = build_world(2, 8, 3).people[0].username
    UserFactory(username=taken)
    with pytest.raises(CommandError, match=taken):
        seed("--seed", "2", "--replace")
    assert digest() == before
    media = Path(settings.MEDIA_ROOT)
    stored = {str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()}
    named = {
        name
        for pair in Item.objects.values_list("artwork", "artwork_thumbnail")
        for name in pair
        if name
    }
    assert stored == named


@pytest.mark.django_db
def test_no_artwork_stores_no_files(settings):
    seed("--no-artwork")
    assert Item.objects.exists() and not Item.objects.exclude(artwork="").exists()
    assert not any(p.is_file() for p in Path(settings.MEDIA_ROOT).rglob("*"))


@pytest.mark.django_db
def test_bad_sizes_are_refused():
    with pytest.raises(CommandError, match="at least 1"):
        call_command("seed_demo", "--people", "0")
    with pytest.raises(CommandError, match="whole number"):
        call_command("seed_demo", "--items-per-kind", "many")


@pytest.mark.django_db
def test_catalogue_has_every_kind_with_artwork_series_and_albums_in_order():
    seed()
    for kind in ("film", "music", "game"):
        assert Item.objects.filter(kind=kind).exists()
        assert Genre.objects.filter(kind=kind).count() >= 6
    film = Item.objects.filter(kind="film").first()
    assert film.runtime_minutes and film.credited("director") and film.credited("cast")
    game = Item.objects.filter(kind="game").first()
    assert game.platforms and game.credited("developer")

    album = Item.objects.filter(music_type="album").first()
    assert album.parent.music_type == "artist"
    tracks = list(album.children.order_by("position"))
    assert [t.position for t in tracks] == list(range(1, len(tracks) + 1))
    assert all(t.music_type == "track" and t.duration_seconds for t in tracks)

    for item in Item.objects.exclude(music_type="track"):
        assert item.artwork and item.artwork_thumbnail, item
        with item.artwork.open("rb") as cover, Image.open(cover) as image:
            assert image.format == "PNG" and image.size == (256, 256)
    # Tracks show their album's cover.
    assert {t.artwork.name for t in tracks} == {album.artwork.name}

    rating = Rating.objects.filter(item__music_type="").order_by("created_at").first()
    plays = Play.objects.filter(user=rating.user, item=rating.item).order_by("started_at")
    # Rated after playing it, at a time in the world's past, not when the seed ran.
    assert plays[0].started_at is not None
    assert rating.created_at >= plays[0].started_at
    assert rating.created_at.year == 2025


@pytest.mark.django_db
def test_log_in_accounts_need_debug(settings):
    settings.DEBUG = False
    output = seed()
    assert "DEBUG" in output
    assert not User.objects.filter(username__in=["demo", "staff"]).exists()


@pytest.mark.django_db
def test_log_in_accounts_with_debug(settings):
    settings.DEBUG = True
    output = seed()
    demo = User.objects.get(username="demo")
    staff = User.objects.get(username="staff")
    assert demo.check_password("encore-demo") and staff.check_password("encore-demo")
    assert staff.is_superuser and staff.is_staff and not demo.is_staff
    assert Play.objects.filter(user=demo).count() > 10
    assert "demo / encore-demo" in output and "staff / encore-demo" in output

    assert "earlier run: demo, staff" in seed("--if-empty")

    # A rerun puts back what is missing, except for someone whose history is paused.
    privacy = demo.privacy
    privacy.history_paused = True
    privacy.save()
    other = User.objects.filter(imported_from="demo", plays__isnull=False).exclude(pk=demo.pk)[0]
    Play.objects.filter(user__in=[demo, other]).delete()
    seed()
    assert Play.objects.filter(user=other).exists()
    assert not Play.objects.filter(user=demo).exists()


@pytest.mark.django_db
def test_someone_elses_staff_account_is_left_alone(settings):
    settings.DEBUG = True
    mine = UserFactory(username="staff")
    output = seed()
    mine.refresh_from_db()
    assert mine.check_password("correct horse battery staple") and not mine.is_superuser
    assert "`staff` already exists" in output
    # The demo world's removal never takes it either.
    seed("--replace")
    assert User.objects.filter(pk=mine.pk).exists()


# --- The structure a model can find (plain data, no database) ------------------------------------


@pytest.fixture(scope="module")
def world() -> DemoWorld:
    return build_world(seed=11, people=60, items_per_kind=16)


def _history(person: DemoPerson) -> list[str]:
    return [play.item for play in person.plays]


def test_times_increase_within_each_history(world):
    for person in world.people:
        times = [play.started_at for play in person.plays]
        assert times == sorted(times)


def test_album_tracks_are_played_in_order(world):
    items = {item.key: item for item in world.items}
    in_order = steps = 0
    for person in world.people:
        history = _history(person)
        for before, after in itertools.pairwise(history):
            a, b = items[before], items[after]
            if a.music_type == "track" and a.parent == b.parent:
                steps += 1
                in_order += b.position == a.position + 1
    assert steps > 200
    assert in_order / steps > 0.85


def test_series_are_watched_from_the_first_part(world):
    items = {item.key: item for item in world.items}
    sequels = {i.key for i in world.items if i.kind == "film" and i.parent}
    assert sequels
    seen_after_first = total = 0
    for person in world.people:
        history = _history(person)
        for key in sequels & set(history):
            total += 1
            first = history.index(items[key].parent) if items[key].parent in history else None
            seen_after_first += first is not None and first < history.index(key)
    assert seen_after_first / total > 0.85


def test_sessions_stay_in_a_genre(world):
    items = {item.key: item for item in world.items}
    same = steps = 0
    for person in world.people:
        history = _history(person)
        for before, after in itertools.pairwise(history):
            a, b = items[before], items[after]
            if a.kind == b.kind and a.parent != b.parent and a.key != b.key:
                steps += 1
                same += a.genres[0] == b.genres[0]
    # Eight genres a kind: by chance an eighth of steps would stay.
    assert same / steps > 0.3


def test_ratings_follow_taste(world):
    items = {item.key: item for item in world.items}
    loved, disliked = [], []
    for person in world.people:
        for rating in person.ratings:
            item = items[rating.item]
            affinity = person.tastes[item.kind][item.genres[0]]
            if affinity > 0.5:
                loved.append(rating.stars)
            elif affinity < -0.3:
                disliked.append(rating.stars)
    assert loved and disliked
    assert all(r * 2 == int(r * 2) and Decimal("0.5") <= r <= 5 for r in loved + disliked)
    assert sum(loved) / len(loved) - sum(disliked) / len(disliked) > 1


# Words and phrases a reader takes as praise or complaint, beyond the adjectives.
PRAISE = ("loved", "recommended", "masterpiece", "happily")
COMPLAINT = ("not worth", "gave up", "hard to care", "not recommend")


def _tone(text: str) -> int:
    lowered = text.lower()
    words = re.findall(r"[a-z]+", lowered)
    good = sum(w in POSITIVE_WORDS or w in RAVE_WORDS for w in words)
    good += sum(phrase in lowered for phrase in PRAISE)
    bad = sum(w in NEGATIVE_WORDS or w in PAN_WORDS for w in words)
    bad += sum(phrase in lowered for phrase in COMPLAINT)
    return good - bad


def test_review_words_follow_the_rating(world):
    reviews = [review for person in world.people for review in person.reviews]
    high = [_tone(r.text) for r in reviews if r.stars >= 4]
    low = [_tone(r.text) for r in reviews if r.stars <= 2]
    assert len(high) > 20 and len(low) > 5
    assert sum(t > 0 for t in high) / len(high) > 0.9
    assert sum(t < 0 for t in low) / len(low) > 0.9
    assert not any(t < 0 for t in high) and not any(t > 0 for t in low)


def test_artwork_colours_follow_the_genre():
    def stats(genre: str, n: int) -> np.ndarray:
        covers = [render_canvas("film", [genre], f"{genre}-{i}", 3, size=64) for i in range(n)]
        return np.array([c.reshape(-1, 3).mean(0) for c in covers])

    horror, comedy = stats("Horror", 6), stats("Comedy", 6)
    # Every comedy cover is brighter than every horror cover, and the gap dwarfs the spread.
    assert horror.mean(1).max() < comedy.mean(1).min()
    gap = np.linalg.norm(horror.mean(0) - comedy.mean(0))
    assert gap > 3 * max(horror.std(0).max(), comedy.std(0).max())


def test_artwork_is_the_same_for_the_same_seed_and_varies_per_item():
    one = render_canvas("music", ["Jazz", "Rock"], "music-album-0001", 1, size=64)
    assert np.array_equal(
        one, render_canvas("music", ["Jazz", "Rock"], "music-album-0001", 1, size=64)
    )
    assert not np.array_equal(
        one, render_canvas("music", ["Jazz", "Rock"], "music-album-0002", 1, size=64)
    )
    assert not np.array_equal(
        one, render_canvas("music", ["Jazz", "Rock"], "music-album-0001", 2, size=64)
    )
