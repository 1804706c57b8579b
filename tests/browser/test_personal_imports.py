"""A person brings their Letterboxd history in a real browser: they upload the export, the
worker imports it, they find the one title the catalogue did not match, and their "For you"
row follows what they did (a planted serving model, so the order is known)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from entertainment.catalogue.models import Item, Kind
from entertainment.personal_imports.models import PersonalImport
from recommender import serving
from recommender.models import ModelVersion
from tests.entertainment.personal_imports_helpers import fixture, letterboxd_zip
from tests.recommender.factories import ModelVersionFactory
from tests.recommender.serving_model import write_model

from .conftest import screenshot, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def film(title: str, year: int) -> Item:
    return Item.objects.create(kind=Kind.FILM, title=title, year=year)


def plant_model(items: list[Item], follows: dict[int, int]) -> None:
    """An active sequence version where each of `follows` leads to its successor."""
    directory = Path(settings.MODEL_DIR) / "planted-imports"
    write_model(directory, [item.pk for item in items], follows)
    ModelVersionFactory(kind="sequence", status=ModelVersion.Status.ACTIVE, path=str(directory))
    serving.forget_active()


def export_without_a_diary_entry_for_the_short() -> bytes:
    """The fixture export, the short rated and watched but never logged in the diary: the
    sequence model dates an item by its first event, and a rating has no date but its own."""
    diary = fixture("letterboxd-export/diary.csv").split(b"\r\n")
    kept = b"\r\n".join(line for line in diary if b"Obscure" not in line)
    return letterboxd_zip(diary_csv=kept)


def for_you_titles(page: Page) -> list[str]:
    page.goto("/")
    expect(page.locator("#for-you-heading")).to_have_text("For you")
    return page.locator("section.for-you .card-title").all_inner_texts()


def test_a_person_brings_their_letterboxd_history_and_for_you_follows(
    page: Page, transactional_db: Any, celery_worker_process: object
) -> None:
    matrix, parasite = film("The Matrix", 1999), film("Parasite", 2019)
    amelie, spirited = film("Amelie", 2001), film("Spirited Away", 2001)
    short = film("A Very Obscure Festival Short", 2022)
    reloaded, sequel = film("The Matrix Reloaded", 2003), film("Festival Sequel", 2024)
    others = [film(f"Film {n}", 2000 + n) for n in range(16)]
    plant_model(
        [matrix, parasite, amelie, spirited, short, reloaded, sequel, *others],
        # Whichever of the films they had is their latest, "The Matrix Reloaded" follows it.
        follows={
            **{had.pk: reloaded.pk for had in (matrix, parasite, amelie, spirited)},
            short.pk: sequel.pk,
        },
    )

    sign_up(page, "cinephile")
    page.get_by_role("navigation", name="Account").get_by_text("cinephile").click()
    page.get_by_role("link", name="Bring your history").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bring your history")
    page.get_by_label("Your export").set_input_files(
        files=[{"name": "letterboxd-cinephile.zip", "mimeType": "application/zip",
                "buffer": export_without_a_diary_entry_for_the_short()}]
    )  # fmt: skip
    page.get_by_label("Which export").select_option("letterboxd")
    page.get_by_role("button", name="Import").click()

    # The page follows the worker until the import is done (it refreshes itself).
    expect(page.get_by_role("heading", level=1)).to_have_text("Import of letterboxd-cinephile.zip")
    expect(page.locator(".import-status")).to_have_text(re.compile("^Done"), timeout=60_000)
    expect(page.get_by_text("9 new entries in your history")).to_be_visible()
    unmatched = page.locator("tr.unmatched-row")
    expect(unmatched).to_have_count(1)
    expect(unmatched).to_contain_text("Obscure Festival Short (2022)")
    expect(unmatched).to_contain_text("rated 3.5, watched 1 time")
    screenshot(page, "personal-import-done")
    assert PersonalImport.objects.get().upload is None

    # What they did follows into their lists, and nothing they watched is suggested.
    before = for_you_titles(page)
    assert before[0] == "The Matrix Reloaded", before
    assert not {"The Matrix", "Parasite", "Amelie", "Spirited Away"} & set(before), before

    # Find the title the catalogue holds under another name, and pick it.
    page.go_back()
    page.get_by_role("link", name="Find “Obscure Festival Short”").click()
    search = page.get_by_role("textbox", name="Title to find")
    expect(search).to_have_value("Obscure Festival Short")
    search.fill("no such film")
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.get_by_text("Nothing in the catalogue matches that.")).to_be_visible()
    page.get_by_role("textbox", name="Title to find").fill("festival short")
    page.get_by_role("button", name="Find", exact=True).click()
    page.get_by_role("button", name="This is A Very Obscure Festival Short (2022)").click()
    expect(page.get_by_text("Matched “Obscure Festival Short”")).to_be_visible()
    expect(page.locator("tr.unmatched-row")).to_have_count(0)
    expect(page.locator(".resolved-rows")).to_contain_text(
        "Obscure Festival Short (2022): matched to A Very Obscure Festival Short (2022)"
    )
    screenshot(page, "personal-import-matched")

    # Rated and watched just now, it is their latest: "For you" leads with what follows it.
    after = for_you_titles(page)
    assert after[0] == "Festival Sequel", after
    assert "A Very Obscure Festival Short" not in after
