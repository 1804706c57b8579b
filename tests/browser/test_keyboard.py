"""The main pages with the keyboard only: Tab moves through every link and control in order
with a visible focus, the skip link jumps to the content, Enter follows links and submits
forms, Space toggles a checkbox."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.factories import UserFactory

from .conftest import World, log_in

pytestmark = [pytest.mark.browser, pytest.mark.worker]

# Every tab stop of the page in document order (no positive tabindex is used anywhere), each
# marked with its position: links, controls, and one stop per radio group (its checked radio).
TAB_STOPS_JS = """() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, '
    + '[tabindex]:not([tabindex="-1"])';
  const stops = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.disabled || el.tabIndex < 0) continue;
    const closed = el.closest('details:not([open])');
    if (closed && el !== closed.querySelector(':scope > summary')) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || !el.getClientRects().length) continue;
    if (el.type === 'radio') {
      const group = [...document.getElementsByName(el.name)];
      const stop = group.find((radio) => radio.checked) || group[0];
      if (el !== stop) continue;
    }
    el.dataset.tabStop = String(stops.length);
    stops.push(el.outerHTML.slice(0, 80));
  }
  return stops;
}"""

# What has the focus, and whether the focus can be seen.
FOCUSED_JS = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  return {
    stop: el.dataset.tabStop ?? null,
    html: el.outerHTML.slice(0, 80),
    focusVisible: el.matches(':focus-visible'),
    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
    onScreen: box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0
      && box.top < window.innerHeight && box.left < window.innerWidth,
  };
}"""


def focused(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate(FOCUSED_JS)
    return result


def from_the_top(page: Page) -> None:
    """Load the page afresh: the next Tab starts from the top of the document again (after a
    blur, Chromium would go on from where the focus was)."""
    page.reload()


def assert_tab_order(page: Page) -> int:
    """Tab from the top of the page through every stop; each in order, its focus visible."""
    from_the_top(page)
    stops: list[str] = page.evaluate(TAB_STOPS_JS)
    assert stops, "no tab stops on the page"
    for expected, html in enumerate(stops):
        page.keyboard.press("Tab")
        now = focused(page)
        assert now["stop"] == str(expected), (
            f"on {page.url}, Tab number {expected + 1} should focus {html}, not {now['html']}"
        )
        assert now["focusVisible"] and now["outline"], f"no visible focus on {now['html']}"
        assert now["onScreen"], f"the focused {now['html']} is off screen"
    return len(stops)


def tab_to(page: Page, selector: str, limit: int = 150) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} never took the focus on {page.url}")


def test_the_main_pages_work_with_the_keyboard_alone(page: Page, world: World) -> None:
    UserFactory(username="keys")
    log_in(page, "keys")

    # Home: the skip link is the first stop and jumps past the header to the content.
    page.goto("/")
    assert assert_tab_order(page) > 20
    from_the_top(page)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/#main$"))
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Browse films")).to_be_focused()
    page.keyboard.press("Enter")  # Enter follows a link
    expect(page.get_by_role("heading", level=1)).to_have_text("Films")

    # A kind list, then an item from it.
    assert assert_tab_order(page) > 10
    from_the_top(page)
    tab_to(page, f'.card-link[href$="/item/{world.films[2].pk}/"]')
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Film 3")

    # The item page: rate with the keyboard (arrow keys in the select, Enter on the button).
    assert assert_tab_order(page) > 10
    from_the_top(page)
    tab_to(page, "#id_value")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#id_value")).to_have_value("1.0")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save rating")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Rated 1.0 out of 5.")).to_be_visible()

    # Search: type in the field and submit with Enter.
    from_the_top(page)
    tab_to(page, "#site-search-q")
    page.keyboard.type("Album 4")
    page.keyboard.press("Enter")
    expect(page.locator(".card-title")).to_have_text(["Album 4"])

    # The privacy page: Space toggles a switch, Enter on the button saves.
    page.goto("/accounts/privacy/")
    assert assert_tab_order(page) > 10
    from_the_top(page)
    tab_to(page, "#id_history_paused")
    pause = page.get_by_role("checkbox", name="Pause my history")
    expect(pause).not_to_be_checked()
    page.keyboard.press("Space")
    expect(pause).to_be_checked()
    tab_to(page, ".privacy-form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Saved. Pause my history: on.")).to_be_visible()
    expect(page.locator(".paused-banner")).to_contain_text("Your history is paused")
