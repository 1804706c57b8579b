"""Recommendations on the site's pages: the home page's rows and the item page's panels.

Lists are computed from each person's history by the active serving model; the tests plant
one (the `serving_model` fixture) so they know what a list must show, and why.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.urls import NoReverseMatch, reverse

from entertainment.accounts.privacy import change_settings
from entertainment.activity.models import Play, Sentiment
from ml.artefacts import save_arrays, write_meta, writing
from recommender import lists, serving
from recommender.models import ModelVersion
from tests.factories import ItemFactory, PlayFactory, RatingFactory, ReviewFactory, UserFactory
from tests.recommender.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db

_artwork_dirs = itertools.count()


@pytest.fixture(autouse=True)
def _fresh_model_lookup(monkeypatch):
    # The web process looks the active versions up every few seconds: look again now, and
    # (so that no test depends on how long it runs) not again unless a test activates one.
    monkeypatch.setattr(serving, "_VERSION_TTL_S", 1e8)
    serving.forget_active()
    yield
    serving.forget_active()


def _set_privacy(person, **values):
    privacy = person.privacy
    for name, value in values.items():
        setattr(privacy, name, value)
    privacy.save()


def _page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _section(html: str, anchor_id: str) -> str:
    """The part of a page from the element with `anchor_id` to the next page section."""
    start = html.index(f'id="{anchor_id}"')
    ends = ['<section class="shelf-group', '<section class="reviews"', "</main>"]
    return html[start : min(i for e in ends if (i := html.find(e, start)) != -1)]


def _row(html: str, slug: str) -> str:
    return html.split(f'id="{slug}"')[1].split("</section>")[0]


def _titles(html: str) -> list[str]:
    """The titles of the cards in some html, in order."""
    return re.findall(r'<span class="card-title">(.*?)</span>', html)


def _played(person, *items):
    """Plays written as an import writes them, then the stamp every event replaces (factories
    send no signal)."""
    for item in items:
        PlayFactory(user=person, item=item)
    lists.touch([person.pk])


def _active_artwork_model(vectors: dict[int, list[float]]) -> None:
    """Artwork embeddings as the artwork model exports them (rows named by image file)."""
    directory = Path(settings.MODEL_DIR) / f"artwork-{next(_artwork_dirs)}"
    with writing(directory) as tmp:
        embeddings = np.array(list(vectors.values()), dtype=np.float32)
        embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
        save_arrays(tmp, embeddings=embeddings)
        write_meta(tmp, "encore.artwork", 1, file_ids=[f"{pk}.png" for pk in vectors])
    ModelVersionFactory(kind="artwork", status=ModelVersion.Status.ACTIVE, path=str(directory))
    serving.forget_active()


# --- Home ----------------------------------------------------------------------------------


def test_home_shows_the_persons_own_rows_with_reasons(
    client, user, serving_model, django_capture_on_commit_callbacks
):
    stalker = ItemFactory(kind="film", title="Stalker")
    solaris = ItemFactory(kind="film", title="Solaris", year=1972)
    album = ItemFactory(kind="music", title="Kind of Blue")
    game = ItemFactory(kind="game", title="Outer Wilds")
    other_game = ItemFactory(kind="game", title="Stray Game")
    serving_model(
        [stalker, solaris, album, game, other_game],
        follows={stalker.pk: solaris.pk},
        popular=[album.pk, game.pk],
    )
    client.force_login(user)
    assert "For you</h2>" not in _page(client, reverse("home"))  # no history yet

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("activity:play", args=[stalker.pk]))
    html = _page(client, reverse("home"))
    assert "For you</h2>" in html
    assert "Popular and highly rated" not in html
    for title, reason in [
        ("Solaris", "Because you played Stalker"),
        ("Kind of Blue", "Popular in the whole catalogue"),
        ("Outer Wilds", "Popular in the whole catalogue"),
    ]:
        assert title in html and reason in html
    assert "1972" in html
    # Each row is its kind.
    films_row = _row(html, "for-you-film")
    assert "Solaris" in films_row
    assert "Outer Wilds" not in films_row and "Stray Game" not in films_row
    games_row = _row(html, "for-you-game")
    assert games_row.index("Outer Wilds") < games_row.index("Stray Game")


def test_home_never_shows_what_the_person_played_rated_or_reviewed(client, user, serving_model):
    seed = ItemFactory(title="Seed Film")
    rated, played, reviewed, fresh = (
        ItemFactory(title=t) for t in ("Rated One", "Played One", "Reviewed One", "Fresh One")
    )
    serving_model(
        [seed, rated, played, reviewed, fresh],
        follows={seed.pk: rated.pk},
        popular=[played.pk, reviewed.pk],
    )
    _played(user, seed)
    client.force_login(user)
    before = _section(_page(client, reverse("home")), "for-you-heading")
    assert all(t in before for t in ("Rated One", "Played One", "Reviewed One", "Fresh One"))

    # Written straight to the tables, as an import would, without a signal: the cached list
    # predates them, and still the page leaves them out.
    RatingFactory(user=user, item=rated)
    PlayFactory(user=user, item=played, completed=False)  # played at all, not only finished
    ReviewFactory(user=user, item=reviewed)
    for_you = _section(_page(client, reverse("home")), "for-you-heading")
    assert "Fresh One" in for_you
    assert "Rated One" not in for_you
    assert "Played One" not in for_you
    assert "Reviewed One" not in for_you

    # Once the events are known, the list computed from the history leaves them out too.
    lists.touch([user.pk])
    shown = {e.item_id for e in lists.for_person(user, "film", 20).entries}
    assert shown == {fresh.pk}


@pytest.mark.parametrize("signed_in", [True, False])
def test_a_new_person_sees_popular_items_and_an_invitation(client, user, signed_in):
    hit = ItemFactory(kind="game", title="Everyone Plays This")
    RatingFactory(item=hit, value="4.5")
    PlayFactory(item=hit)
    if signed_in:
        client.force_login(user)
    html = _page(client, reverse("home"))
    assert "Popular and highly rated" in html
    assert "For you</h2>" not in html
    row = _row(html, "for-you-game")
    assert "Everyone Plays This" in row and "Popular in games, rated 4.5★ on average" in row
    assert "rate a few films, albums or games" in html.lower()
    assert (reverse("accounts:signup") in html.split('class="invitation"')[1]) is not signed_in


def test_a_person_with_history_but_no_model_sees_popular_items_less_their_own(client, user):
    mine, hit = ItemFactory(title="Played By Me"), ItemFactory(title="Popular Film")
    for _ in range(2):
        PlayFactory(item=mine)
    PlayFactory(item=hit)
    _played(user, mine)
    client.force_login(user)
    for_you = _section(_page(client, reverse("home")), "for-you-heading")
    assert "Popular Film" in for_you and "Played By Me" not in for_you


def test_personalisation_off_shows_popular_rows_and_says_so(
    client, user, serving_model, django_capture_on_commit_callbacks
):
    seed, mine = ItemFactory(title="Seed Film"), ItemFactory(title="Only For Me")
    hit = ItemFactory(title="Popular Film")
    serving_model([seed, mine, hit], follows={seed.pk: mine.pk})
    PlayFactory(item=hit)
    _played(user, seed)
    client.force_login(user)
    assert "Only For Me" in _section(_page(client, reverse("home")), "for-you-heading")

    with django_capture_on_commit_callbacks(execute=True):
        change_settings(user, personalised=False)
    html = _page(client, reverse("home"))
    assert "Personalisation is off" in html
    for_you = _section(html, "for-you-heading")
    assert "Popular Film" in for_you and "Only For Me" not in for_you
    assert "Because you played" not in for_you
    assert "rate a few" not in html.lower()
    try:
        privacy_url = reverse("accounts:privacy")
    except NoReverseMatch:  # the privacy page may not exist yet: the note is then linkless
        privacy_url = None
    note = html.split("Personalisation is off")[1].split("</p>")[0]
    assert (privacy_url is not None) == (f'href="{privacy_url}"' in note)


def test_home_queries_do_not_grow_with_the_rows(
    client, user, serving_model, django_assert_max_num_queries
):
    catalogue = {
        kind: ItemFactory.create_batch(12, kind=kind) for kind in ("film", "music", "game")
    }
    seed = ItemFactory(kind="film")
    serving_model([seed, *itertools.chain(*catalogue.values())])
    _played(user, seed)
    client.force_login(user)
    client.get(reverse("home"))  # creates the privacy settings row, fills the caches
    lists.touch([user.pk])  # as an event does: the next read computes the lists again
    # Computing them costs four queries more (the history's three tables, the ranked items'
    # kinds and titles), however many items the rows hold.
    with django_assert_max_num_queries(15):
        first = _page(client, reverse("home"))
    assert first.count('class="card-reason"') == 3 * 6
    # Then read from the cache: session, user, the home's own rows (7), privacy settings,
    # one query for every card's item.
    with django_assert_max_num_queries(11):
        html = _page(client, reverse("home"))
    assert html.count('class="card-reason"') == 3 * 6


# --- Item page -----------------------------------------------------------------------------


def test_item_page_shows_fans_also_played(client, serving_model):
    seed, shared = ItemFactory(title="Alien"), ItemFactory(title="Aliens")
    lonely = ItemFactory(title="Only One Fan")
    serving_model([seed, shared, lonely], co_played={seed.pk: [(shared.pk, 2), (lonely.pk, 1)]})
    html = _page(client, seed.get_absolute_url())
    panel = _row(html, "fans-also-played-heading")
    assert "Aliens" in panel and "2 fans of Alien played it" in panel
    # One person behind a co-play would reveal their history: it is never shown.
    assert "Only One Fan" not in panel


@pytest.mark.parametrize("with_model", [False, True])
def test_empty_panels_are_hidden(client, user, serving_model, with_model):
    item = ItemFactory(title="Nobody Played This")
    if with_model:
        serving_model([item, ItemFactory()])
    ReviewFactory(item=item)  # written, never scored
    client.force_login(user)
    html = _page(client, item.get_absolute_url())
    for heading in ("Up next", "Looks similar", "Fans also played", "What reviewers think"):
        assert heading not in html


def test_sentiment_summary_counts_only_scored_public_reviews(client):
    item = ItemFactory()
    for sentiment in (Sentiment.POSITIVE, Sentiment.POSITIVE, Sentiment.NEGATIVE):
        ReviewFactory(item=item, sentiment=sentiment, sentiment_score=0.5)
    ReviewFactory(item=item)  # not scored yet: left out, not guessed
    private = ReviewFactory(item=item, sentiment=Sentiment.POSITIVE, sentiment_score=0.99)
    _set_privacy(private.user, review_visibility="private")
    html = _page(client, item.get_absolute_url())
    assert "3 reviews, 67% positive" in html


def test_item_page_never_shows_what_the_person_played_rated_or_reviewed(
    client, user, serving_model
):
    seed = ItemFactory(title="Seed")
    rated, played, reviewed, fresh = (
        ItemFactory(title=t) for t in ("Rated One", "Played One", "Reviewed One", "Fresh One")
    )
    fans = [(i.pk, 3) for i in (rated, played, reviewed)] + [(fresh.pk, 2)]
    serving_model([seed, rated, played, reviewed, fresh], co_played={seed.pk: fans})
    RatingFactory(user=user, item=rated)
    PlayFactory(user=user, item=played, completed=False)
    ReviewFactory(user=user, item=reviewed)
    lists.touch([user.pk])
    client.force_login(user)
    html = _page(client, seed.get_absolute_url())
    assert "Fresh One" in _row(html, "fans-also-played-heading")
    # In no panel (Up next may still say "Because you played Played One").
    shown = _titles(html)
    assert "Rated One" not in shown and "Played One" not in shown and "Reviewed One" not in shown
    # The same page for someone else still shows them: the list itself is shared.
    client.force_login(UserFactory())
    panel = _row(_page(client, seed.get_absolute_url()), "fans-also-played-heading")
    assert all(t in panel for t in ("Rated One", "Played One", "Reviewed One", "Fresh One"))


def test_panels_show_only_the_items_kind(client, serving_model):
    seed = ItemFactory(kind="film", title="Seed Film")
    film, game = (
        ItemFactory(kind="film", title="Co Film"),
        ItemFactory(kind="game", title="Co Game"),
    )
    serving_model([seed, film, game], co_played={seed.pk: [(game.pk, 3), (film.pk, 2)]})
    html = _page(client, seed.get_absolute_url())
    assert "Co Film" in html and "Co Game" not in html


def test_looks_similar_from_the_artwork_model(client, serving_model):
    seed = ItemFactory(title="Red Poster")
    near, far = ItemFactory(title="Crimson Poster"), ItemFactory(title="Blue Poster")
    game = ItemFactory(kind="game", title="Red Game")
    serving_model([seed, near, far, game])
    _active_artwork_model(
        {seed.pk: [1, 0, 0], near.pk: [0.9, 0.1, 0], far.pk: [0, 0, 1], game.pk: [1, 0, 0.01]}
    )
    html = _page(client, seed.get_absolute_url())
    panel = _row(html, "looks-similar-heading")
    assert panel.index("Crimson Poster") < panel.index("Blue Poster")
    assert "Looks like Red Poster" in panel
    assert "Red Game" not in panel


def test_up_next_comes_from_the_session_while_history_is_paused(client, user, serving_model):
    played, here = ItemFactory(title="Played Now"), ItemFactory(title="This Page")
    rated, best = ItemFactory(title="Rated Before"), ItemFactory(title="Play Me Next")
    # What the person rated would come second after the session's play: it never shows.
    serving_model([played, here, rated, best], follows={played.pk: best.pk}, popular=[rated.pk])
    RatingFactory(user=user, item=rated)
    _set_privacy(user, history_paused=True)
    client.force_login(user)
    session = client.session
    session["session_plays"] = [played.pk]
    session.save()
    html = _page(client, here.get_absolute_url())
    panel = _row(html, "up-next-heading")
    assert "Play Me Next" in panel and "Because you played Played Now" in panel
    # Neither the session's own plays nor what the person rated come up again.
    assert "Played Now</span>" not in panel and "Rated Before" not in panel
    assert not Play.objects.filter(user=user).exists()


def test_a_paused_play_brings_up_next_and_stores_nothing(client, user, serving_model):
    played, best = ItemFactory(title="Played Now"), ItemFactory(title="Play Me Next")
    serving_model([played, best], follows={played.pk: best.pk})
    _set_privacy(user, history_paused=True)
    client.force_login(user)
    page = client.post(reverse("activity:play", args=[played.pk]), follow=True)
    panel = _section(page.content.decode(), "up-next-heading")
    assert "Play Me Next" in panel and "Because you played Played Now" in panel
    assert not Play.objects.filter(user=user).exists()


def test_up_next_needs_personalisation(client, user, serving_model):
    played, here, best = (ItemFactory(title=t) for t in ("Played Now", "This Page", "Play Me Next"))
    serving_model([played, here, best], follows={played.pk: best.pk})
    _set_privacy(user, history_paused=True, personalised=False)
    client.force_login(user)
    session = client.session
    session["session_plays"] = [played.pk]
    session.save()
    assert "Up next" not in _page(client, here.get_absolute_url())


def test_up_next_follows_a_stored_play_at_once(
    client, user, serving_model, django_capture_on_commit_callbacks
):
    first, second = ItemFactory(title="First Play"), ItemFactory(title="Second Play")
    third = ItemFactory(title="Third Play")
    serving_model([first, second, third], follows={first.pk: second.pk, second.pk: third.pk})
    client.force_login(user)
    assert "Up next" not in _page(client, third.get_absolute_url())  # nothing played yet

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("activity:play", args=[first.pk]))
    panel = _row(_page(client, third.get_absolute_url()), "up-next-heading")
    assert "Second Play" in panel and "Because you played First Play" in panel

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("activity:play", args=[second.pk]))
    panel = _row(_page(client, first.get_absolute_url()), "up-next-heading")
    # Played now, the second never comes up again; what follows it comes first.
    assert _titles(panel) == ["Third Play"]


def test_item_page_queries_are_bounded(client, user, serving_model, django_assert_max_num_queries):
    seed, mine = ItemFactory(), ItemFactory()
    others = ItemFactory.create_batch(8)
    serving_model(
        [seed, mine, *others],
        follows={mine.pk: others[0].pk},
        co_played={seed.pk: [(o.pk, 2) for o in others[:5]]},
    )
    _active_artwork_model({i.pk: [1.0, n / 10, 0.0] for n, i in enumerate([seed, mine, *others])})
    for sentiment in (Sentiment.POSITIVE, Sentiment.NEGATIVE):
        ReviewFactory(item=seed, sentiment=sentiment)
    _played(user, mine)
    client.force_login(user)
    client.get(seed.get_absolute_url())  # creates the privacy settings row, fills the caches
    with django_assert_max_num_queries(20) as counted:
        html = _page(client, seed.get_absolute_url())
    # Up next and Looks similar: a full row each; Fans also played: the five planted.
    for heading in ("up-next-heading", "looks-similar-heading", "fans-also-played-heading"):
        assert heading in html
    assert html.count('class="card-reason"') == 6 + 6 + 5
    panel_queries = [
        q
        for q in counted.captured_queries
        if "catalogue_item" in q["sql"] and "activity_rating" in q["sql"] and "EXISTS" in q["sql"]
    ]
    assert len(panel_queries) == 1  # every panel's items in one query
