"""Online experiments: stable assignment, serving that follows the arm (cache included), and
the arms' figures with their intervals and test on planted impressions."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from entertainment.activity.models import Impression
from entertainment.catalogue.models import Kind
from recommender import experiments, lists, realtime, serving
from recommender.models import Experiment, ListMetricDay
from recommender.popular import NON_PERSONAL
from tests.conftest import ROOT
from tests.factories import ItemFactory, PlayFactory, UserFactory
from tests.recommender.factories import ModelVersionFactory
from tests.recommender.serving_model import write_model

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_lists")]

_START = timezone.now() - timedelta(days=1)
_step = itertools.count()


# --- Assignment ---------------------------------------------------------------------------------


@pytest.mark.parametrize("share", [0.1, 0.5, 0.8])
def test_assignment_splits_ten_thousand_people_within_two_percent(share):
    arms = [experiments.assign("some-salt", user_id, share) for user_id in range(1, 10_001)]
    assert set(arms) == {"a", "b"}
    assert abs(arms.count("b") / len(arms) - share) < 0.02


def test_assignment_depends_on_the_salt_not_on_the_order_of_calls():
    first = [experiments.assign("salt-1", u, 0.5) for u in range(200)]
    again = [experiments.assign("salt-1", u, 0.5) for u in reversed(range(200))][::-1]
    other = [experiments.assign("salt-2", u, 0.5) for u in range(200)]
    assert first == again
    assert first != other  # a new experiment reshuffles people


def test_assignment_is_the_same_in_another_process():
    """No per-process randomness (Python's str hash is salted per process; blake2b is not)."""
    here = "".join(experiments.assign("fixed", u, 0.3) for u in range(500))
    script = (
        "import django; django.setup()\n"
        "from recommender.experiments import assign\n"
        "print(''.join(assign('fixed', u, 0.3) for u in range(500)))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "entertainment.settings", "SECRET_KEY": "x"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == here


# --- Serving follows the arm ----------------------------------------------------------------------


@pytest.fixture
def films(db):
    return [ItemFactory(kind=Kind.FILM, title=f"Film {n}") for n in range(6)]


@pytest.fixture
def two_versions(films, serving_model):
    """The active version says Film 1 follows Film 0; the other, Film 2."""
    active = serving_model(films, follows={films[0].pk: films[1].pk})
    directory = Path(settings.MODEL_DIR) / "planted-b"
    write_model(directory, [f.pk for f in films], {films[0].pk: films[2].pk})
    other = ModelVersionFactory(kind="sequence", path=str(directory))
    return active, other


def _person_in(experiment: Experiment, arm: str, first_film):
    for _ in range(200):
        person = UserFactory()
        if experiments.assign(experiment.salt, person.pk, experiment.share) == arm:
            PlayFactory(
                user=person, item=first_film, started_at=_START + timedelta(seconds=next(_step))
            )
            lists.touch([person.pk])
            return person
    raise AssertionError(f"nobody in arm {arm}")


def test_each_arm_sees_its_versions_lists_from_the_cache_too(
    films, two_versions, monkeypatch, django_assert_num_queries
):
    active, other = two_versions
    experiment = experiments.start("gru vs gru", "sequence", active, other, 0.5)
    in_a, in_b = _person_in(experiment, "a", films[0]), _person_in(experiment, "b", films[0])

    seen_a = lists.for_person(in_a, Kind.FILM, 3)
    seen_b = lists.for_person(in_b, Kind.FILM, 3)
    assert seen_a.entries[0].item_id == films[1].pk
    assert seen_b.entries[0].item_id == films[2].pk
    assert (seen_a.model_version, seen_a.experiment_id, seen_a.arm) == (
        active.label,
        experiment.pk,
        "a",
    )
    assert (seen_b.model_version, seen_b.experiment_id, seen_b.arm) == (
        other.label,
        experiment.pk,
        "b",
    )

    # Read again: the same lists, from the cache, with no query (the experiment is cached too).
    monkeypatch.setattr(serving, "_VERSION_TTL_S", 3600.0)
    with django_assert_num_queries(0):
        for _ in range(3):
            assert lists.for_person(in_a, Kind.FILM, 3) == seen_a
            assert lists.for_person(in_b, Kind.FILM, 3) == seen_b

    # Up next follows the arm too.
    assert realtime.up_next(in_b.pk)[0].item_id == films[2].pk
    assert realtime.up_next(in_a.pk)[0].item_id == films[1].pk

    # Stopped: everyone's cached list is stale at once (in this process), the active one serves.
    experiments.stop(experiment)
    after = lists.for_person(in_b, Kind.FILM, 3)
    assert after.entries[0].item_id == films[1].pk
    assert (after.model_version, after.experiment_id, after.arm) == (active.label, None, "")


def test_the_arms_cached_lists_never_cross(films, two_versions):
    """The same person moved to the other arm (a new experiment, a new salt) never gets the
    list cached for their old arm."""
    active, other = two_versions
    first = experiments.start("one", "sequence", active, other, 0.5)
    person = _person_in(first, "b", films[0])
    assert lists.for_person(person, Kind.FILM, 3).entries[0].item_id == films[2].pk
    experiments.stop(first)
    # A later experiment that puts everyone in arm A (share just above 0: B is tiny).
    second = experiments.start("two", "sequence", active, other, 0.000001)
    found = lists.for_person(person, Kind.FILM, 3)
    assert (found.experiment_id, found.arm) == (second.pk, "a")
    assert found.entries[0].item_id == films[1].pk


def test_an_arm_without_a_version_sees_the_popular_lists(films, two_versions):
    active, _ = two_versions
    experiment = experiments.start("gru vs popular", "sequence", active, None, 0.5)
    in_b = _person_in(experiment, "b", films[0])
    found = lists.for_person(in_b, Kind.FILM, 3)
    assert found.model_version == NON_PERSONAL
    assert found.personalised is False
    assert (found.experiment_id, found.arm) == (experiment.pk, "b")
    assert films[0].pk not in [e.item_id for e in found.entries]  # their own items left out


def test_another_process_sees_a_started_experiment_within_the_version_ttl(films, two_versions):
    """Other processes learn of a start from the cache when their few seconds are up."""
    active, other = two_versions
    serving.active()  # this process has looked
    experiment = Experiment.objects.create(
        name="elsewhere", kind="sequence", version_a=active, version_b=other, share=0.5, salt="s"
    )  # as another process's start: nothing here was told
    experiments.caching.delete([experiments.RUNNING_KEY])
    person = UserFactory()
    assert serving.active(person.pk).experiment_id is None  # within the TTL: not yet
    serving.forget_active()  # the TTL is up
    assert serving.active(person.pk).experiment_id == experiment.pk


# --- Results on planted impressions ------------------------------------------------------------


def _plant(experiment: Experiment, arm: str, people: int, clicks_per_ten: list[int]) -> None:
    """`people` people of the arm, ten impressions each; person i clicks (and plays)
    clicks_per_ten[i % len] of them."""
    item = ItemFactory()
    now = timezone.now()
    rows = []
    for i in range(people):
        person = UserFactory()
        clicked = clicks_per_ten[i % len(clicks_per_ten)]
        for rank in range(10):
            hit = rank < clicked
            rows.append(
                Impression(
                    user=person,
                    item=item,
                    list="for_you",
                    kind=item.kind,
                    model_version="sequence-v1",
                    rank=rank,
                    experiment_id=experiment.pk,
                    arm=arm,
                    clicked_at=now if hit else None,
                    played_at=now if hit and rank % 2 == 0 else None,
                    rated_at=None,
                )
            )
    Impression.objects.bulk_create(rows)


@pytest.fixture
def experiment(db):
    a, b = ModelVersionFactory(kind="sequence"), ModelVersionFactory(kind="sequence")
    return experiments.start("planted", "sequence", a, b, 0.5)


def test_b_clearly_better_is_significant_and_wins(experiment, settings):
    settings.EXPERIMENT_MIN_PEOPLE = 50
    _plant(experiment, "a", 60, [0, 1, 1, 2])  # about 10% click-through per person
    _plant(experiment, "b", 60, [2, 3, 3, 4])  # about 30%
    found = experiments.results(experiment)
    a, b = found.arms
    assert (a.people, b.people) == (60, 60)
    assert (a.impressions, b.impressions) == (600, 600)
    assert (a.clicks, b.clicks) == (60, 180)
    ctr_a, ctr_b = a.rates["click_through"], b.rates["click_through"]
    assert ctr_a is not None and ctr_b is not None
    assert ctr_a.value == pytest.approx(0.1) and ctr_b.value == pytest.approx(0.3)
    assert ctr_a.low < 0.1 < ctr_a.high and ctr_a.high < ctr_b.low  # apart
    primary = found.comparisons[0]
    assert primary.metric == "click_through"
    assert primary.difference.value == pytest.approx(0.2)
    assert primary.difference.low > 0 and primary.p_value < 1e-6
    assert found.significant and found.enough_people and found.winner == "b"
    # Recorded when stopped.
    assert experiments.stop(experiment).winner == "b"


def test_equal_arms_are_not_significant(experiment, settings):
    settings.EXPERIMENT_MIN_PEOPLE = 50
    _plant(experiment, "a", 60, [0, 1, 2, 3])
    _plant(experiment, "b", 60, [3, 2, 1, 0])
    found = experiments.results(experiment)
    primary = found.comparisons[0]
    assert primary.difference.value == pytest.approx(0.0)
    assert primary.difference.low < 0 < primary.difference.high
    assert primary.p_value > 0.5
    assert not found.significant and found.winner == ""
    assert experiments.stop(experiment).winner == ""


def test_a_significant_difference_with_too_few_people_names_no_winner(experiment, settings):
    settings.EXPERIMENT_MIN_PEOPLE = 100
    _plant(experiment, "a", 30, [0, 1])
    _plant(experiment, "b", 30, [5, 6])
    found = experiments.results(experiment)
    assert found.significant and not found.enough_people and found.winner == ""


def test_per_person_rates_weigh_each_person_once(experiment):
    """One heavy clicker with many impressions does not make an arm: the mean is per person."""
    _plant(experiment, "a", 10, [1])
    heavy = experiments.results(experiment).arms[0].rates["click_through"]
    assert heavy is not None and heavy.value == pytest.approx(0.1)


def test_a_small_arm_is_hidden_and_nothing_is_compared(experiment, settings):
    _plant(experiment, "a", 20, [1])
    _plant(experiment, "b", settings.PRIVACY_MIN_GROUP_SIZE - 1, [9])
    found = experiments.results(experiment)
    assert found.arms[0].people == 20
    assert found.arms[1].people is None and found.arms[1].rates["click_through"] is None
    assert found.comparisons == [] and not found.significant


def test_days_whose_raw_rows_expired_count_from_the_daily_aggregates(experiment):
    _plant(experiment, "a", 10, [1])
    old = timezone.now().date() - timedelta(days=40)
    for day in (old, old + timedelta(days=1)):
        ListMetricDay.objects.create(
            day=day, list="for_you", kind="film", model_version="sequence-v1",
            experiment=experiment, arm="a", people=7, impressions=100, clicks=9, plays=4,
        )  # fmt: skip
    # A day that still has raw rows is not counted twice.
    ListMetricDay.objects.create(
        day=timezone.now().date(), list="for_you", kind="film", experiment=experiment, arm="a",
        impressions=100, clicks=10,
    )  # fmt: skip
    found = experiments.results(experiment)
    arm = found.arms[0]
    assert arm.impressions == 100 + 200
    assert arm.clicks == 10 + 18
    assert found.aggregate_days == 2
    assert arm.people == 10  # per-person figures come from raw rows only


def test_welch_matches_scipy():
    from scipy import stats

    a = [0.1, 0.2, 0.0, 0.3, 0.1, 0.15]
    b = [0.3, 0.25, 0.4, 0.2, 0.35, 0.3, 0.5]
    diff, p = experiments.welch(a, b)
    expected = stats.ttest_ind(b, a, equal_var=False)
    assert p == pytest.approx(expected.pvalue)
    interval = expected.confidence_interval(0.95)
    assert (diff.low, diff.high) == pytest.approx((interval.low, interval.high))


def test_only_the_lists_every_person_of_an_arm_is_shown_are_judged(experiment):
    """ "Up next" is seen by those who open item pages, an outcome of the arm: left out."""
    _plant(experiment, "a", 10, [1])
    before = experiments.results(experiment).arms[0]
    person, item = UserFactory(), ItemFactory()
    Impression.objects.create(
        user=person, item=item, list="up_next", kind=item.kind, rank=1,
        experiment_id=experiment.pk, arm="a", clicked_at=timezone.now(),
    )  # fmt: skip
    assert experiments.results(experiment).arms[0] == before
