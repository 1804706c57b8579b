"""Home, catalogue lists (filters, search, pagination) and the item page, for everyone."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from entertainment.accounts.models import ReviewVisibility
from entertainment.catalogue.models import Credit, Item, Kind
from entertainment.catalogue.views import PAGE_SIZE
from tests.factories import (
    CreatorFactory,
    GenreFactory,
    ItemFactory,
    PlayFactory,
    RatingFactory,
    ReviewFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _credit(item, name, role, order=0):
    Credit.objects.create(item=item, creator=CreatorFactory(name=name), role=role, order=order)


def _titles(response) -> list[str]:
    return [item.title for item in response.context["page_obj"]]


@pytest.fixture
def as_person(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("logged_in", [False, True])
def test_every_page_renders(client, user, logged_in):
    item = ItemFactory(title="Heat")
    if logged_in:
        client.force_login(user)
    urls = [
        reverse("home"),
        reverse("catalogue:list", args=["films"]),
        reverse("catalogue:list", args=["music"]),
        reverse("catalogue:list", args=["games"]),
        reverse("catalogue:search") + "?q=heat",
        item.get_absolute_url(),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert 'href="#main"' in html  # the skip link
        assert "style=" not in html and "<script" not in html  # the CSP allows neither


def test_unknown_kind_and_item_are_404(client):
    assert client.get("/catalogue/books/").status_code == 404
    assert client.get(reverse("catalogue:item", args=[999999])).status_code == 404


def test_home_shows_popular_and_new_items_and_invites_sign_up(client):
    popular = ItemFactory(title="Much Loved")
    RatingFactory(item=popular)
    ItemFactory(kind=Kind.GAME, title="Fresh Game")
    html = client.get(reverse("home")).content.decode()
    assert "Much Loved" in html and "Fresh Game" in html
    assert reverse("accounts:signup") in html


def test_home_invites_a_new_person_to_rate_a_few(as_person, user):
    RatingFactory(user=user)
    html = as_person.get(reverse("home")).content.decode()
    assert "Rate 4 more items" in html


def test_list_shows_only_its_kind(client):
    ItemFactory(title="A Film")
    ItemFactory(kind=Kind.GAME, title="A Game")
    assert _titles(client.get(reverse("catalogue:list", args=["films"]))) == ["A Film"]
    assert _titles(client.get(reverse("catalogue:list", args=["games"]))) == ["A Game"]


def test_genre_and_year_filters(client):
    noir = GenreFactory(name="Noir")
    ItemFactory(title="Old Noir", year=1950, genres=[noir])
    ItemFactory(title="New Noir", year=2010, genres=[noir])
    ItemFactory(title="New Comedy", year=2012)
    url = reverse("catalogue:list", args=["films"])
    assert _titles(client.get(url, {"genre": "noir"})) == ["New Noir", "Old Noir"]
    assert _titles(client.get(url, {"genre": "noir", "year_from": 2000})) == ["New Noir"]
    assert _titles(client.get(url, {"year_to": 1999})) == ["Old Noir"]


def test_genre_of_another_kind_is_a_clear_error(client):
    GenreFactory(kind=Kind.GAME, name="Roguelike")
    response = client.get(reverse("catalogue:list", args=["films"]), {"genre": "roguelike"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_bad_years_are_a_clear_error(client):
    url = reverse("catalogue:list", args=["films"])
    response = client.get(url, {"year_from": "soon"})
    assert response.status_code == 400
    assert "Enter a whole number" in response.content.decode()
    response = client.get(url, {"year_from": 2010, "year_to": 2000})
    assert response.status_code == 400
    assert "must not be before the start year" in response.content.decode()


def test_search_finds_titles_and_creators_across_kinds(client):
    heat = ItemFactory(title="Heat")
    other = ItemFactory(title="Collateral")
    _credit(other, "Michael Mann", Credit.Role.DIRECTOR)
    ItemFactory(kind=Kind.MUSIC, title="Heatwave")
    ItemFactory(title="Unrelated")
    titles = _titles(client.get(reverse("catalogue:search"), {"q": "heat", "sort": "title"}))
    assert titles == ["Heat", "Heatwave"]
    assert _titles(client.get(reverse("catalogue:search"), {"q": "mann"})) == ["Collateral"]
    # Search within one kind.
    films = _titles(client.get(reverse("catalogue:list", args=["films"]), {"q": "heat"}))
    assert films == [heat.title]


def test_pagination_keeps_the_filters(client):
    noir = GenreFactory(name="Noir")
    for n in range(PAGE_SIZE + 3):
        ItemFactory(title=f"Noir {n:02d}", genres=[noir])
    ItemFactory(title="Not noir")
    url = reverse("catalogue:list", args=["films"])
    first = client.get(url, {"genre": "noir"})
    assert len(_titles(first)) == PAGE_SIZE
    assert "genre=noir&amp;page=2" in first.content.decode()
    second = client.get(url, {"genre": "noir", "page": 2})
    assert _titles(second) == ["Noir 24", "Noir 25", "Noir 26"]
    # A page past the end shows the last page rather than an error.
    assert _titles(client.get(url, {"genre": "noir", "page": 99})) == _titles(second)


def test_sort_by_popularity(client):
    quiet = ItemFactory(title="Quiet")
    loved = ItemFactory(title="Loved")
    RatingFactory.create_batch(3, item=loved)
    RatingFactory(item=quiet)
    url = reverse("catalogue:list", args=["films"])
    assert _titles(client.get(url, {"sort": "popular"}))[:2] == ["Loved", "Quiet"]


def test_film_page_shows_its_attributes_and_rating_summary(client):
    drama = GenreFactory(name="Drama")
    film = ItemFactory(title="Heat", year=1995, runtime_minutes=170, genres=[drama])
    _credit(film, "Michael Mann", Credit.Role.DIRECTOR)
    _credit(film, "Al Pacino", Credit.Role.CAST, 0)
    _credit(film, "Robert De Niro", Credit.Role.CAST, 1)
    RatingFactory(item=film, value=Decimal("4.0"))
    RatingFactory(item=film, value=Decimal("5.0"))
    PlayFactory(item=film)
    html = client.get(film.get_absolute_url()).content.decode()
    for text in ("Michael Mann", "Al Pacino, Robert De Niro", "170 min", "Drama", "1995"):
        assert text in html
    assert "<strong>4.5</strong> out of 5 from 2 ratings" in html
    assert "1 play" in html
    assert "Log in</a> or" in html  # anonymous people are invited, not shown controls


def test_album_page_lists_its_tracks_in_order(client):
    artist = ItemFactory(kind=Kind.MUSIC, music_type="artist", title="The Band")
    album = ItemFactory(kind=Kind.MUSIC, music_type="album", title="First LP", parent=artist)
    for position, title in [(2, "Second Song"), (1, "First Song"), (3, "Third Song")]:
        ItemFactory(
            kind=Kind.MUSIC,
            music_type="track",
            title=title,
            parent=album,
            position=position,
            duration_seconds=185,
        )
    _credit(album, "The Band", Credit.Role.ARTIST)
    html = client.get(album.get_absolute_url()).content.decode()
    assert html.index("First Song") < html.index("Second Song") < html.index("Third Song")
    assert "3:05" in html and "The Band" in html

    track = Item.objects.get(title="Second Song")
    html = client.get(track.get_absolute_url()).content.decode()
    assert "First LP" in html and "(track 2)" in html and "The Band" in html


def test_game_page_shows_platforms_developer_and_publisher(client):
    game = ItemFactory(kind=Kind.GAME, title="Hades", platforms=["PC", "Switch"])
    _credit(game, "Supergiant Games", Credit.Role.DEVELOPER)
    _credit(game, "Big Publisher", Credit.Role.PUBLISHER)
    html = client.get(game.get_absolute_url()).content.decode()
    assert "PC, Switch" in html and "Supergiant Games" in html and "Big Publisher" in html


def test_artwork_thumbnails_and_placeholders_have_sensible_alt_text(client):
    item = ItemFactory(title="No Picture")
    html = client.get(reverse("catalogue:list", args=["films"])).content.decode()
    assert "img/placeholder-film.svg" in html
    # A decorative placeholder is hidden from screen readers; the title is the link text.
    assert 'alt=""' in html
    Item.objects.filter(pk=item.pk).update(artwork_thumbnail="artwork/thumbs/x.jpg")
    html = client.get(reverse("catalogue:list", args=["films"])).content.decode()
    assert "/media/artwork/thumbs/x.jpg" in html
    assert 'alt="Artwork for No Picture"' in html


def _set_visibility(user, visibility):
    privacy = user.privacy
    privacy.review_visibility = visibility
    privacy.save()


def test_reviews_follow_each_reviewers_visibility(client):
    film = ItemFactory()
    public, anonymous, private = UserFactory(), UserFactory(), UserFactory()
    _set_visibility(public, ReviewVisibility.PUBLIC)
    _set_visibility(anonymous, ReviewVisibility.ANONYMOUS)
    _set_visibility(private, ReviewVisibility.PRIVATE)
    ReviewFactory(user=public, item=film, text="Signed words")
    ReviewFactory(user=anonymous, item=film, text="Unsigned words")
    ReviewFactory(user=private, item=film, text="Secret words")
    html = client.get(film.get_absolute_url()).content.decode()
    assert "Signed words" in html and public.username in html
    assert "Unsigned words" in html and anonymous.username not in html and "A viewer" in html
    assert "Secret words" not in html

    # The private reviewer still sees their own review.
    client.force_login(private)
    assert "Secret words" in client.get(film.get_absolute_url()).content.decode()


def test_anonymous_reviewer_of_music_is_a_listener(client):
    album = ItemFactory(kind=Kind.MUSIC, music_type="album")
    ReviewFactory(item=album, text="Lovely")
    assert "A listener" in client.get(album.get_absolute_url()).content.decode()


def test_user_text_is_escaped(client):
    film = ItemFactory(title="<b>Bold</b> title")
    reviewer = UserFactory()
    _set_visibility(reviewer, ReviewVisibility.PUBLIC)
    ReviewFactory(user=reviewer, item=film, text="<script>alert('x')</script>")
    html = client.get(film.get_absolute_url()).content.decode()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<b>Bold</b>" not in html and "&lt;b&gt;Bold&lt;/b&gt; title" in html
    listing = client.get(reverse("catalogue:search"), {"q": "bold"}).content.decode()
    assert "<b>Bold</b>" not in listing


def test_list_queries_do_not_grow_with_items(client, django_assert_max_num_queries):
    genres = [GenreFactory(name=f"G{n}") for n in range(3)]
    for n in range(PAGE_SIZE):
        ItemFactory(title=f"Film {n}", genres=genres)
    with django_assert_max_num_queries(5):
        response = client.get(reverse("catalogue:list", args=["films"]), {"genre": "g1"})
    assert len(_titles(response)) == PAGE_SIZE


def test_home_queries_are_bounded(client, user, django_assert_max_num_queries):
    for kind in Kind:
        for n in range(8):
            RatingFactory(item=ItemFactory(kind=kind, title=f"{kind} {n}"))
    client.force_login(user)
    client.get(reverse("home"))  # the first visit creates the privacy settings row
    # Session, person, their ratings count, the shelves' items (which items: from the cache),
    # and the "For you" rows: privacy settings, their "not for me" items (one read for all the
    # popular lists) and one query for all their items.
    with django_assert_max_num_queries(7):
        assert client.get(reverse("home")).status_code == 200


def test_home_shelves_show_edits_and_deletions_at_once(client):
    """The shelves' choice of items is kept for a minute; the items themselves are not."""
    kept, gone = ItemFactory(title="Old Title"), ItemFactory(title="Soon Deleted")
    RatingFactory(item=kept)
    RatingFactory(item=gone)
    assert "Soon Deleted" in client.get(reverse("home")).content.decode()
    Item.objects.filter(pk=kept.pk).update(title="New Title")
    gone.delete()
    html = client.get(reverse("home")).content.decode()
    assert "New Title" in html and "Old Title" not in html
    assert "Soon Deleted" not in html


def _item_with_reviews(n):
    film = ItemFactory()
    for k in range(n):
        _credit(film, f"Actor {n}-{k}", Credit.Role.CAST, k)
        reviewer = UserFactory()
        _set_visibility(reviewer, ReviewVisibility.PUBLIC)
        ReviewFactory(user=reviewer, item=film)
        RatingFactory(item=film)
        PlayFactory(item=film)
    return film


def test_item_page_queries_do_not_grow_with_reviews_or_credits(client, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small, large = _item_with_reviews(1), _item_with_reviews(6)
    client.force_login(user)
    # First visits create the privacy settings row and fill the recommendation panels' caches.
    client.get(small.get_absolute_url())
    client.get(large.get_absolute_url())
    counts = []
    for film, reviews in ((small, 1), (large, 6)):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(film.get_absolute_url())
        assert response.content.decode().count('class="review"') == reviews
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 16
