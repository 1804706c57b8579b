"""A person in a real browser: sign up, browse each kind, rate, play and review, and get
recommendations with their reasons; pause their history; export their data; erase their account."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from recommender.tasks import refresh_recommendations

from .conftest import World, build_world, reload_until, screenshot, sign_up, train_sequence

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.fixture
def world(transactional_db: None) -> World:
    return build_world()


def open_item(page: Page, kind_link: str, title: str, shot: str = "") -> None:
    """From any page: the kind's list in the site navigation, then the item's card."""
    page.get_by_role("navigation", name="Catalogue").get_by_role("link", name=kind_link).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(kind_link)
    expect(page.locator(".result-count")).to_have_text("8 results")
    if shot:
        screenshot(page, shot)
    page.locator(".card-link", has_text=title).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def panel(page: Page, heading: str) -> Locator:
    return page.locator("section.item-panel", has=page.get_by_role("heading", name=heading))


def test_a_new_person_rates_plays_and_reviews_and_gets_recommendations_with_reasons(
    page: Page, world: World, celery_worker_process: object
) -> None:
    train_sequence()  # what the others played: the active model before this person arrives

    page.goto("/")
    expect(page.get_by_role("link", name="Sign up and rate a few")).to_be_visible()
    screenshot(page, "home-signed-out")

    sign_up(page, "newcomer")
    expect(page.get_by_text("Welcome back, newcomer.")).to_be_visible()

    # Browse each kind.
    open_item(page, "Music", "Album 3")
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_text("Play recorded.")).to_be_visible()
    expect(page.get_by_text("You have played this 1 time.")).to_be_visible()

    open_item(page, "Games", "Game 5")
    page.get_by_label("Your rating").select_option("4.0")
    page.get_by_role("button", name="Save rating").click()
    expect(page.get_by_text("Rated 4.0 out of 5.")).to_be_visible()
    expect(page.get_by_text("You rated this 4.0 out of 5.")).to_be_visible()

    open_item(page, "Films", "Film 2", shot="list-films")
    page.get_by_label("Your rating").select_option("4.5")
    page.get_by_role("button", name="Save rating").click()
    expect(page.get_by_text("Rated 4.5 out of 5.")).to_be_visible()
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_text("Play recorded.")).to_be_visible()

    # "Up next" follows the play at once, with its reason; what follows Film 2 is Film 3.
    up_next = panel(page, "Up next")
    expect(up_next).to_be_visible()
    expect(up_next.locator(".card-title", has_text="Film 3")).to_be_visible()
    expect(up_next.locator(".card-reason").first).to_have_text("Because you played Film 2")
    expect(up_next.locator(".card-title", has_text="Film 2")).to_have_count(0)  # rated

    # Follow the suggestion and review it.
    up_next.locator(".card-link", has_text="Film 3").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Film 3")
    page.get_by_role("textbox", name="Your review").fill(
        "A tense, beautifully shot sequel. Loved it."
    )
    page.get_by_label("Stars with your review (optional)").select_option("5.0")
    page.get_by_role("button", name="Publish review").click()
    expect(page.get_by_text("Review saved.")).to_be_visible()
    review = page.locator(".review", has_text="A tense, beautifully shot sequel.")
    expect(review.locator(".badge")).to_have_text("You")
    screenshot(page, "item-page")

    # The hourly refresh (what the beat sends) computes this person's lists on the worker;
    # the home page then shows their own rows, each card with its reason.
    refresh_recommendations.delay()
    page.goto("/")
    reload_until(page, "#for-you-heading:text-is('For you')", 60, "the person's own rows")
    for_you = page.locator("section.for-you")
    reasons = for_you.locator(".card-reason")
    expect(reasons.first).to_be_visible()
    assert all(text.strip() for text in reasons.all_inner_texts())
    screenshot(page, "home-signed-in-for-you")
