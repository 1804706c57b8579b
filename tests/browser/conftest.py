"""Real-browser tests: Playwright drives Debian's Chromium against a live server and a real
Celery worker, on PostgreSQL and Redis (each module marks its tests `browser` and `worker`, so
the SQLite pass leaves them out).

Nothing downloads a browser: Chromium is launched from /usr/bin/chromium (`make browser`).
Screenshots of the main pages go to test-artifacts/screenshots/ (ignored by git).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from entertainment.catalogue.models import Item, Kind
from recommender import serving
from recommender.models import TrainingRun
from recommender.training import request_training
from tests.conftest import ROOT, finished_run
from tests.factories import ItemFactory, PlayFactory, RatingFactory, UserFactory

CHROMIUM = Path("/usr/bin/chromium")
# We run as root (no sandbox) on a machine without internet: nothing may phone home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# Sign-ups through the form need a password Django's validators accept.
PASSWORD = "a long unusual passphrase 42"
# The password of people made by UserFactory (staff included).
FACTORY_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="package")
def _orm_beside_playwright() -> Iterator[None]:
    # Playwright's sync API runs an asyncio event loop in the test's own thread (inside a
    # greenlet) for as long as the browser is open, so Django sees a running loop and refuses
    # every ORM call the test makes with SynchronousOnlyOperation. These are ordinary blocking
    # calls made between browser steps, never from a coroutine, so allowing them is safe. Set
    # only while this package's browser is open: tests elsewhere keep Django's guard.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="package")
def browser(_orm_beside_playwright: None) -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (`make browser`)")
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()
    finally:
        playwright.stop()


@pytest.fixture
def cache_prefix() -> str:
    return f"browser-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def _shared_cache(_isolated_storage: None, settings: Any, cache_prefix: str) -> Iterator[None]:
    """The live server and the worker share one cache, as web and worker do in production.

    The suite's default (a LocMem cache per test) would leave the web blind to what the worker
    caches: refreshed lists, and the "nothing computed yet" marker the web caches meanwhile.
    A fresh key prefix keeps each test's entries apart; they are deleted afterwards.
    """
    if not settings.REDIS_URL:
        yield
        return
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "KEY_PREFIX": cache_prefix,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    # Realtime "up next" remembers the active sequence model for a few seconds per process.
    serving.forget_active()
    yield
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(f"{cache_prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def worker_env(cache_prefix: str) -> dict[str, str]:
    return {
        "CACHE_KEY_PREFIX": cache_prefix,
        # Every trained version replaces the active one, whatever its metric: the flows need a
        # new version to appear, and a metric decided by a few dozen people is noise.
        "MODEL_ACTIVATION_TOLERANCE": "1.0",
    }


# --- Pages and what the browser reports --------------------------------------------------


@dataclass
class Console:
    """Console errors and uncaught exceptions of every page of a test.

    Content-Security-Policy violations are console errors ("... violates the following Content
    Security Policy directive ..."), so any of them fails the test, as does a script error or a
    resource that failed to load.
    """

    problems: list[str] = field(default_factory=list)
    _watched: set[int] = field(default_factory=set)

    def watch(self, page: Page) -> None:
        if id(page) in self._watched:
            return
        self._watched.add(id(page))

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.problems.append(f"console error on {page.url}: {message.text}")

        def on_page_error(error: Exception) -> None:
            self.problems.append(f"uncaught error on {page.url}: {error}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)

    def check(self) -> None:
        problems = list(self.problems)
        self.problems.clear()
        assert not problems, "the browser reported:\n" + "\n".join(problems)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail the test itself (not its teardown) on what the browser reported while it ran."""
    result = yield
    console = getattr(item, "funcargs", {}).get("console")
    if isinstance(console, Console):
        console.check()
    return result


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def context(browser: Browser, live_server: Any, console: Console) -> Iterator[BrowserContext]:
    ctx = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        timezone_id="UTC",
        reduced_motion="reduce",
        accept_downloads=True,
    )
    ctx.set_default_timeout(15_000)
    ctx.on("page", console.watch)
    yield ctx
    ctx.close()
    console.check()  # anything reported after the test's last step


@pytest.fixture
def page(context: BrowserContext, console: Console) -> Page:
    opened = context.new_page()
    console.watch(opened)
    return opened


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot under test-artifacts/screenshots/ (kept out of git)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- People and the catalogue ------------------------------------------------------------


def sign_up(page: Page, username: str) -> None:
    """Create an account through the sign-up form; the new person is logged in."""
    page.goto("/accounts/signup/")
    page.get_by_label("Username").fill(username)
    page.locator("#id_password1").fill(PASSWORD)  # labels end with Django's ":" suffix
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.get_by_text(f"Welcome to Encore, {username}!").wait_for()


def log_in(page: Page, username: str, password: str = FACTORY_PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("navigation", name="Account").get_by_text(username).wait_for()


@dataclass(frozen=True)
class World:
    films: list[Item]
    music: list[Item]
    games: list[Item]

    @property
    def items(self) -> list[Item]:
        return [*self.films, *self.music, *self.games]


KIND_TITLES = {Kind.FILM: "Film", Kind.MUSIC: "Album", Kind.GAME: "Game"}


def build_world(people: int = 30, per_kind: int = 8) -> World:
    """A small catalogue (films, albums, games) and people who play it in a fixed cycle.

    The cycle runs through the films, then the albums, then the games, so what follows an
    item is almost always the next one of its kind: the successor structure the sequence
    model learns, and what the item pages' "Up next" panels then show.
    """
    by_kind = {
        kind: [
            ItemFactory(
                kind=kind,
                title=f"{label} {n + 1}",
                music_type="album" if kind == Kind.MUSIC else "",
                year=1990 + n,
            )
            for n in range(per_kind)
        ]
        for kind, label in KIND_TITLES.items()
    }
    catalogue = [*by_kind[Kind.FILM], *by_kind[Kind.MUSIC], *by_kind[Kind.GAME]]
    start = timezone.now() - timedelta(days=30)
    for p in range(people):
        person = UserFactory()
        offset = (p * 5) % len(catalogue)
        for step in range(12):
            item = catalogue[(offset + step) % len(catalogue)]
            PlayFactory(user=person, item=item, started_at=start + timedelta(hours=p * 13 + step))
        RatingFactory(user=person, item=catalogue[offset], value=Decimal("4.5"))
    return World(by_kind[Kind.FILM], by_kind[Kind.MUSIC], by_kind[Kind.GAME])


@pytest.fixture
def world(transactional_db: None) -> World:
    return build_world()


def train_sequence() -> TrainingRun:
    """Train the sequence model through the worker; the new version is active afterwards."""
    (run,) = request_training(["sequence"])
    run = finished_run(run.pk, timeout=180)
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    return run
