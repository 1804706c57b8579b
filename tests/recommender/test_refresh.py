"""The warm-up after an activation: the lists of people active lately, computed and cached ahead
of their next read, by the model a real training made."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.core.cache import cache
from django.utils import timezone

from entertainment.activity.models import Play
from entertainment.catalogue.models import Kind
from recommender import lists, personal, refresh, serving, tasks
from recommender.models import ModelVersion
from tests.factories import ItemFactory, PlayFactory, RatingFactory, ReviewFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_lists")]


def _read(person, kinds=(Kind.FILM,)):
    """The person's lists as their next read finds them, and whether they were warm (a list
    not warmed, or stale, is computed on the read)."""
    with mock.patch.object(personal, "compute", wraps=personal.compute) as computing:
        found = lists.for_kinds(person, list(kinds), 10)
    return found, not computing.called


@pytest.fixture
def films(serving_model):
    films = [ItemFactory(kind=Kind.FILM, title=f"Film {n}") for n in range(5)]
    version = serving_model(films, follows={films[0].pk: films[1].pk})
    return films, version


def _switched_off(person):
    privacy = person.privacy
    privacy.personalised = False
    privacy.save()


def test_warming_up_computes_and_caches_the_lists_of_personalised_people(films):
    films, version = films
    people = [UserFactory() for _ in range(3)]
    off = UserFactory()
    _switched_off(off)
    for person in (*people, off):
        PlayFactory(user=person, item=films[0])
    lists.touch([p.pk for p in (*people, off)])

    assert refresh.refresh_people([p.pk for p in (*people, off)]) == len(people)
    for person in people:
        found, warm = _read(person)
        assert warm
        assert found[Kind.FILM].model_version == version.label
        assert found[Kind.FILM].entries[0].item_id == films[1].pk
        assert found[Kind.FILM].entries[0].reason == "Because you played Film 0"
    # Nothing is computed from the history of someone who switched personalisation off.
    assert cache.get_many([lists.cache_key(off.pk, kind) for kind in Kind.values]) == {}
    assert lists.for_person(off, Kind.FILM, 10).personalised is False


def test_a_warmed_list_made_before_an_event_is_not_served_after_it(films):
    films, _ = films
    person = UserFactory()
    PlayFactory(user=person, item=films[0])
    lists.touch([person.pk])
    refresh.refresh_people([person.pk])
    PlayFactory(user=person, item=films[1])
    lists.touch([person.pk])
    found, warm = _read(person)
    assert not warm
    assert films[1].pk not in [e.item_id for e in found[Kind.FILM].entries]


def test_one_person_failing_or_erased_does_not_stop_the_batch(films):
    films, _ = films
    people = [UserFactory() for _ in range(4)]
    for person in people:
        PlayFactory(user=person, item=films[0])
    failing, erased, gone = people[1], people[2], UserFactory()
    gone_id = gone.pk
    gone.delete()  # erased before the batch ran
    compute = lists.compute

    def flaky(user_id, current=None):
        if user_id == failing.pk:
            raise RuntimeError("the serving model could not be read")
        if user_id == people[0].pk:
            erased.delete()  # erased while the batch runs
        return compute(user_id, current)

    with mock.patch.object(lists, "compute", flaky):
        done = refresh.refresh_people([p.pk for p in people] + [gone_id])
    assert done in (2, 3)  # the others (whether the one erased meanwhile counts or not)
    for person in (people[0], people[3]):
        assert _read(person)[1]
    found, warm = _read(failing)
    assert not warm  # computed on its read instead
    assert found[Kind.FILM].entries[0].item_id == films[1].pk


@pytest.fixture
def queued(monkeypatch):
    """The warm-up batches enqueued, instead of sent to a worker."""
    batches: list[list[int]] = []
    monkeypatch.setattr(tasks, "refresh_batch", SimpleNamespace(delay=batches.append))
    return batches


def test_the_people_active_lately_are_warmed_up_in_batches(films, settings, queued):
    films, _ = films
    settings.REFRESH_BATCH_SIZE = 2
    settings.WARM_UP_ACTIVE_DAYS = 14
    long_ago = timezone.now() - timedelta(days=30)
    player, rater, reviewer = UserFactory(), UserFactory(), UserFactory()
    PlayFactory(user=player, item=films[0])
    RatingFactory(user=rater, item=films[0])
    ReviewFactory(user=reviewer, item=films[0])
    idle = UserFactory()
    Play.objects.filter(pk=PlayFactory(user=idle, item=films[0]).pk).update(created_at=long_ago)
    off = UserFactory()
    _switched_off(off)
    PlayFactory(user=off, item=films[0])
    closed = UserFactory(is_active=False)
    PlayFactory(user=closed, item=films[0])

    assert refresh.enqueue_refresh() == 3
    active = sorted(p.pk for p in (player, rater, reviewer))
    assert queued == [active[:2], active[2:]]
    for batch in queued:
        refresh.refresh_people(batch)
    for person in (player, rater, reviewer):
        assert _read(person)[1]
    assert not _read(idle)[1]


def test_without_an_active_model_nothing_is_warmed_up(queued):
    PlayFactory(user=UserFactory(), item=ItemFactory())
    assert refresh.enqueue_refresh() == 0
    assert queued == []


def test_an_activation_warms_up_the_lists_of_its_model(films, queued):
    films, _ = films
    person = UserFactory()
    PlayFactory(user=person, item=films[0])
    refresh.after_activation(ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE).pk)
    assert queued == [[person.pk]]


@pytest.fixture
def world(tmp_path, settings):
    """30 films and 2 games; 6 people who each play a run of films in order, one also a game;
    the hybrid trained on them by ml.hybrid.train, the active sequence version."""
    from ml.data import Interaction
    from ml.hybrid import train

    films = [ItemFactory(kind=Kind.FILM, title=f"Film {n}") for n in range(30)]
    games = [ItemFactory(kind=Kind.GAME, title=f"Game {n}") for n in range(2)]
    people = [UserFactory() for _ in range(6)]
    start = timezone.now() - timedelta(days=1)
    rows = []
    for n, person in enumerate(people):
        played = films[4 * n : 4 * n + 8] + ([games[0]] if n == 0 else [])
        for step, item in enumerate(played):
            at = start + timedelta(minutes=step)
            PlayFactory(user=person, item=item, started_at=at, completed=False)
            rows.append(Interaction(str(person.pk), str(item.pk), at.timestamp(), 1.0))
    lists.touch([p.pk for p in people])
    train(rows, tmp_path / "model", sequence_hyper={"epochs": 1, "dim": 8, "hidden": 8})
    version = ModelVersion.objects.create(
        kind="sequence", status=ModelVersion.Status.ACTIVE, path=str(tmp_path / "model"),
        main_metric="ndcg@10", metrics={},
    )  # fmt: skip
    serving.forget_active()
    # Lists of 2 a kind: a first ranking short of a kind is followed by a deeper one.
    settings.RECOMMENDATIONS_PER_KIND = 2
    return people, films + games, version


def test_lists_of_a_trained_model_are_the_best_per_kind_of_its_ranking(world, monkeypatch):
    people, items, version = world
    kinds = {item.pk: item.kind for item in items}
    titles = {item.pk: item.title for item in items}
    ranker = serving.ranker()
    assert ranker is not None

    depths = []
    recommend = type(ranker).recommend

    def recording(self, history, k, *args, **kwargs):
        depths.append(k)
        return recommend(self, history, k, *args, **kwargs)

    monkeypatch.setattr(type(ranker), "recommend", recording)
    monkeypatch.setattr(personal, "CANDIDATES", 8)
    assert refresh.refresh_people([p.pk for p in people]) == len(people)
    # Short of games after 8, with games in the catalogue they don't have: ranked deeper.
    assert set(depths) == {8, 80}

    cited = 0
    for person in people:
        history = personal.history(person.pk)
        played = {int(i) for i in history.items}
        # What one deep ranking of the person gives, split by kind.
        expected: dict[str, list[int]] = {kind: [] for kind in Kind.values}
        for r in recommend(ranker, history.items, 300, exclude=history.items):
            if len(expected[kinds[int(r.item)]]) < 2:
                expected[kinds[int(r.item)]].append(int(r.item))

        found, warm = _read(person, Kind.values)
        assert warm
        # The model knows one game (the other was never played): the one who played it has
        # no game of the model's left.
        assert expected[Kind.FILM] and bool(expected[Kind.GAME]) == (person != people[0])
        for kind in (k for k in (Kind.FILM, Kind.GAME) if expected[k]):
            shown = found[kind]
            assert (shown.personalised, shown.model_version) == (True, version.label)
            assert [e.item_id for e in shown.entries] == expected[kind]
            assert not played & {e.item_id for e in shown.entries}
            for entry in shown.entries:
                if entry.reason.startswith("Because you played "):
                    cited += 1
                    named = entry.reason.removeprefix("Because you played ")
                    assert named in {titles[i] for i in played}
                else:
                    assert entry.reason.startswith("Popular in ")
        assert found[Kind.MUSIC].entries == []  # no music in the catalogue, nothing popular
    assert cited  # reasons name the person's own items


# --- The warm-up racing a privacy change or an erasure ---------------------------------------
# Each race pauses the batch at a named step: one person's history has been read and ranked,
# their lists not yet cached; the other actor (a privacy change, an erasure) commits there.


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`committed(f)`: call f as its own transaction would, its on-commit work run as it ends
    (a privacy change or an erasure committed by another request)."""

    def run(step):
        with django_capture_on_commit_callbacks(execute=True):
            return step()

    return run


def _meanwhile(monkeypatch, person, step):
    """Run `step()` once, right after `person`'s lists are computed and before they are cached."""
    compute = personal.compute
    done: list[object] = []

    def pausing(user_id, *args, **kwargs):
        found = compute(user_id, *args, **kwargs)
        if user_id == person.pk and not done:
            done.append(step())
        return found

    monkeypatch.setattr(personal, "compute", pausing)


def _cached_lists(person) -> dict:
    return cache.get_many([lists.cache_key(person.pk, kind) for kind in Kind.values])


def test_personalisation_switched_off_mid_batch_leaves_no_list_and_none_in_the_export(
    films, monkeypatch, committed
):
    from entertainment.accounts.privacy import change_settings
    from recommender.exports import recommendations

    films, _ = films
    person, other = UserFactory(), UserFactory()
    for someone in (person, other):
        PlayFactory(user=someone, item=films[0])
    _meanwhile(
        monkeypatch, person, lambda: committed(lambda: change_settings(person, personalised=False))
    )

    assert refresh.refresh_people([person.pk, other.pk]) == 1

    assert _cached_lists(person) == {}
    assert lists.for_person(person, Kind.FILM, 10).personalised is False
    assert recommendations(person) == []
    assert _read(other)[1]
    # Switched on again: nothing computed before the switch passes for current.
    committed(lambda: change_settings(person, personalised=True))
    assert not _read(person)[1]


def test_lists_computed_before_an_erasure_mid_batch_are_neither_served_nor_kept(
    films, monkeypatch, committed
):
    from entertainment.accounts.erasure import erase_history

    films, _ = films
    person = UserFactory()
    PlayFactory(user=person, item=films[2], started_at=timezone.now() - timedelta(days=1))
    PlayFactory(user=person, item=films[0])  # the latest: the lists follow from it
    lists.touch([person.pk])
    _meanwhile(monkeypatch, person, lambda: committed(lambda: erase_history(person, [films[0].pk])))

    refresh.refresh_people([person.pk])

    # The cache holds nothing that names the erased item, even unserved.
    assert "Film 0" not in repr(_cached_lists(person))
    found, warm = _read(person)
    assert not warm  # computed again on the read, from the history as it is now
    reasons = [e.reason for e in found[Kind.FILM].entries]
    assert reasons and not [r for r in reasons if "Film 0" in r]


def test_an_account_erased_mid_batch_stops_nothing_and_leaves_nothing(
    films, monkeypatch, committed
):
    from entertainment.accounts.erasure import erase_account

    films, _ = films
    people = [UserFactory() for _ in range(3)]
    for person in people:
        PlayFactory(user=person, item=films[0])
    erased = people[1]
    erased_id = erased.pk
    _meanwhile(monkeypatch, erased, lambda: committed(lambda: erase_account(erased)))

    assert refresh.refresh_people([p.pk for p in people]) == 2

    assert cache.get_many(lists.read_keys(erased_id, list(Kind.values))) == {}
    for person in (people[0], people[2]):
        assert _read(person)[1]


def test_a_transient_failure_retries_the_batch_after_finishing_the_rest(films, monkeypatch):
    from django.db import OperationalError

    films, _ = films
    people = [UserFactory() for _ in range(3)]
    for person in people:
        PlayFactory(user=person, item=films[0])
    blinked = people[0]
    compute = lists.compute
    failures: list[int] = []

    def blinking(user_id, current=None):
        if user_id == blinked.pk and not failures:
            failures.append(user_id)
            raise OperationalError("server closed the connection unexpectedly")
        return compute(user_id, current)

    monkeypatch.setattr(lists, "compute", blinking)
    monkeypatch.setattr(tasks.refresh_batch, "default_retry_delay", 0)

    tasks.refresh_batch.apply(args=[[p.pk for p in people]])

    assert failures == [blinked.pk]
    for person in people:
        assert _read(person)[1], person
