"""Recommendations on the site's pages: the home page's rows and the item page's panels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from django.urls import NoReverseMatch, reverse

from entertainment.activity.models import Play, Sentiment
from ml.artefacts import save_arrays
from recommender import lists, realtime
from recommender.lists import Entry
from recommender.models import ModelVersion
from tests.factories import ItemFactory, PlayFactory, RatingFactory, ReviewFactory, UserFactory
from tests.recommender.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_model_lookup():
    # The web process looks the active sequence model up every few seconds: look again now.
    realtime._active["checked"] = float("-inf")


def _store(person, entries_by_kind, capture):
    with capture(execute=True):
        lists.store(person.pk, entries_by_kind, "sequence-v3")


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


def _active_sequence_model(item_bias: dict[int, float], items: list[int]) -> None:
    """A real (tiny) GRU, saved by ml.sequence as training does, whose every weight is zero
    but the items' bias: the next item it proposes is the one with the highest bias left."""
    from ml import sequence  # Keras: imported only by the tests that need a sequence model

    model = sequence.build_model(n_items=len(items), dim=4, hidden=3, dropout=0.0)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    model.item_bias.assign(np.array([0.0, *(item_bias.get(i, 0.0) for i in items)]))
    version = ModelVersionFactory(kind="sequence", status=ModelVersion.Status.ACTIVE)
    # A sequence version's directory holds the GRU's export in sequence/.
    sequence.save(
        model,
        Path(version.path) / "sequence",
        [str(i) for i in items],
        "0" * 64,
        {"hyperparameters": {"max_len": 20}},
        {},
    )


def _active_artwork_model(vectors: dict[int, list[float]]) -> None:
    """Artwork embeddings as the artwork model exports them (rows named by image file)."""
    version = ModelVersionFactory(kind="artwork", status=ModelVersion.Status.ACTIVE)
    directory = Path(version.path)
    embeddings = np.array([v / np.linalg.norm(v) for v in map(np.array, vectors.values())])
    save_arrays(directory, embeddings=embeddings)
    files = [f"{pk}.png" for pk in vectors]
    meta = {"format": "encore.artwork", "format_version": 1, "file_ids": files}
    (directory / "meta.json").write_text(json.dumps(meta))


# --- Home ----------------------------------------------------------------------------------


def test_home_shows_the_persons_stored_rows_with_reasons(
    client, user, django_capture_on_commit_callbacks
):
    film = ItemFactory(kind="film", title="Solaris", year=1972)
    album = ItemFactory(kind="music", title="Kind of Blue")
    game = ItemFactory(kind="game", title="Outer Wilds")
    stray_game = ItemFactory(kind="game", title="Stray Game")
    _store(
        user,
        {
            # A game in the film list stays out of the film row: each row is its kind.
            "film": [
                Entry(film.pk, 0.9, "Because you played Stalker"),
                Entry(stray_game.pk, 0.8, "x"),
            ],
            "music": [Entry(album.pk, 0.7, "Looks like A Love Supreme")],
            "game": [Entry(game.pk, 0.6, "Because you played Firewatch")],
        },
        django_capture_on_commit_callbacks,
    )
    client.force_login(user)
    html = _page(client, reverse("home"))
    assert "For you" in html
    assert "Popular and highly rated" not in html
    for title, reason in [
        ("Solaris", "Because you played Stalker"),
        ("Kind of Blue", "Looks like A Love Supreme"),
        ("Outer Wilds", "Because you played Firewatch"),
    ]:
        assert title in html and reason in html
    assert "1972" in html
    films_row = html.split('id="for-you-film"')[1].split("</section>")[0]
    assert "Solaris" in films_row and "Stray Game" not in films_row


def test_home_never_shows_what_the_person_rated_or_finished(
    client, user, django_capture_on_commit_callbacks
):
    rated, finished, fresh = (ItemFactory(title=t) for t in ("Rated One", "Done One", "Fresh One"))
    _store(
        user,
        {"film": [Entry(i.pk, 1.0, "Because you played X") for i in (rated, finished, fresh)]},
        django_capture_on_commit_callbacks,
    )
    # Written straight to the tables, as an import would: the stored list predates them.
    RatingFactory(user=user, item=rated)
    PlayFactory(user=user, item=finished, completed=True)
    client.force_login(user)
    for_you = _section(_page(client, reverse("home")), "for-you-heading")
    assert "Fresh One" in for_you
    assert "Rated One" not in for_you and "Done One" not in for_you


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
    row = html.split('id="for-you-game"')[1].split("</section>")[0]
    assert "Everyone Plays This" in row and "Popular in games, rated 4.5★ on average" in row
    assert "rate a few films, albums or games" in html.lower()
    assert (reverse("accounts:signup") in html.split('class="invitation"')[1]) is not signed_in


def test_personalisation_off_shows_popular_rows_and_says_so(
    client, user, django_capture_on_commit_callbacks
):
    mine, hit = ItemFactory(title="Only For Me"), ItemFactory(title="Popular Film")
    PlayFactory(item=hit)
    _store(
        user,
        {"film": [Entry(mine.pk, 0.9, "Because you played X")]},
        django_capture_on_commit_callbacks,
    )
    _set_privacy(user, personalised=False)
    client.force_login(user)
    html = _page(client, reverse("home"))
    assert "Personalisation is off" in html
    for_you = _section(html, "for-you-heading")
    assert "Popular Film" in for_you and "Only For Me" not in for_you
    assert "rate a few" not in html.lower()
    try:
        privacy_url = reverse("accounts:privacy")
    except NoReverseMatch:  # the privacy page may not exist yet: the note is then linkless
        privacy_url = None
    note = html.split("Personalisation is off")[1].split("</p>")[0]
    assert (privacy_url is not None) == (f'href="{privacy_url}"' in note)


def test_home_queries_do_not_grow_with_the_rows(
    client, user, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    entries = {
        kind: [Entry(ItemFactory(kind=kind).pk, 1.0 - n / 100, "r") for n in range(12)]
        for kind in ("film", "music", "game")
    }
    _store(user, entries, django_capture_on_commit_callbacks)
    client.force_login(user)
    client.get(reverse("home"))  # creates the privacy settings row
    # session, user, the home's own rows (7), privacy settings, one query for every card's item
    with django_assert_max_num_queries(11):
        html = _page(client, reverse("home"))
    assert html.count('class="card-reason"') == 3 * 6


# --- Item page -----------------------------------------------------------------------------


def _fans(seed, *items, people=2):
    for _ in range(people):
        fan = UserFactory()
        for item in (seed, *items):
            PlayFactory(user=fan, item=item)


def test_item_page_shows_fans_also_played(client):
    seed, shared = ItemFactory(title="Alien"), ItemFactory(title="Aliens")
    lonely = ItemFactory(title="Only One Fan")
    _fans(seed, shared)
    PlayFactory(item=lonely, user=Play.objects.filter(item=seed).first().user)
    html = _page(client, seed.get_absolute_url())
    panel = html.split('id="fans-also-played-heading"')[1].split("</section>")[0]
    assert "Aliens" in panel and "2 fans of Alien played it" in panel
    assert "Only One Fan" not in panel


def test_empty_panels_are_hidden(client, user):
    item = ItemFactory(title="Nobody Played This")
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


def test_item_page_never_shows_what_the_person_rated_or_finished(client, user):
    seed = ItemFactory(title="Seed")
    rated, finished, fresh = (ItemFactory(title=t) for t in ("Rated One", "Done One", "Fresh One"))
    _fans(seed, rated, finished, fresh)
    RatingFactory(user=user, item=rated)
    PlayFactory(user=user, item=finished, completed=True)
    client.force_login(user)
    html = _page(client, seed.get_absolute_url())
    assert "Fresh One" in html
    assert "Rated One" not in html and "Done One" not in html
    # The same page for someone else still shows them: the list itself is shared.
    client.force_login(UserFactory())
    assert "Rated One" in _page(client, seed.get_absolute_url())


def test_panels_show_only_the_items_kind(client):
    seed = ItemFactory(kind="film", title="Seed Film")
    film, game = (
        ItemFactory(kind="film", title="Co Film"),
        ItemFactory(kind="game", title="Co Game"),
    )
    _fans(seed, film, game)
    html = _page(client, seed.get_absolute_url())
    assert "Co Film" in html and "Co Game" not in html


def test_looks_similar_from_the_artwork_model(client):
    seed = ItemFactory(title="Red Poster")
    near, far = ItemFactory(title="Crimson Poster"), ItemFactory(title="Blue Poster")
    game = ItemFactory(kind="game", title="Red Game")
    _active_artwork_model(
        {seed.pk: [1, 0, 0], near.pk: [0.9, 0.1, 0], far.pk: [0, 0, 1], game.pk: [1, 0, 0.01]}
    )
    html = _page(client, seed.get_absolute_url())
    panel = html.split('id="looks-similar-heading"')[1].split("</section>")[0]
    assert panel.index("Crimson Poster") < panel.index("Blue Poster")
    assert "Looks like Red Poster" in panel
    assert "Red Game" not in panel


def test_up_next_comes_from_the_session_while_history_is_paused(client, user):
    played, here = ItemFactory(title="Played Now"), ItemFactory(title="This Page")
    rated, best = ItemFactory(title="Rated Before"), ItemFactory(title="Play Me Next")
    _active_sequence_model(
        {played.pk: 9.0, rated.pk: 8.0, best.pk: 5.0},
        [i.pk for i in (played, here, rated, best)],
    )
    RatingFactory(user=user, item=rated)
    _set_privacy(user, history_paused=True)
    client.force_login(user)
    session = client.session
    session["session_plays"] = [played.pk]
    session.save()
    html = _page(client, here.get_absolute_url())
    panel = html.split('id="up-next-heading"')[1].split("</section>")[0]
    assert "Play Me Next" in panel and "Because you played Played Now" in panel
    # Neither the session's own plays nor what the person rated come up again.
    assert "Played Now</span>" not in panel and "Rated Before" not in panel
    assert not Play.objects.filter(user=user).exists()


def test_a_paused_play_brings_up_next_and_stores_nothing(client, user):
    played, best = ItemFactory(title="Played Now"), ItemFactory(title="Play Me Next")
    _active_sequence_model({best.pk: 5.0}, [played.pk, best.pk])
    _set_privacy(user, history_paused=True)
    client.force_login(user)
    page = client.post(reverse("activity:play", args=[played.pk]), follow=True)
    panel = _section(page.content.decode(), "up-next-heading")
    assert "Play Me Next" in panel and "Because you played Played Now" in panel
    assert not Play.objects.filter(user=user).exists()


def test_up_next_needs_personalisation(client, user):
    played, here, best = (ItemFactory(title=t) for t in ("Played Now", "This Page", "Play Me Next"))
    _active_sequence_model({best.pk: 5.0}, [played.pk, here.pk, best.pk])
    _set_privacy(user, history_paused=True, personalised=False)
    client.force_login(user)
    session = client.session
    session["session_plays"] = [played.pk]
    session.save()
    assert "Up next" not in _page(client, here.get_absolute_url())


def test_up_next_after_a_stored_play(client, user):
    played, best = ItemFactory(title="Played Now"), ItemFactory(title="Play Me Next")
    _active_sequence_model({best.pk: 5.0}, [played.pk, best.pk])
    client.force_login(user)
    with_play = client.post(reverse("activity:play", args=[played.pk]), follow=True)
    panel = with_play.content.decode().split('id="up-next-heading"')[1].split("</section>")[0]
    assert "Play Me Next" in panel and "Because you played Played Now" in panel


def test_item_page_queries_are_bounded(client, user, django_assert_max_num_queries):
    seed = ItemFactory()
    _fans(seed, *(ItemFactory() for _ in range(8)))
    for sentiment in (Sentiment.POSITIVE, Sentiment.NEGATIVE):
        ReviewFactory(item=seed, sentiment=sentiment)
    client.force_login(user)
    client.get(seed.get_absolute_url())  # creates the privacy settings row, fills the caches
    with django_assert_max_num_queries(20) as counted:
        html = _page(client, seed.get_absolute_url())
    assert html.count('class="card-reason"') == 6
    panel_queries = [
        q
        for q in counted.captured_queries
        if "catalogue_item" in q["sql"] and "activity_rating" in q["sql"] and "EXISTS" in q["sql"]
    ]
    assert len(panel_queries) == 1  # every panel's items in one query
