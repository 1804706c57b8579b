"""The three importers on small files written here: what they store, reruns, and bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from entertainment.accounts.models import User
from entertainment.activity.models import Play, Rating
from entertainment.catalogue.models import ExternalId, Genre, Item, Kind

pytestmark = pytest.mark.django_db

MOVIES_CSV = """movieId,title,genres
1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy
2,"American President, The (1995)",Comedy|Drama|Romance
3,Unknown Thing,(no genres listed)
"""
LINKS_CSV = """movieId,imdbId,tmdbId
1,0114709,862
2,0112346,9087
3,0000001,
"""
RATINGS_CSV = """userId,movieId,rating,timestamp
1,1,4.0,964982703
1,2,3.5,964981247
2,1,5.0,1445714994
2,3,0.5,1445714000
"""


def write(directory: Path, files: dict[str, str | bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = directory / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return directory


def run(command: str, path: Path, *args: str) -> str:
    out = StringIO()
    call_command(command, str(path), *args, verbosity=0, stdout=out)
    return out.getvalue()


def table_counts() -> dict[str, int]:
    models = [User, Item, Genre, ExternalId, Rating, Play, Item.genres.through]
    return {m.__name__: m._default_manager.count() for m in models}


def error_of(command: str, path: Path, *args: str) -> str:
    with pytest.raises(CommandError) as exc:
        run(command, path, *args)
    return str(exc.value)


@pytest.fixture
def latest(tmp_path) -> Path:
    return write(
        tmp_path / "ml-latest-small",
        {"movies.csv": MOVIES_CSV, "links.csv": LINKS_CSV, "ratings.csv": RATINGS_CSV},
    )


# --- MovieLens ---------------------------------------------------------------------------------


def test_movielens_latest_stores_films_people_and_timed_ratings(latest):
    run("import_movielens", latest)

    president = Item.objects.get(external_ids__source="movielens", external_ids__value="2")
    assert (president.kind, president.title, president.year) == (
        Kind.FILM,
        "The American President",
        1995,
    )
    assert sorted(g.name for g in president.genres.all()) == ["Comedy", "Drama", "Romance"]
    assert set(president.genres.values_list("kind", flat=True)) == {Kind.FILM}
    toy_story = Item.objects.get(external_ids__source="imdb", external_ids__value="tt0114709")
    assert toy_story.external_ids.get(source="tmdb").value == "862"
    unknown = Item.objects.get(title="Unknown Thing")
    assert unknown.year is None and not unknown.genres.exists()

    person = User.objects.get(imported_from="movielens", imported_id="latest:1")
    assert not person.has_usable_password()
    ratings = list(Rating.objects.filter(user=person).order_by("pk"))
    # Inserted in the person's time order, each keeping the source's time.
    assert [(r.item.title, r.value) for r in ratings] == [
        ("The American President", Decimal("3.5")),
        ("Toy Story", Decimal("4.0")),
    ]
    assert ratings[0].created_at == datetime.fromtimestamp(964981247, tz=UTC)
    assert ratings[1].updated_at == datetime.fromtimestamp(964982703, tz=UTC)
    assert Rating.objects.count() == 4


def test_movielens_rerun_adds_nothing(latest):
    run("import_movielens", latest)
    before = table_counts()
    out = run("import_movielens", latest)
    assert table_counts() == before
    assert "unchanged: 4 ratings" in out


def test_movielens_rerun_with_a_changed_rating_updates_it(latest):
    run("import_movielens", latest)
    (latest / "ratings.csv").write_text(
        RATINGS_CSV.replace("1,2,3.5,964981247", "1,2,2.0,964999999")
    )
    before = table_counts()
    run("import_movielens", latest)
    assert table_counts() == before
    rating = Rating.objects.get(user__imported_id="latest:1", item__title="The American President")
    assert rating.value == Decimal("2.0")
    assert rating.updated_at == datetime.fromtimestamp(964999999, tz=UTC)
    assert rating.created_at == datetime.fromtimestamp(964981247, tz=UTC)


def test_movielens_keeps_staff_edits_of_existing_films(latest):
    run("import_movielens", latest)
    Item.objects.filter(title="Toy Story").update(title="Toy Story (edited)")
    run("import_movielens", latest)
    assert Item.objects.filter(title="Toy Story (edited)").count() == 1


def test_movielens_100k(tmp_path):
    flags = ["0"] * 19
    flags[3] = flags[5] = "1"  # Animation, Comedy
    u_item = (
        "1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy|"
        + "|".join(flags)
        + "\n"
        "2|Caf\xe9 Society|01-Jan-1996||http://x|" + "|".join(["1"] + ["0"] * 18) + "\n"
    ).encode("latin-1")
    u_data = b"196\t1\t3\t881250949\n186\t2\t5\t891717742\n196\t2\t1\t881250950\n"
    directory = write(tmp_path / "ml-100k", {"u.item": u_item, "u.data": u_data})
    run("import_movielens", directory)

    cafe = Item.objects.get(external_ids__value="100k:2")
    assert (cafe.title, cafe.year) == ("Café Society", 1996)
    assert not cafe.genres.exists()  # "unknown" is not a genre
    toy = Item.objects.get(external_ids__value="100k:1")
    assert sorted(toy.genres.values_list("name", flat=True)) == ["Animation", "Comedy"]
    assert set(User.objects.values_list("imported_id", flat=True)) == {"100k:196", "100k:186"}
    assert Rating.objects.get(user__imported_id="100k:186").value == Decimal("5.0")
    before = table_counts()
    run("import_movielens", directory)
    assert table_counts() == before


def test_movielens_1m(tmp_path):
    movies = "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Jumanji (1995)::Adventure\n"
    ratings = "1::1::5::978300760\n1::2::3::978302109\n"
    directory = write(
        tmp_path / "ml-1m",
        {"movies.dat": movies.encode("latin-1"), "ratings.dat": ratings.encode("latin-1")},
    )
    run("import_movielens", directory)
    assert Item.objects.get(external_ids__value="1").genres.count() == 3
    assert User.objects.get().imported_id == "1m:1"
    assert Rating.objects.count() == 2


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        ("3,1,4.0", "ratings.csv:4: expected 4 fields separated by ',', found 3"),
        ("3,1,four,964982703", "ratings.csv:4: the rating must be a number, got 'four'"),
        ("3,1,4.2,964982703", "ratings.csv:4: the rating must be 0.5 to 5 in half stars"),
        ("3,1,6,964982703", "ratings.csv:4: the rating must be 0.5 to 5 in half stars"),
        ("x,1,4.0,964982703", "ratings.csv:4: the user id must be a whole number, got 'x'"),
        ("3,99,4.0,964982703", "ratings.csv:4: film 99 is not in movies.csv"),
    ],
)
def test_movielens_malformed_line_aborts_with_its_place_and_writes_nothing(
    tmp_path, bad_line, message
):
    ratings = "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n2,1,4.0,964982703\n"
    directory = write(
        tmp_path / "ml", {"movies.csv": MOVIES_CSV, "ratings.csv": ratings + bad_line + "\n"}
    )
    error = error_of("import_movielens", directory)
    assert message in error
    assert error.startswith(str(directory / "ratings.csv"))
    assert all(n == 0 for n in table_counts().values())


def test_movielens_malformed_rerun_leaves_the_earlier_import_alone(latest):
    run("import_movielens", latest)
    before = table_counts()
    (latest / "movies.csv").write_text(MOVIES_CSV + "4,New Film (2000)\n")
    (latest / "ratings.csv").write_text(RATINGS_CSV + "7,4,4.0,1\n")
    assert "movies.csv:5: expected 3 fields" in error_of("import_movielens", latest)
    assert table_counts() == before


def test_movielens_wrong_header_is_named(tmp_path):
    directory = write(tmp_path / "ml", {"movies.csv": "id,name,tags\n", "ratings.csv": RATINGS_CSV})
    assert "movies.csv:1: expected the header 'movieId,title,genres'" in error_of(
        "import_movielens", directory
    )


def test_text_in_another_encoding_names_the_line(tmp_path):
    movies = (MOVIES_CSV + "4,Caf\xe9 (1999),Drama\n").encode("latin-1")
    directory = write(tmp_path / "ml", {"movies.csv": movies, "ratings.csv": RATINGS_CSV})
    error = error_of("import_movielens", directory)
    assert "movies.csv:5: byte 0xe9 at column 6 is not utf-8 text" in error
    assert "--encoding" in error
    run("import_movielens", directory, "--encoding", "latin-1")
    assert Item.objects.filter(title="Café").exists()


def test_unknown_encoding_name_is_refused(latest):
    assert "Unknown text encoding 'klingon'" in error_of(
        "import_movielens", latest, "--encoding", "klingon"
    )


def test_a_directory_without_movielens_files_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "no MovieLens files found" in error_of("import_movielens", tmp_path / "empty")
    assert "does not exist" in error_of("import_movielens", tmp_path / "missing")


def test_progress_bars_go_to_stderr(latest, capsys):
    call_command("import_movielens", str(latest), verbosity=1, stdout=StringIO())
    err = capsys.readouterr().err
    assert "ratings.csv" in err and "ratings" in err


# --- Last.fm -----------------------------------------------------------------------------------

ARTISTS = "id\tname\turl\tpictureURL\n1\tMALICE MIZER\thttp://a\thttp://p\n2\tDiary of Dreams\thttp://b\thttp://q\n"
USER_ARTISTS = "userID\tartistID\tweight\n2\t1\t13883\n2\t2\t11690\n3\t2\t5\n"
TAGS = "tagID\ttagValue\n1\tmetal\n2\tj-rock\n3\tdarkwave\n"
TAGGED = (
    "userID\tartistID\ttagID\tday\tmonth\tyear\n"
    "2\t1\t2\t1\t4\t2009\n3\t1\t2\t1\t4\t2009\n2\t1\t1\t1\t4\t2009\n"
    "2\t2\t3\t1\t4\t2009\n"
    "2\t999\t1\t1\t4\t2009\n"
)


@pytest.fixture
def lastfm(tmp_path) -> Path:
    return write(
        tmp_path / "hetrec2011-lastfm-2k",
        {
            "artists.dat": ARTISTS,
            "user_artists.dat": USER_ARTISTS,
            "tags.dat": TAGS,
            "user_taggedartists.dat": TAGGED,
        },
    )


def test_lastfm_stores_artists_play_counts_and_tag_genres(lastfm):
    out = run("import_lastfm", lastfm)
    malice = Item.objects.get(external_ids__source="lastfm", external_ids__value="1")
    assert (malice.kind, malice.music_type, malice.title) == ("music", "artist", "MALICE MIZER")
    assert list(malice.genres.order_by("name").values_list("name", "kind")) == [
        ("j-rock", "music"),
        ("metal", "music"),
    ]
    play = Play.objects.get(user__imported_id="2", item=malice)
    assert (play.play_count, play.started_at, play.client_event_id) == (13883, None, "lastfm:1")
    assert Play.objects.count() == 3
    assert set(User.objects.values_list("imported_from", flat=True)) == {"lastfm"}
    assert "1 tags of unlisted artists" in out


def test_lastfm_tag_threshold(lastfm):
    run("import_lastfm", lastfm, "--min-tag-listeners", "2")
    malice = Item.objects.get(external_ids__value="1", external_ids__source="lastfm")
    assert list(malice.genres.values_list("name", flat=True)) == ["j-rock"]


def test_lastfm_rerun_adds_nothing_and_updates_changed_counts(lastfm):
    run("import_lastfm", lastfm)
    before = table_counts()
    run("import_lastfm", lastfm)
    assert table_counts() == before
    (lastfm / "user_artists.dat").write_text(USER_ARTISTS.replace("3\t2\t5", "3\t2\t9"))
    run("import_lastfm", lastfm)
    assert table_counts() == before
    assert Play.objects.get(user__imported_id="3").play_count == 9


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            USER_ARTISTS + "4\t1\n",
            "user_artists.dat:5: expected 3 fields separated by '\\t', found 2",
        ),
        (
            USER_ARTISTS + "4\t1\tlots\n",
            "user_artists.dat:5: the play count (weight) must be a whole number",
        ),
        (
            USER_ARTISTS + "4\t1\t0\n",
            "user_artists.dat:5: the play count (weight) must be at least 1",
        ),
        (USER_ARTISTS + "4\t77\t3\n", "user_artists.dat:5: artist 77 is not in artists.dat"),
    ],
)
def test_lastfm_malformed_line_aborts(lastfm, content, message):
    (lastfm / "user_artists.dat").write_text(content)
    assert message in error_of("import_lastfm", lastfm)
    assert all(n == 0 for n in table_counts().values())


def test_lastfm_needs_both_tag_files(lastfm):
    (lastfm / "tags.dat").unlink()
    assert "tags.dat and user_taggedartists.dat go together" in error_of("import_lastfm", lastfm)


# --- Steam -------------------------------------------------------------------------------------

STEAM = (
    '151603712,"The Elder Scrolls V Skyrim",purchase,1.0,0\n'
    '151603712,"The Elder Scrolls V Skyrim",play,273.0,0\n'
    '151603712,"Fallout 4",purchase,1.0,0\n'
    '151603712,"Fallout 4",play,87.0,0\n'
    '151603712,"Fallout 4",play,87.5,0\n'
    '187131847,"Warhammer 40,000 Dawn of War II",purchase,1.0,0\n'
    '187131847,"Fallout 4",play,0.5,0\n'
)


def test_steam_stores_games_players_and_hours(tmp_path):
    path = tmp_path / "steam-200k.csv"
    path.write_text(STEAM)
    out = run("import_steam", path)
    assert set(Item.objects.values_list("title", "kind")) == {
        ("The Elder Scrolls V Skyrim", "game"),
        ("Fallout 4", "game"),
        ("Warhammer 40,000 Dawn of War II", "game"),
    }
    assert ExternalId.objects.filter(source="steam", value="title:Fallout 4").exists()
    fallout = Play.objects.get(user__imported_id="151603712", item__title="Fallout 4")
    assert (fallout.seconds_played, fallout.started_at) == (round(87.5 * 3600), None)
    # A purchase alone is no play; the buyer still has an account.
    assert not Play.objects.filter(item__title__startswith="Warhammer").exists()
    assert User.objects.filter(imported_from="steam").count() == 2
    assert Play.objects.count() == 3
    assert "1 purchases without play" in out

    before = table_counts()
    run("import_steam", path)
    assert table_counts() == before


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('1,"Game",rent,1.0,0', "steam-200k.csv:8: the behaviour must be 'purchase' or 'play'"),
        ('1,"Game",play,many,0', "steam-200k.csv:8: the value must be a number, got 'many'"),
        ('1,"Game",play', "steam-200k.csv:8: expected 4 to 5 fields separated by ','"),
        ('1,"Game",play,-2,0', "steam-200k.csv:8: the value must be a finite number >= 0"),
    ],
)
def test_steam_malformed_line_aborts(tmp_path, line, message):
    path = tmp_path / "steam-200k.csv"
    path.write_text(STEAM + line + "\n")
    assert message in error_of("import_steam", path)
    assert all(n == 0 for n in table_counts().values())


def test_movielens_ratings_may_name_films_imported_before(latest, tmp_path):
    run("import_movielens", latest)
    more = write(
        tmp_path / "more",
        {
            "movies.csv": "movieId,title,genres\n",
            "ratings.csv": "userId,movieId,rating,timestamp\n9,2,4.5,1000000000\n",
        },
    )
    run("import_movielens", more)
    assert Rating.objects.get(user__imported_id="latest:9").item.title == "The American President"
