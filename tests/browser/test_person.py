"""A person in a real browser: sign up, browse each kind, rate, play and review, and get
recommendations with their reasons; pause their history; export their data; erase their account."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from entertainment.accounts.models import User
from entertainment.activity.models import Play, Rating, Review
from entertainment.activity.views import PAUSED_MESSAGE

from .conftest import World, screenshot, sign_up, train_sequence

pytestmark = [pytest.mark.browser, pytest.mark.worker]


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

    # Their history lists all of it, newest first.
    page.get_by_role("link", name="My history").click()
    expect(page.locator(".history-entry")).to_contain_text(
        [
            "Reviewed Film 3 5.0 out of 5",
            "Played Film 2",
            "Rated Film 2 4.5 out of 5",
            "Rated Game 5 4.0 out of 5",
            "Played Album 3",
        ]
    )
    screenshot(page, "history")

    # No refresh runs: the home page computes this person's lists from what they just did,
    # each card with its reason.
    page.goto("/")
    expect(page.locator("#for-you-heading")).to_have_text("For you")
    for_you = page.locator("section.for-you")
    reasons = for_you.locator(".card-reason")
    expect(reasons.first).to_be_visible()
    said = reasons.all_inner_texts()
    assert len(said) == for_you.locator(".card").count(), "a card without its reason"
    mine = ("Album 3", "Game 5", "Film 2", "Film 3")
    assert any(title in reason for reason in said for title in mine), said
    for had in mine:  # nothing they played, rated or reviewed is suggested again
        expect(
            for_you.locator(".card-title").filter(has_text=re.compile(f"^{had}$"))
        ).to_have_count(0)
    screenshot(page, "home-signed-in-for-you")


def history_total(page: Page) -> str:
    page.get_by_role("link", name="My history").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your history")
    return page.get_by_role("navigation", name="Show").get_by_role("link").first.inner_text()


def test_a_paused_history_records_nothing(page: Page, world: World) -> None:
    sign_up(page, "pauser")
    person = User.objects.get(username="pauser")
    open_item(page, "Films", "Film 1")
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_text("Play recorded.")).to_be_visible()
    assert history_total(page) == "Everything (1)"
    expect(page.locator(".history-entry")).to_have_count(1)
    expect(page.locator(".history-entry")).to_contain_text("Played Film 1")

    page.get_by_role("navigation", name="Account").get_by_role("link", name="Privacy").click()
    pause = page.get_by_role("checkbox", name="Pause my history")
    expect(pause).not_to_be_checked()
    pause.check()
    page.get_by_role("button", name="Save my choices").click()
    banner = page.locator(".paused-banner")
    expect(banner).to_contain_text("Your history is paused")
    expect(page.get_by_role("checkbox", name="Pause my history")).to_be_checked()
    screenshot(page, "privacy")

    # Play, rate and review while paused: each is answered, none is stored.
    open_item(page, "Films", "Film 2")
    expect(
        page.get_by_role("note").filter(
            has_text="ratings, plays and reviews you make now are not stored"
        )
    ).to_be_visible()
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_text(PAUSED_MESSAGE)).to_be_visible()
    page.get_by_label("Your rating").select_option("3.5")
    page.get_by_role("button", name="Save rating").click()
    expect(page.get_by_text(PAUSED_MESSAGE)).to_be_visible()
    page.get_by_role("textbox", name="Your review").fill("Should leave no trace.")
    page.get_by_role("button", name="Publish review").click()
    expect(page.get_by_text(PAUSED_MESSAGE)).to_be_visible()
    expect(page.locator(".review", has_text="Should leave no trace.")).to_have_count(0)

    assert history_total(page) == "Everything (1)"
    expect(page.locator(".history-entry")).to_have_count(1)
    expect(page.locator("main")).not_to_contain_text("Film 2")
    expect(page.locator("main .notice")).to_have_text(
        "Your history is paused: nothing new is being stored."
    )
    screenshot(page, "history-paused")
    # Nothing reached the database either.
    assert Play.objects.filter(user=person).count() == 1
    assert not Rating.objects.filter(user=person).exists()
    assert not Review.objects.filter(user=person).exists()


def test_a_person_downloads_an_export_of_their_data_then_erases_their_account(
    page: Page, world: World, celery_worker_process: object, tmp_path: Path
) -> None:
    sign_up(page, "leaver")
    open_item(page, "Games", "Game 2")
    page.get_by_label("Your rating").select_option("2.5")
    page.get_by_role("button", name="Save rating").click()
    expect(page.get_by_text("Rated 2.5 out of 5.")).to_be_visible()
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_text("Play recorded.")).to_be_visible()

    # Export: the worker builds the archive while the exports page refreshes itself.
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Privacy").click()
    page.get_by_role("button", name="Export my data").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your exports")
    download_link = page.get_by_role("link", name="Download ZIP")
    expect(download_link).to_be_visible(timeout=60_000)
    expect(page.locator("tbody tr").first).to_contain_text("Ready")
    screenshot(page, "exports")
    with page.expect_download() as started:
        download_link.click()
    download = started.value
    assert download.suggested_filename.endswith(".zip")
    archive_path = tmp_path / download.suggested_filename
    download.save_as(archive_path)
    with zipfile.ZipFile(archive_path) as archive:
        assert {"encore-export.json", "ratings.csv", "plays.csv"} <= set(archive.namelist())
        document = json.loads(archive.read("encore-export.json"))
    assert document["profile"][0]["username"] == "leaver"
    assert [(r["item__title"], r["value"]) for r in document["ratings"]] == [("Game 2", "2.5")]
    assert [p["item__title"] for p in document["plays"]] == ["Game 2"]

    # Erase: confirm with the username; the person ends logged out, their account gone.
    page.goto("/accounts/privacy/")
    page.get_by_role("link", name="Erase your whole account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Erase your whole account?")
    page.get_by_label("Type your username to confirm").fill("leaver")
    page.get_by_role("button", name="Erase my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account has been erased")
    account_nav = page.get_by_role("navigation", name="Account")
    expect(account_nav.get_by_role("link", name="Log in")).to_be_visible()
    expect(account_nav.get_by_role("button", name="Log out")).to_have_count(0)
    page.goto("/me/history/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/me/history/$"))
    assert not User.objects.filter(username="leaver").exists()
