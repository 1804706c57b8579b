"""Diversity and list style at serving time: at most two of one series or artist in any ten
places of every list a person sees, and "Surprise me" brings in more items from outside the
catalogue's most popular tenth than "More of what I like", keeping relevance within each."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from entertainment.accounts.models import ListStyle
from entertainment.accounts.privacy import change_settings
from entertainment.catalogue.models import Credit, Kind
from recommender import diversity, lists, popular, realtime, serving
from recommender.entries import Entry
from tests.factories import CreatorFactory, ItemFactory, PlayFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_lists")]

_START = timezone.now() - timedelta(days=1)
_step = itertools.count()


def _capped_ok(ids, groups):
    for start in range(len(ids)):
        counts = Counter(g for i in ids[start : start + 10] for g in groups.get(i, ()))
        assert max(counts.values(), default=0) <= 2, (ids, groups)


# --- The rule itself -------------------------------------------------------------------------


@given(
    found=st.lists(st.frozensets(st.sampled_from("abcdef"), max_size=2), max_size=40),
    limit=st.one_of(st.none(), st.integers(1, 30)),
)
@hypothesis_settings(max_examples=200, deadline=None, derandomize=True)
def test_capped_holds_the_rule_and_keeps_the_order_of_what_fits(found, limit):
    entries = [Entry(n, 1.0 - n / 100, "") for n in range(len(found))]
    groups = dict(enumerate(found))
    out = diversity.capped(entries, groups, limit=limit)
    ids = [e.item_id for e in out]
    assert len(ids) == len(set(ids))
    assert limit is None or len(ids) <= limit
    _capped_ok(ids, groups)
    # Within one group, best first still (an item of two groups may be overtaken while the
    # other one is full).
    for group in "abcdef":
        members = [i for i in ids if groups[i] == {group}]
        assert members == sorted(members)
    # Nothing binds (no group has three): nothing moves.
    per_group = Counter(g for gs in found for g in gs)
    if max(per_group.values(), default=0) <= 2:
        assert ids == list(range(len(found)))[:limit]


def test_novel_first_moves_the_head_down_and_nothing_further():
    entries = [Entry(n, 0.0, "") for n in range(25)]
    head = {0, 1, 2}
    out = [e.item_id for e in diversity.novel_first(entries, head, shift=10)]
    assert out[:8] == [3, 4, 5, 6, 7, 8, 9, 0]  # relevance orders the novel ones
    for place, item in enumerate(out):
        assert place - item <= 10 if item in head else item - place <= len(head)


def test_groups_follow_parents_and_credited_artists():
    artist = ItemFactory(kind=Kind.MUSIC, music_type="artist", title="The Band")
    album = ItemFactory(kind=Kind.MUSIC, music_type="album", parent=artist)
    track = ItemFactory(kind=Kind.MUSIC, music_type="track", parent=album)
    loose = ItemFactory(kind=Kind.MUSIC, music_type="track")  # no album: its credit tells
    band = CreatorFactory(name="The Band")
    Credit.objects.create(item=artist, creator=band, role=Credit.Role.ARTIST)
    Credit.objects.create(item=loose, creator=band, role=Credit.Role.ARTIST)
    first = ItemFactory(kind=Kind.FILM)
    sequel = ItemFactory(kind=Kind.FILM, parent=first)
    found = diversity.groups([artist.pk, album.pk, track.pk, loose.pk, first.pk, sequel.pk])
    assert found[track.pk] >= {f"series:{artist.pk}", f"artist:{band.pk}"}
    assert found[album.pk] >= {f"series:{artist.pk}", f"artist:{band.pk}"}
    assert f"artist:{band.pk}" in found[loose.pk]
    assert found[sequel.pk] == found[first.pk] == frozenset({f"series:{first.pk}"})


# --- Every list a person sees ----------------------------------------------------------------


@given(series=st.lists(st.integers(0, 3), min_size=12, max_size=24), surprise=st.booleans())
@hypothesis_settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_list_holds_at_most_two_of_a_series_in_ten(client, serving_model, series, surprise):
    cache.clear()
    serving.forget_active()
    with transaction.atomic():
        seed = ItemFactory()
        heads: dict[int, object] = {}
        items = []
        for s in series:  # series 0: standalone; else the first of the series is its head
            parent = heads.get(s) if s else None
            item = ItemFactory(parent=parent)
            if s and parent is None:
                heads[s] = item
            items.append(item)
        everything = [seed, *items]
        serving_model(
            everything,
            follows={seed.pk: items[0].pk},
            popular=[i.pk for i in items],
            co_played={seed.pk: [(i.pk, 2) for i in items[:5]]},
        )
        someone, person = UserFactory(), UserFactory()
        for item in items:
            PlayFactory(user=someone, item=item)
        if surprise:
            change_settings(person, list_style=ListStyle.SURPRISE)
        PlayFactory(user=person, item=seed, started_at=_START)
        lists.touch([person.pk])
        groups = diversity.groups(i.pk for i in everything)

        _capped_ok([e.item_id for e in lists.for_person(person, Kind.FILM, 20).entries], groups)
        _capped_ok([e.item_id for e in realtime.up_next(person.pk, 20)], groups)
        _capped_ok([e.item_id for e in popular.popular(Kind.FILM, 20).entries], groups)
        client.force_login(person)
        for url in (
            reverse("recommendations") + "?n=20",
            reverse("item-similar", kwargs={"pk": seed.pk}) + "?n=20",
        ):
            body = client.get(url).json()
            _capped_ok([r["item"]["id"] for r in body["results"]], groups)
        nexts = client.post(
            reverse("session-next"), {"items": [seed.pk], "n": 20}, content_type="application/json"
        ).json()
        _capped_ok([r["item"]["id"] for r in nexts["results"]], groups)
        transaction.set_rollback(True)


def test_an_artists_tracks_are_spread_in_the_music_list(user, serving_model):
    band = CreatorFactory(name="Prolific")
    seed = ItemFactory(kind=Kind.MUSIC, music_type="track")
    theirs = ItemFactory.create_batch(6, kind=Kind.MUSIC, music_type="track")
    others = ItemFactory.create_batch(10, kind=Kind.MUSIC, music_type="track")
    for track in theirs:
        Credit.objects.create(item=track, creator=band, role=Credit.Role.ARTIST)
    serving_model([seed, *theirs, *others], popular=[t.pk for t in theirs])
    PlayFactory(user=user, item=seed)
    lists.touch([user.pk])
    ids = [e.item_id for e in lists.for_person(user, Kind.MUSIC, 10).entries]
    assert len(ids) == 10
    assert sum(i in {t.pk for t in theirs} for i in ids) == 2
    assert ids[:2] == [theirs[0].pk, theirs[1].pk]  # still the best first


# --- "Surprise me" ---------------------------------------------------------------------------


def test_surprise_me_shows_more_items_outside_the_popular_head(serving_model):
    seed = ItemFactory()
    films = ItemFactory.create_batch(29, kind=Kind.FILM)  # 30 films: the head is 3
    serving_model([seed, *films], popular=[f.pk for f in films])
    for rank, film in enumerate(films[:12]):  # the most played are also the model's favourites
        for _ in range(12 - rank):
            PlayFactory(item=film)
    head = set(diversity.popular_head(Kind.FILM))
    assert head == {f.pk for f in films[:3]}
    familiar, surprised = UserFactory(), UserFactory()
    change_settings(surprised, list_style=ListStyle.SURPRISE)
    for person in (familiar, surprised):
        PlayFactory(user=person, item=seed, started_at=_START)
        lists.touch([person.pk])

    deeper = [e.item_id for e in lists.for_person(familiar, Kind.FILM, 20).entries]
    mine = deeper[:10]
    theirs = [e.item_id for e in lists.for_person(surprised, Kind.FILM, 10).entries]

    def novel(ids):
        return [i for i in ids if i not in head]

    assert len(novel(theirs)) > len(novel(mine))
    # Relevance still orders each part.
    assert novel(theirs) == novel(deeper)[: len(novel(theirs))]
    assert [i for i in theirs if i in head] == [i for i in mine if i in head][
        : 10 - len(novel(theirs))
    ]


def test_changing_the_list_style_recomputes_the_lists(
    user, serving_model, django_capture_on_commit_callbacks
):
    seed = ItemFactory()
    films = ItemFactory.create_batch(19, kind=Kind.FILM)
    serving_model([seed, *films], popular=[f.pk for f in films])
    for film in films[:2]:  # the head: the most played tenth of twenty films
        PlayFactory.create_batch(2, item=film)
    PlayFactory(user=user, item=seed, started_at=_START)
    lists.touch([user.pk])
    before = [e.item_id for e in lists.for_person(user, Kind.FILM, 10).entries]
    assert before[:2] == [films[0].pk, films[1].pk]
    with django_capture_on_commit_callbacks(execute=True):  # the receivers restamp the lists
        change_settings(user, list_style=ListStyle.SURPRISE)
    after = [e.item_id for e in lists.for_person(user, Kind.FILM, 10).entries]
    assert films[0].pk not in after[:2]
