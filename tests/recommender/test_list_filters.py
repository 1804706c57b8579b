"""Filters on a person's lists (genre, year range, excluded ids), as properties over generated
catalogues, histories and filters: every item returned passes, nothing excluded, dismissed or
owned comes back, at most two of one series in ten, and the list is full whenever the catalogue
allows (ranked deeper, not cut from the cached list)."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import timedelta
from typing import Any, cast

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from entertainment.accounts.privacy import change_settings
from entertainment.activity.models import Dismissal
from entertainment.catalogue.models import Item, Kind
from recommender import controls, lists, serving
from tests.factories import GenreFactory, ItemFactory, PlayFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_lists")]

_START = timezone.now() - timedelta(days=1)
_step = itertools.count()
GENRES = ("drama", "comedy", "horror")
YEARS = st.one_of(st.none(), st.integers(1990, 1999))
N = 10

catalogues = st.lists(
    st.tuples(
        st.sampled_from([Kind.FILM, Kind.FILM, Kind.FILM, Kind.GAME]),
        YEARS,
        st.sampled_from([None, *GENRES]),
        st.integers(0, 5),  # its series: 0 none (its own), else one of five series
    ),
    min_size=4,
    max_size=30,
)
wanted: st.SearchStrategy[dict[str, Any]] = st.builds(
    dict,
    genre=st.sampled_from([None, *GENRES]),
    year_min=st.one_of(st.none(), st.integers(1988, 1999)),
    year_max=st.one_of(st.none(), st.integers(1990, 2001)),
)
PROPERTY = hypothesis_settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _catalogue(spec):
    genres = {slug: GenreFactory(kind=Kind.FILM, name=slug.title(), slug=slug) for slug in GENRES}
    heads: dict[tuple[str, int], Item] = {}
    items = []
    for kind, year, genre, series in spec:
        parent = heads.get((kind, series)) if series else None
        item = cast(Item, ItemFactory(kind=kind, year=year, parent=parent))
        if series and parent is None:
            heads[(kind, series)] = item
        if genre:
            item.genres.add(genres[genre])
        items.append(item)
    return items


def _series(items):
    return {i.pk: (i.parent_id or i.pk) for i in items}


def _passes(item, want, exclude):
    if item.pk in exclude:
        return False
    if want["genre"] and not item.genres.filter(slug=want["genre"]).exists():
        return False
    if want["year_min"] is not None and (item.year is None or item.year < want["year_min"]):
        return False
    return not (
        want["year_max"] is not None and (item.year is None or item.year > want["year_max"])
    )


def _assert_capped(ids, series):
    for start in range(len(ids)):
        window = Counter(series[i] for i in ids[start : start + 10])
        assert max(window.values(), default=0) <= 2, ids


def _full_length(eligible, series):
    """How long a list of N from these items can be with at most two of a series in ten."""
    per_series = Counter(series[i] for i in eligible)
    return min(N, sum(min(2, n) for n in per_series.values()))


@given(spec=catalogues, data=st.data(), want=wanted)
@PROPERTY
def test_a_filtered_list_holds_only_what_passes_and_is_full(serving_model, spec, data, want):
    cache.clear()
    serving.forget_active()
    with transaction.atomic():
        items = _catalogue(spec)
        films = [i for i in items if i.kind == Kind.FILM]
        person = UserFactory()
        played = data.draw(st.lists(st.sampled_from(items), min_size=1, max_size=4, unique=True))
        dismissed = data.draw(st.lists(st.sampled_from(items), max_size=4, unique=True))
        exclude = data.draw(st.lists(st.sampled_from(items), max_size=4, unique=True))
        serving_model(items)
        for item in played:
            PlayFactory(user=person, item=item, started_at=_START + timedelta(seconds=next(_step)))
        for item in dismissed:
            Dismissal.objects.create(user=person, item=item)
        lists.touch([person.pk])
        excluded = {i.pk for i in exclude}
        narrow = controls.Wanted(
            want["genre"], want["year_min"], want["year_max"], frozenset(excluded)
        )

        found = lists.for_kinds(person, [Kind.FILM], N, wanted=narrow)[Kind.FILM]

        ids = [e.item_id for e in found.entries]
        by_pk = {i.pk: i for i in items}
        never = excluded | {i.pk for i in played} | {i.pk for i in dismissed}
        assert not set(ids) & never
        assert all(by_pk[i].kind == Kind.FILM and _passes(by_pk[i], want, excluded) for i in ids)
        series = _series(items)
        _assert_capped(ids, series)
        eligible = [f.pk for f in films if f.pk not in never and _passes(f, want, excluded)]
        assert len(ids) == _full_length(eligible, series)
        transaction.set_rollback(True)


@given(spec=catalogues, data=st.data(), want=wanted, personalised=st.booleans())
@PROPERTY
def test_a_popular_list_is_filtered_the_same_way(spec, data, want, personalised):
    """People without a history of their own, or with personalisation off, see the popular
    list: filtered, without their "not for me", as full as the played catalogue allows."""
    cache.clear()
    serving.forget_active()
    with transaction.atomic():
        items = _catalogue(spec)
        someone, person = UserFactory(), UserFactory()
        for item in items:  # every item played by someone: all are in the popular list
            PlayFactory(user=someone, item=item)
        dismissed = data.draw(st.lists(st.sampled_from(items), max_size=4, unique=True))
        for item in dismissed:
            Dismissal.objects.create(user=person, item=item)
        if not personalised:
            change_settings(person, personalised=False)
            person.refresh_from_db()
        else:
            Dismissal.objects.filter(user=person).delete()  # no history at all
            dismissed = []
        narrow = controls.Wanted(want["genre"], want["year_min"], want["year_max"])

        found = lists.for_kinds(person, [Kind.FILM], N, wanted=narrow)[Kind.FILM]

        ids = [e.item_id for e in found.entries]
        by_pk = {i.pk: i for i in items}
        gone = {i.pk for i in dismissed}
        assert not set(ids) & gone
        assert all(by_pk[i].kind == Kind.FILM and _passes(by_pk[i], want, set()) for i in ids)
        series = _series(items)
        _assert_capped(ids, series)
        eligible = [
            i.pk
            for i in items
            if i.kind == Kind.FILM and i.pk not in gone and _passes(i, want, set())
        ]
        assert len(ids) == _full_length(eligible, series)
        transaction.set_rollback(True)


def test_the_api_filters_and_ranks_deeper_than_its_cache(api, user, serving_model, settings):
    settings.RECOMMENDATIONS_PER_KIND = 5
    drama = GenreFactory(kind=Kind.FILM, slug="drama", name="Drama")
    seed = ItemFactory(year=1990)
    # The five best ranked are not dramas: the cached list (five deep) has none.
    plain = ItemFactory.create_batch(5, year=1995)
    dramas = ItemFactory.create_batch(4, year=2005, genres=[drama])
    old = ItemFactory(year=1980, genres=[drama])
    serving_model([seed, *plain, *dramas, old], popular=[p.pk for p in plain])
    PlayFactory(user=user, item=seed)
    lists.touch([user.pk])
    assert api.get(reverse("recommendations"), {"kind": "film"}).status_code == 200

    answer = api.get(
        reverse("recommendations"),
        {"kind": "film", "genre": "drama", "year_min": "2000", "exclude": str(dramas[0].pk)},
    )
    assert answer.status_code == 200
    ids = [r["item"]["id"] for r in answer.json()["results"]]
    assert sorted(ids) == sorted(d.pk for d in dramas[1:])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"year_min": "abc"}, "year_min"),
        ({"year_min": "19.5"}, "year_min"),
        ({"year_max": "-1"}, "year_max"),
        ({"year_max": "99999"}, "year_max"),
        ({"exclude": "1,two"}, "exclude"),
        ({"exclude": "1,,2"}, "exclude"),
    ],
)
def test_invalid_filters_answer_400_by_field_as_the_items_endpoint(api, query, field):
    answer = api.get(reverse("recommendations"), query)
    assert answer.status_code == 400
    assert list(answer.json()) == [field]
    if field.startswith("year"):
        # The same message /api/items/ gives for the same value.
        items = api.get(reverse("item-list"), query)
        assert items.status_code == 400
        assert answer.json() == items.json()


def test_empty_filters_filter_nothing(api, user):
    answer = api.get(
        reverse("recommendations"), {"genre": "", "year_min": "", "year_max": "", "exclude": ""}
    )
    assert answer.status_code == 200


def _for_you(response):
    """The "For you" section of the home page (its other rows show the newest items)."""
    html = response.content.decode()
    start = html.index('class="shelf-group for-you"')
    return html[start : html.index('aria-labelledby="shelf-', start)]


def test_the_for_you_rows_have_a_filter_form_that_filters(client, user, serving_model):
    drama = GenreFactory(kind=Kind.FILM, slug="drama", name="Drama")
    seed = ItemFactory()
    comedy = ItemFactory(title="Not A Drama")
    tragedy = ItemFactory(title="A Drama", genres=[drama])
    serving_model([seed, comedy, tragedy])
    PlayFactory(user=user, item=seed)
    lists.touch([user.pk])
    client.force_login(user)
    page = _for_you(client.get(reverse("home")))
    assert 'name="genre"' in page and "Not A Drama" in page
    filtered = _for_you(client.get(reverse("home"), {"genre": "drama"}))
    assert ">A Drama<" in filtered and "Not A Drama" not in filtered
    invalid = client.get(reverse("home"), {"year_min": "soon"})
    assert invalid.status_code == 200
    assert 'role="alert"' in invalid.content.decode()
