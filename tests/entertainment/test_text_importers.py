"""The catalogue importers read CSV as CSV: a quoted field keeps its own line break, the
characters str.splitlines() breaks on are text, and an unclosed quote is named where it opens
instead of swallowing the rows after it."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from entertainment.catalogue.models import Item

pytestmark = pytest.mark.django_db

LINKS_CSV = "movieId,imdbId,tmdbId\r\n"
RATINGS_CSV = "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n"


def import_movies(directory: Path, movies_csv: str) -> None:
    directory.mkdir()
    for name, text in (
        ("movies.csv", movies_csv),
        ("links.csv", LINKS_CSV),
        ("ratings.csv", RATINGS_CSV),
    ):
        (directory / name).write_bytes(text.encode())
    call_command("import_movielens", str(directory), verbosity=0, stdout=StringIO())


def test_titles_keep_every_character_and_their_own_line_breaks(tmp_path):
    movies = (
        "movieId,title,genres\r\n"
        "1,Sep\u2028arated\x85by\x0cthese\u2029ones (1995),Drama\r\n"
        '2,"Two\r\nLines, Really (1996)",Comedy\r\n'
        "3,Fine (1997),Drama\r\n"
    )
    import_movies(tmp_path / "ml-latest-small", movies)
    titles = dict(Item.objects.values_list("year", "title"))
    assert titles == {
        1995: "Sep\u2028arated\x85by\x0cthese\u2029ones",
        1996: "Two\r\nLines, Really",
        1997: "Fine",
    }


def test_an_unclosed_quote_is_named_where_it_opens(tmp_path):
    movies = (
        'movieId,title,genres\n1,Fine (1995),Drama\n2,"Unclosed (1996),Comedy\n3,Ok (1997),Drama\n'
    )
    with pytest.raises(CommandError, match=r"movies.csv:3: malformed CSV"):
        import_movies(tmp_path / "ml-latest-small", movies)
    assert not Item.objects.exists()


def test_a_bad_line_after_a_multi_line_title_is_named(tmp_path):
    movies = 'movieId,title,genres\n1,"Two\nLines (1995)",Drama\nx,Bad (1997),Drama\n'
    with pytest.raises(CommandError, match=r"movies.csv:4: movieId must be a whole number"):
        import_movies(tmp_path / "ml-latest-small", movies)
