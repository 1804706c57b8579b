"""Staff in a real browser: train a model from the dashboard, watch its progress bar fill, see
the new version in the versions table and the metric chart, and roll back."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from recommender import registry
from recommender.models import ModelKind, TrainingRun
from tests.factories import PlayFactory, StaffFactory, UserFactory

from .conftest import build_world, log_in, screenshot, train_sequence

pytestmark = [pytest.mark.browser, pytest.mark.worker]

SEQUENCE = ModelKind.SEQUENCE.label


def watch_progress(page: Page, run_id: int, timeout: float = 120) -> list[int]:
    """The run's progress bar as the page's script updates it, read until it is full."""
    bar = f'#run-rows tr[data-run-id="{run_id}"] progress'
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(f"() => document.querySelector('{bar}')?.value ?? null")
        if value is not None and (not seen or seen[-1] != int(value)):
            seen.append(int(value))
        if seen and seen[-1] == 100:
            return seen
        page.wait_for_timeout(200)
    raise AssertionError(f"the progress bar of run {run_id} stopped at {seen} after {timeout} s")


def chart_labels(page: Page, kind: str) -> list[str]:
    """The version labels the chart library drew on the kind's canvas."""
    labels = page.evaluate(
        """(kind) => {
            const canvas = document.querySelector(`canvas[data-kind="${kind}"]`);
            const chart = canvas && window.Chart && window.Chart.getChart(canvas);
            return chart ? chart.data.labels : null;
        }""",
        kind,
    )
    assert labels is not None, f"no chart drawn for {kind}"
    return list(labels)


def test_staff_train_watch_progress_see_the_new_version_and_roll_back(
    page: Page, transactional_db: None, celery_worker_process: object
) -> None:
    build_world()
    train_sequence()
    first = registry.active_version("sequence")
    assert first is not None
    # New plays since, so the next run has new data to learn from (else it is skipped).
    for person in UserFactory.create_batch(4):
        PlayFactory(user=person)
    StaffFactory(username="curator")

    log_in(page, "curator")
    page.goto("/staff/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff dashboard")
    card = page.locator("article.dash-card", has=page.get_by_role("heading", name=SEQUENCE))
    expect(card.locator("dd").first).to_have_text(first.label)
    assert chart_labels(page, "sequence") == [first.label]

    card.get_by_role("button", name="Train now").click()
    run = TrainingRun.objects.filter(kind="sequence").latest("pk")
    expect(page.get_by_text(f"Queued {SEQUENCE} training (run {run.pk}).")).to_be_visible()
    # The page's script fills the bar from /staff/progress.json, without a reload: a marker
    # set on this window now is still there when the bar is full.
    page.evaluate("() => { window.stillThisPage = true; }")
    seen = watch_progress(page, run.pk)
    assert seen[0] < 100 and seen == sorted(seen), f"the bar did not move up to 100%: {seen}"
    assert page.evaluate("() => window.stillThisPage === true"), "the page was reloaded"
    row = page.locator(f'#run-rows tr[data-run-id="{run.pk}"]')
    expect(row.locator(".status")).to_have_text("Succeeded")
    expect(row.locator(".pct")).to_have_text("100%")

    # The status line offers a reload; the new version is then in the table and the chart.
    status = page.locator("#runs-status")
    expect(status).to_contain_text(f"run {run.pk} succeeded")
    status.get_by_role("link", name="Reload to see new versions").click()
    run.refresh_from_db()
    second = run.model_version
    assert second is not None and second.pk != first.pk
    expect(card.locator("dd").first).to_have_text(second.label)
    versions = page.locator("section[aria-labelledby=versions-heading] table").first
    expect(versions.locator("tr", has_text=second.label).locator(".status")).to_have_text("Active")
    expect(versions.locator("tr", has_text=first.label).locator(".status")).to_have_text("Retired")
    assert chart_labels(page, "sequence") == [first.label, second.label]
    expect(page.locator('canvas[data-kind="sequence"]')).to_have_attribute(
        "aria-label",
        f"ndcg@10 of 2 {SEQUENCE} versions, oldest first; the values are in the table below",
    )
    screenshot(page, "staff-dashboard")

    card.get_by_role("button", name=f"Roll back to {first.label}").click()
    expect(page.get_by_text(f"Rolled back: {first.label} is active again")).to_be_visible()
    expect(card.locator("dd").first).to_have_text(first.label)
    expect(versions.locator("tr", has_text=first.label).locator(".status")).to_have_text("Active")
    active = registry.active_version("sequence")
    assert active is not None and active.pk == first.pk
