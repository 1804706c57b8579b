"""A crowd for an online experiment: people who sign in, open their home page ("For you"),
click through to some of the items it shows (the item page with the card's `?via=<list>`) and
play some of those, with a planted preference for some items: the crowd clicks a liked item
far more often than another, so the arm whose lists show the liked items should win.

    .venv/bin/python bench/experiment_crowd.py --url http://127.0.0.1:8000 [--people 200]
        [--click-liked 0.5] [--click-other 0.05] [--play 0.5] [--seed 0]

Against a running site (`make demo`, then start an experiment on /staff/) with the same
DATABASE_URL and REDIS_URL as this process: it makes (or reuses) --people accounts named
`crowd-NNN`, each with one play so they have a history, takes as liked the items arm B's lists
show and arm A's do not (read in-process for one person of each arm), browses as each person
over HTTP, writes the buffered impressions (as the `cpu` worker's flush would) and prints the
arms' figures. `browse` is also what tests/browser/test_experiments.py drives against its live
server.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests

# A card's link on a page: the item page, with the list it came from.
CARD_LINK = re.compile(r'href="(/catalogue/item/(\d+)/\?via=([a-z_]+))"')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PASSWORD = "crowd passphrase for the bench 7"


@dataclass(frozen=True)
class Person:
    username: str
    password: str


@dataclass
class Crowd:
    """What the crowd did."""

    people: int = 0
    shown: int = 0
    clicks: int = 0
    plays: int = 0
    errors: list[str] = field(default_factory=list)


def _loopback_is_secure(session: requests.Session, base_url: str) -> None:
    """Browsers treat http://localhost as a secure context and send it Secure cookies; so does
    the crowd (without DEBUG the site marks its CSRF and session cookies Secure). Called after
    each answer: requests copies the jar per request, so a cookie policy would not last."""
    if urllib.parse.urlsplit(base_url).hostname in ("localhost", "127.0.0.1", "::1"):
        for cookie in session.cookies:
            cookie.secure = False


def _log_in(session: requests.Session, base_url: str, person: Person) -> None:
    page = session.get(f"{base_url}/accounts/login/", timeout=30)
    page.raise_for_status()
    _loopback_is_secure(session, base_url)
    found = CSRF_INPUT.search(page.text)
    if found is None:
        raise RuntimeError("the log-in page has no CSRF token")
    answer = session.post(
        f"{base_url}/accounts/login/",
        data={
            "username": person.username,
            "password": person.password,
            "csrfmiddlewaretoken": found.group(1),
        },
        headers={"Referer": f"{base_url}/accounts/login/"},
        timeout=30,
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise RuntimeError(f"{person.username} could not log in ({answer.status_code})")
    _loopback_is_secure(session, base_url)


def browse(
    base_url: str,
    people: Iterable[Person],
    liked: set[int],
    *,
    click_liked: float = 0.5,
    click_other: float = 0.05,
    play: float = 0.5,
    seed: int = 0,
) -> Crowd:
    """Each person signs in, opens the home page, clicks each card shown with the chance its
    item's liking gives it (the item page, `?via=` as the card links it), and plays a share of
    what they clicked (POST /api/plays/). Deterministic for a seed."""
    rng = random.Random(seed)
    crowd = Crowd()
    base_url = base_url.rstrip("/")
    for person in people:
        with requests.Session() as session:
            try:
                _log_in(session, base_url, person)
                home = session.get(f"{base_url}/", timeout=30)
                home.raise_for_status()
            except (requests.RequestException, RuntimeError) as exc:
                crowd.errors.append(f"{person.username}: {exc}")
                continue
            crowd.people += 1
            cards = list(dict.fromkeys(CARD_LINK.findall(home.text)))
            crowd.shown += len(cards)
            for link, item, _via in cards:
                if rng.random() >= (click_liked if int(item) in liked else click_other):
                    continue
                opened = session.get(f"{base_url}{link}", timeout=30)
                if opened.status_code != 200:
                    crowd.errors.append(f"{person.username}: {link} answered {opened.status_code}")
                    continue
                crowd.clicks += 1
                _loopback_is_secure(session, base_url)
                if rng.random() < play:
                    answer = session.post(
                        f"{base_url}/api/plays/",
                        json={"item": int(item), "seconds_played": 600},
                        headers={
                            "X-CSRFToken": session.cookies.get("csrftoken") or "",
                            "Referer": f"{base_url}{link}",
                        },
                        timeout=30,
                    )
                    if answer.status_code in (200, 201):
                        crowd.plays += 1
                    else:
                        crowd.errors.append(f"{person.username}: play {answer.status_code}")
    return crowd


# --- Stand-alone: against a running site, with its database and Redis -----------------------


def _setup(n: int) -> tuple[list[Person], set[int], int]:
    """The crowd's accounts, the liked items (arm B's and not arm A's) and the experiment id."""
    import django

    django.setup()
    from django.db import transaction

    from entertainment.accounts.models import User
    from entertainment.activity.models import Play
    from entertainment.catalogue.models import Item
    from recommender import experiments, lists

    running = experiments.running("sequence")
    if running is None:
        sys.exit("no sequence experiment is running: start one on /staff/ first")
    items = list(Item.objects.filter(kind="film").values_list("pk", flat=True)[:200])
    if not items:
        sys.exit("the catalogue has no films: `make demo` first")
    rng = random.Random(1)
    people = []
    with transaction.atomic():
        for i in range(n):
            username = f"crowd-{i:03d}"
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User.objects.create_user(username, password=PASSWORD)
                Play.objects.create(user=user, item_id=rng.choice(items), seconds_played=300)
            people.append(Person(username, PASSWORD))
    users = {u.username: u for u in User.objects.filter(username__startswith="crowd-")}
    shown: dict[str, set[int]] = {"a": set(), "b": set()}
    for person in people:
        user = users[person.username]
        arm = running.arm(user.pk)
        if not shown[arm]:
            found = lists.for_kinds(user, ["film"], 24)["film"]
            shown[arm] = {e.item_id for e in found.entries}
    return people, shown["b"] - shown["a"], running.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the running site, e.g. http://127.0.0.1:8000")
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--click-liked", type=float, default=0.5)
    parser.add_argument("--click-other", type=float, default=0.05)
    parser.add_argument("--play", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "entertainment.settings")
    people, liked, experiment_id = _setup(args.people)
    print(f"experiment {experiment_id}: {len(people)} people, {len(liked)} liked items (arm B's)")
    started = time.perf_counter()
    crowd = browse(
        args.url,
        people,
        liked,
        click_liked=args.click_liked,
        click_other=args.click_other,
        play=args.play,
        seed=args.seed,
    )
    took = time.perf_counter() - started
    print(
        f"browsed in {took:.1f} s: {crowd.people} people, {crowd.shown} cards shown, "
        f"{crowd.clicks} clicks, {crowd.plays} plays, {len(crowd.errors)} errors"
    )
    for error in crowd.errors[:10]:
        print("  ", error)

    from entertainment.activity import impressions
    from recommender import experiments
    from recommender.models import Experiment

    print(f"impressions written: {impressions.flush()}")
    found = experiments.results(Experiment.objects.get(pk=experiment_id))
    for arm in found.arms:
        ctr = arm.rates.get("click_through")
        print(
            f"arm {arm.arm.upper()} ({arm.serves}): people {arm.people}, impressions "
            f"{arm.impressions}, click-through {ctr.as_percent if ctr else 'hidden'}"
        )
    for comparison in found.comparisons:
        print(
            f"B - A {comparison.label}: {comparison.difference.as_points}, "
            f"p = {comparison.p_value:.4g}"
        )
    print("significant" if found.significant else "not significant yet")


if __name__ == "__main__":
    main()
