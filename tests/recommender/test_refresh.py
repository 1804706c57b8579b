"""Refresh: every person's lists from the active model, stored in the database and the cache."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.cache import cache
from django.utils import timezone

from recommender import lists, refresh
from recommender.models import ModelVersion, Recommendation
from tests.factories import ItemFactory, PlayFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tmp_path, settings):
    """30 films and 2 games; 6 people who each play a run of films in order, one also a game."""
    from ml.data import Interaction
    from ml.hybrid import train

    cache.clear()
    films = [ItemFactory(kind="film") for _ in range(30)]
    games = [ItemFactory(kind="game") for _ in range(2)]
    people = [UserFactory() for _ in range(6)]
    start = timezone.now() - timedelta(days=1)
    rows = []
    for n, person in enumerate(people):
        played = films[4 * n : 4 * n + 8] + ([games[0]] if n == 0 else [])
        for step, item in enumerate(played):
            at = start + timedelta(minutes=step)
            PlayFactory(user=person, item=item, started_at=at, completed=False)
            rows.append(Interaction(str(person.pk), str(item.pk), at.timestamp(), 1.0))
    train(rows, tmp_path / "model", sequence_hyper={"epochs": 1, "dim": 8, "hidden": 8})
    ModelVersion.objects.create(
        kind="sequence", status=ModelVersion.Status.ACTIVE, path=str(tmp_path / "model"),
        main_metric="ndcg@10", metrics={},
    )  # fmt: skip
    # Lists of 2 a kind: the first pass ranks 8 deep, so people short of games are ranked again.
    settings.RECOMMENDATIONS_PER_KIND = 2
    return people, films + games


def test_lists_are_the_best_per_kind_of_the_full_ranking(
    world, django_capture_on_commit_callbacks, monkeypatch
):
    import ml.hybrid
    from ml.data import read_interactions, read_reviews
    from ml.hybrid import recommend

    people, items = world
    kinds = {item.pk: item.kind for item in items}
    depths = []

    def recording(*args, k, **kwargs):
        depths.append(k)
        return recommend(*args, k=k, **kwargs)

    monkeypatch.setattr(ml.hybrid, "recommend", recording)
    with django_capture_on_commit_callbacks(execute=True):
        assert refresh.refresh_people([p.pk for p in people]) == len(people)
    assert depths == [8, 300]  # someone was short of games after the first pass

    # What one deep ranking of everyone gives, split by kind.
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        bundle.mkdir()
        refresh.model_bundle(bundle)
        history, reviews = Path(tmp) / "h.csv", Path(tmp) / "r.csv"
        refresh._write_history(history, reviews, [p.pk for p in people])
        rows = recommend(bundle, read_interactions(history), read_reviews(reviews), k=300)
    expected: dict[tuple[int, str], list[int]] = {}
    for row in rows:
        key = (int(row.user), kinds[int(row.item)])
        if len(expected.setdefault(key, [])) < 2:
            expected[key].append(int(row.item))

    for person in people:
        for kind in ("film", "game"):
            stored = list(
                Recommendation.objects.filter(user=person, kind=kind)
                .order_by("rank")
                .values_list("item_id", flat=True)
            )
            assert stored == expected.get((person.pk, kind), [])
            cached = lists.stored(person.pk, kind)
            assert [e.item_id for e in cached.entries] == stored if stored else cached is None
    played = {(p.user_id, p.item_id) for person in people for p in person.plays.all()}
    assert not any((r.user_id, r.item_id) in played for r in Recommendation.objects.all())


def test_refresh_replaces_the_previous_lists(world, django_capture_on_commit_callbacks):
    people, items = world
    old = lists.Entry(items[-1].pk, 9.0, "old")
    with django_capture_on_commit_callbacks(execute=True):
        lists.store(people[0].pk, {"film": [old], "game": [old]}, "sequence-v0")
        refresh.refresh_people([people[0].pk])
    assert not Recommendation.objects.filter(model_version="sequence-v0").exists()
    assert Recommendation.objects.filter(user=people[0]).exists()
    assert lists.stored(people[0].pk, "film").model_version.startswith("sequence-v")
    assert lists.stored(people[0].pk, "film").model_version != "sequence-v0"
