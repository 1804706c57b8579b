"""Staff run an online experiment in a real browser: start it on the dashboard, a crowd of 200
people browses the live site (bench/experiment_crowd.py: log in, open "For you", click through,
play) with a planted liking for the items arm B's version shows, the dashboard then shows arm
B significantly ahead, and staff stop the experiment and activate the winner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from bench import experiment_crowd
from entertainment.activity import impressions
from entertainment.activity.models import Impression
from entertainment.catalogue.models import Kind
from recommender import registry, serving
from recommender.models import Experiment
from tests.factories import ItemFactory, PlayFactory, StaffFactory, UserFactory
from tests.recommender.factories import ModelVersionFactory
from tests.recommender.serving_model import write_model

from .conftest import FACTORY_PASSWORD, log_in, screenshot

pytestmark = [pytest.mark.browser]

# The crowd of the issue: bench/experiment_crowd.py's 200 people.
CROWD = 200


def _version(directory: Path, films: list[Any], popular: list[Any]) -> Any:
    write_model(directory, [f.pk for f in films], popular=[f.pk for f in popular])
    return ModelVersionFactory(kind="sequence", path=str(directory))


def test_staff_start_an_experiment_watch_a_crowd_decide_it_and_activate_the_winner(
    page: Page, live_server: Any, transactional_db: None, settings: Any
) -> None:
    settings.EXPERIMENT_MIN_PEOPLE = 50  # the default; about 100 people in each arm
    films = [ItemFactory(kind=Kind.FILM, title=f"Film {n}") for n in range(30)]
    # Version A puts Films 0-5 first, version B Films 10-15: the crowd likes B's.
    models = Path(settings.MODEL_DIR)
    first = registry.activate(_version(models / "crowd-a", films, films[0:6]))
    second = _version(models / "crowd-b", films, films[10:16])
    serving.forget_active()
    crowd = []
    for n in range(CROWD):
        person = UserFactory(username=f"crowd-{n:03d}")
        PlayFactory(user=person, item=films[29])  # a history: their own lists
        crowd.append(experiment_crowd.Person(person.username, FACTORY_PASSWORD))
    StaffFactory(username="analyst")

    log_in(page, "analyst")
    page.goto("/staff/")
    form = page.get_by_role("form", name="Start an experiment")
    form.get_by_label("Name").fill("B's popular picks")
    expect(form.get_by_label("Arm A", exact=True)).to_have_value(str(first.pk))
    form.get_by_label("Arm B", exact=True).select_option(label=second.label)
    form.get_by_label("Share of people in arm B").fill("0.5")
    form.get_by_role("button", name="Start experiment").click()
    expect(page.get_by_text("Started experiment “B's popular picks”")).to_be_visible()
    experiment = Experiment.objects.get()
    card = page.locator(f'article[data-experiment-id="{experiment.pk}"]')
    expect(card.get_by_text("not significant yet")).to_be_visible()

    done = experiment_crowd.browse(
        live_server.url, crowd, {f.pk for f in films[10:16]}, click_liked=0.4, click_other=0.05
    )
    assert done.errors == []
    assert done.people == CROWD and done.clicks > 25 and done.plays > 10
    impressions.flush()  # what the cpu worker's flush does every minute
    rows = Impression.objects.filter(experiment_id=experiment.pk)
    assert set(rows.values_list("arm", flat=True)) == {"a", "b"}
    assert rows.exclude(clicked_at=None).exists() and rows.exclude(played_at=None).exists()

    page.reload()
    card = page.locator(f'article[data-experiment-id="{experiment.pk}"]')
    expect(card.locator(".experiment-verdict .status")).to_have_text("significant")
    expect(card.get_by_text("Arm B is ahead.")).to_be_visible()
    expect(card.locator('tr[data-arm="b"] td').first).to_have_text(second.label)
    screenshot(page, "staff-experiment")

    card.get_by_role("button", name="Stop experiment").click()
    expect(page.get_by_text("Stopped experiment “B's popular picks”: arm B won.")).to_be_visible()
    card = page.locator(f'article[data-experiment-id="{experiment.pk}"]')
    card.get_by_role("button", name="Activate winner").click()
    expect(page.get_by_text(f"{second.label} is now active")).to_be_visible()
    active = registry.active_version("sequence")
    assert active is not None and active.pk == second.pk
    experiment.refresh_from_db()
    assert (experiment.status, experiment.winner) == ("stopped", "b")
