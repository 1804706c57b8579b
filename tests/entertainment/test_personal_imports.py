"""Personal imports (issue 15): each format from its fixture through the task, matching by id
then title and year, idempotent re-imports, errors that name the line, a paused history,
unmatched rows matched or skipped, and imports in the export and gone with an erasure."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from entertainment.accounts.erasure import erase_account, erase_history
from entertainment.accounts.export import pack
from entertainment.accounts.models import User
from entertainment.accounts.privacy import change_settings
from entertainment.activity.models import Play, Rating, Review
from entertainment.catalogue.names import title_key
from entertainment.personal_imports import importing
from entertainment.personal_imports.formats import ImportFileError, halves, read
from entertainment.personal_imports.models import Format, PersonalImport, UnmatchedRow
from entertainment.personal_imports.tasks import run_import
from tests.factories import ItemFactory, RatingFactory

from .personal_imports_helpers import build_catalogue, fixture, letterboxd_zip, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    return build_catalogue()


def imported(user: User, name: str, content: bytes, format: str = Format.AUTO):
    """Upload a file and run its task here (the worker path runs in the worker test)."""
    job = importing.start_import(user, upload(name, content), format)
    run_import(job.pk)
    job.refresh_from_db()
    return job


def history(user: User) -> tuple[list, list, list]:
    plays = sorted(
        (p.item.title, p.started_at, p.seconds_played, p.play_count, p.completed)
        for p in Play.objects.filter(user=user).select_related("item")
    )
    ratings = sorted(
        (r.item.title, r.value) for r in Rating.objects.filter(user=user).select_related("item")
    )
    reviews = sorted(
        (r.item.title, r.text, r.rating)
        for r in Review.objects.filter(user=user).select_related("item")
    )
    return plays, ratings, reviews


def unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def day(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=UTC)


# --- Each format ----------------------------------------------------------------------------


def test_a_letterboxd_export_becomes_plays_ratings_and_a_review(user, catalogue):
    job = imported(user, "letterboxd-alice-2026-11-30-utc.zip", letterboxd_zip())

    assert job.status == PersonalImport.Status.DONE, job.error
    assert job.format == Format.LETTERBOXD
    assert job.upload is None  # the file is gone once read
    assert (job.rows, job.matched, job.unmatched, job.skipped) == (5, 4, 1, 0)
    assert (job.stored, job.duplicates, job.progress) == (9, 0, 100)
    plays, ratings, reviews = history(user)
    assert plays == [
        ("Amelie", None, 0, 1, True),  # watched.csv only: one play without a date
        ("Parasite", day(2023, 2, 10), 0, 1, True),
        ("Spirited Away", None, 0, 1, True),
        ("The Matrix", day(2023, 1, 6), 0, 1, True),  # each diary entry, on its watched date
        ("The Matrix", day(2023, 3, 4), 0, 1, True),
    ]
    # ratings.csv holds the current rating (the Matrix's later diary entry said 4).
    assert ratings == [
        ("Amelie", Decimal("4.0")),
        ("Parasite", Decimal("5.0")),
        ("The Matrix", Decimal("4.5")),
    ]
    assert reviews == [
        ("Parasite", "Funny, then frightening.\r\nThe stairs say everything.", Decimal("5.0"))
    ]
    (row,) = job.unmatched_rows.all()
    assert (row.number, row.title, row.year, row.kind, row.source) == (
        1,
        "Obscure Festival Short",
        2022,
        "film",
        "diary.csv:5",
    )
    assert row.describe() == "rated 3.5, watched 1 time"


def test_one_letterboxd_csv_alone_is_read_too(user, catalogue):
    job = imported(user, "ratings.csv", fixture("letterboxd-export/ratings.csv"))
    assert job.status == PersonalImport.Status.DONE, job.error
    assert job.format == Format.LETTERBOXD
    assert history(user)[1] == [
        ("Amelie", Decimal("4.0")),
        ("Parasite", Decimal("5.0")),
        ("The Matrix", Decimal("4.5")),
    ]


def test_imdb_ratings_match_by_their_imdb_id_then_title_and_year(user, catalogue):
    catalogue.matrix.title = "Matrix (Wachowski)"  # no title match: only the id finds it
    catalogue.matrix.save()
    job = imported(user, "ratings.csv", fixture("imdb-ratings.csv"))

    assert job.status == PersonalImport.Status.DONE, job.error
    assert job.format == Format.IMDB
    assert (job.rows, job.matched, job.unmatched, job.stored) == (4, 3, 1, 3)
    # 1-10 halved to stars; the 1982 "Parasite" and the game "Spirited Away" are not chosen.
    assert sorted(Rating.objects.filter(user=user).values_list("item_id", "value")) == sorted(
        [
            (catalogue.matrix.pk, Decimal("4.5")),
            (catalogue.parasite.pk, Decimal("5.0")),
            (catalogue.spirited_away.pk, Decimal("3.5")),
        ]
    )
    (row,) = job.unmatched_rows.all()
    assert (row.title, row.year, row.external_id) == ("Breaking Bad", 2008, "imdb:tt0903747")


def test_steam_owned_games_become_plays_weighted_by_playtime(user, catalogue):
    job = imported(user, "owned.json", fixture("steam-owned-games.json"))

    assert job.status == PersonalImport.Status.DONE, job.error
    assert job.format == Format.STEAM
    # Garry's Mod was never played: nothing to record.
    assert (job.rows, job.matched, job.unmatched, job.skipped, job.stored) == (4, 2, 1, 1, 2)
    assert history(user)[0] == [
        ("Portal 2", unix(1650000000), 600 * 60, 1, False),  # by name
        ("TF2", unix(1700000000), 1234 * 60, 1, False),  # by Steam app id
    ]
    (row,) = job.unmatched_rows.all()
    assert (row.title, row.external_id, row.source) == (
        "Indie Gem Nobody Catalogued",
        "steam:1145360",
        "owned.json: response.games[3]",
    )


def test_a_playnite_library_becomes_plays_with_counts_and_ratings(user, catalogue):
    job = imported(user, "library.json", fixture("playnite-library.json"))

    assert job.status == PersonalImport.Status.DONE, job.error
    assert job.format == Format.PLAYNITE
    assert (job.rows, job.matched, job.unmatched, job.skipped, job.stored) == (4, 2, 1, 1, 3)
    assert history(user)[0] == [
        ("Celeste (Game)", day(2022, 1, 10, 10), 18000, 3, False),  # by its Steam GameId
        ("Hades", day(2023, 8, 1, 19, 15), 72000, 15, True),  # title and year; completed
    ]
    assert history(user)[1] == [("Hades", Decimal("5.0"))]  # UserScore 95
    (row,) = job.unmatched_rows.all()
    assert row.title == "Obscure Homebrew"
    assert row.describe() == "rated 3.0, played 1 time, 1.0 hours"


def test_scores_map_to_half_stars():
    assert [halves(Decimal(n) / 2) for n in (1, 2, 7, 10)] == [
        Decimal("0.5"),
        Decimal("1.0"),
        Decimal("3.5"),
        Decimal("5.0"),
    ]
    assert [halves(Decimal(n) / 20) for n in (0, 1, 50, 60, 74, 75, 95, 100)] == [
        Decimal("0.5"),
        Decimal("0.5"),
        Decimal("2.5"),
        Decimal("3.0"),
        Decimal("3.5"),
        Decimal("4.0"),
        Decimal("5.0"),
        Decimal("5.0"),
    ]


def test_titles_are_compared_normalised():
    assert title_key("Amélie") == title_key("AMELIE") == "amelie"
    assert title_key("Matrix, The") == title_key("The Matrix")
    assert title_key("Spider-Man: No Way Home") == title_key("spider man no way home")
    assert title_key("!!!") == "!!!"


# --- Idempotent, all or nothing -------------------------------------------------------------


def test_importing_the_same_file_twice_stores_nothing_new(user, catalogue):
    first = imported(user, "export.zip", letterboxd_zip())
    before = history(user)
    second = imported(user, "export.zip", letterboxd_zip())

    assert second.status == PersonalImport.Status.DONE, second.error
    assert (second.stored, second.duplicates) == (0, first.stored)
    assert history(user) == before
    # The unmatched title is listed once, in the first import.
    assert second.unmatched == 0
    assert UnmatchedRow.objects.filter(user=user).count() == 1


def test_a_title_matched_by_hand_is_placed_there_by_the_next_import(user, catalogue):
    first = imported(user, "export.zip", letterboxd_zip())
    row = first.unmatched_rows.get()
    importing.match_row(user, row, catalogue.obscure_short)
    assert Rating.objects.get(user=user, item=catalogue.obscure_short).value == Decimal("3.5")

    again = imported(user, "export.zip", letterboxd_zip())
    assert (again.matched, again.unmatched, again.stored) == (5, 0, 0)


def test_nothing_is_stored_when_the_import_fails_part_way(user, catalogue, monkeypatch):
    def broken(job, rows):
        raise RuntimeError("disk full")

    monkeypatch.setattr(importing, "_list_unmatched", broken)
    job = imported(user, "export.zip", letterboxd_zip())

    assert job.status == PersonalImport.Status.FAILED
    assert job.error == importing.FAILED_MESSAGE
    assert job.upload is None
    assert history(user) == ([], [], [])


# --- Files that cannot be read --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "export.zip",
            letterboxd_zip(
                diary_csv=b"Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\r\n"
                b"2023-01-07,The Matrix,1999,https://boxd.it/a,4.5,,,2023-01-06\r\n"
                b"2023-01-08,Parasite,2019,https://boxd.it/b,7,,,2023-01-08\r\n"
            ),
            "diary.csv:3: Rating: not a rating of 0.5 to 5 in half stars: '7'",
        ),
        (
            "export.zip",
            letterboxd_zip(watched_csv=b"Date,Name,Letterboxd URI\r\n2023-01-01,X,u\r\n"),
            "watched.csv:1: missing column Year",
        ),
        (
            "diary.csv",
            b"Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n"
            b"2023-01-07,The Matrix,1999,u,4.5,,,2023-01-06\n"
            b"2023-01-07,Parasite,2019,u,4,,,07/01/2023\n",
            "diary.csv:3: Watched Date: not a date (YYYY-MM-DD): '07/01/2023'",
        ),
        (
            "ratings.csv",
            b"Const,Your Rating,Date Rated,Title,Year\ntt0133093,9,2023-01-06,The Matrix,1999\n"
            b"0245429,7,2021-06-01,Spirited Away,2001\n",
            "ratings.csv:3: Const: not an IMDb title id (tt followed by digits): '0245429'",
        ),
        (
            "owned.json",
            b'{"response": {"games": [{"appid": 440, "playtime_forever": 5}, '
            b'{"appid": "620", "playtime_forever": 5}]}}',
            "owned.json: response.games[1].appid: not an app id: '620'",
        ),
        (
            "library.json",
            b'[\n  {"Name": "Hades", "Playtime": 60},\n  {"Name": "Celeste", "Playtime": }\n]',
            "library.json:3: not valid JSON",
        ),
        (
            "library.json",
            b'[{"Name": "Hades", "UserScore": 140}]',
            "library.json: [0].UserScore: not a score from 0 to 100: 140",
        ),
        ("notes.txt", b"just some text\n", "notes.txt: not an export Encore knows"),
        ("empty.csv", b"", "empty.csv: the file is empty"),
    ],
)
def test_a_file_that_cannot_be_read_fails_naming_the_file_and_line(
    user, catalogue, name, content, message
):
    job = imported(user, name, content)

    assert job.status == PersonalImport.Status.FAILED
    assert job.error.startswith(message), job.error
    assert job.upload is None
    assert history(user) == ([], [], [])  # nothing of the valid files either
    assert not UnmatchedRow.objects.exists()


def test_a_format_chosen_by_the_person_is_read_as_that_format():
    with pytest.raises(ImportFileError, match=r"ratings.csv:1: missing columns Const, Your Rating"):
        read(Format.IMDB, fixture("letterboxd-export/ratings.csv"), "ratings.csv")


def test_a_zip_without_letterboxd_files_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lists/favourites.csv", "Date,Name\n")
    with pytest.raises(ImportFileError, match="no Letterboxd files"):
        read(Format.AUTO, buffer.getvalue(), "export.zip")


# --- A paused history -----------------------------------------------------------------------


def test_a_paused_history_refuses_an_upload(user, catalogue):
    change_settings(user, history_paused=True)
    with pytest.raises(importing.HistoryPaused):
        importing.start_import(user, upload("export.zip", letterboxd_zip()))
    assert not PersonalImport.objects.exists()


def test_a_history_paused_before_the_import_runs_stores_nothing(user, catalogue):
    job = importing.start_import(user, upload("export.zip", letterboxd_zip()))
    change_settings(user, history_paused=True)
    run_import(job.pk)
    job.refresh_from_db()

    assert job.status == PersonalImport.Status.FAILED
    assert job.error == importing.PAUSED_MESSAGE
    assert history(user) == ([], [], [])
    assert not UnmatchedRow.objects.exists()


def test_an_import_runs_once(user, catalogue):
    job = imported(user, "export.zip", letterboxd_zip())
    assert run_import(job.pk) is None  # a redelivered message finds it done
    assert Play.objects.filter(user=user).count() == 5


# --- Unmatched rows -------------------------------------------------------------------------


def test_matching_a_row_records_its_activity_once(user, catalogue):
    job = imported(user, "library.json", fixture("playnite-library.json"))
    row = job.unmatched_rows.get()
    homebrew = ItemFactory(kind="game", title="Homebrew (obscure)", year=None)

    result = importing.match_row(user, row, homebrew)

    assert result.stored == 2
    row.refresh_from_db()
    assert (row.status, row.item, row.resolved_at is not None) == ("matched", homebrew, True)
    play = Play.objects.get(user=user, item=homebrew)
    assert (play.seconds_played, play.play_count) == (3600, 1)
    assert Rating.objects.get(user=user, item=homebrew).value == Decimal("3.0")
    with pytest.raises(importing.AlreadyResolved):
        importing.match_row(user, row, homebrew)
    assert Play.objects.filter(user=user, item=homebrew).count() == 1


def test_skipping_a_row_records_nothing_and_it_is_not_listed_again(user, catalogue):
    job = imported(user, "library.json", fixture("playnite-library.json"))
    row = job.unmatched_rows.get()
    importing.skip_row(user, row)
    row.refresh_from_db()
    assert row.status == UnmatchedRow.Status.SKIPPED
    with pytest.raises(importing.AlreadyResolved):
        importing.skip_row(user, row)
    again = imported(user, "library.json", fixture("playnite-library.json"))
    assert again.unmatched == 0


def test_matching_while_paused_is_refused(user, catalogue):
    job = imported(user, "export.zip", letterboxd_zip())
    row = job.unmatched_rows.get()
    change_settings(user, history_paused=True)
    with pytest.raises(importing.HistoryPaused):
        importing.match_row(user, row, catalogue.obscure_short)
    row.refresh_from_db()
    assert row.status == UnmatchedRow.Status.OPEN
    assert not Play.objects.filter(item=catalogue.obscure_short).exists()


def test_the_catalogue_search_offers_items_of_the_rows_kind(user, catalogue):
    job = imported(user, "export.zip", letterboxd_zip())
    row = job.unmatched_rows.get()
    assert importing.search_items(row, "festival short") == [catalogue.obscure_short]
    assert importing.search_items(row, "Spirited") == [catalogue.spirited_away]  # not the game


# --- Personal data: export and erasure ------------------------------------------------------


def test_imports_and_their_unmatched_rows_are_in_the_export(user, catalogue):
    job = imported(user, "export.zip", letterboxd_zip())
    with zipfile.ZipFile(io.BytesIO(pack(user))) as archive:
        document = json.loads(archive.read("encore-export.json"))
    (exported,) = document["personal_imports"]
    assert (exported["id"], exported["filename"], exported["stored"]) == (job.pk, "export.zip", 9)
    (row,) = document["personal_import_unmatched_rows"]
    assert (row["title"], row["status"], row["source"]) == (
        "Obscure Festival Short",
        "open",
        "diary.csv:5",
    )
    assert {event["type"] for event in row["events"]} == {"play", "rating"}


def test_erasing_history_removes_imports_and_unmatched_rows(user, other_user, catalogue):
    imported(user, "export.zip", letterboxd_zip())
    theirs = imported(other_user, "export.zip", letterboxd_zip())
    pending = importing.start_import(user, upload("owned.json", fixture("steam-owned-games.json")))

    erase_history(user)

    assert not PersonalImport.objects.filter(user=user).exists()
    assert not UnmatchedRow.objects.filter(user=user).exists()
    assert run_import(pending.pk) is None  # the file waiting to be imported went too
    assert not Play.objects.filter(user=user).exists()
    assert PersonalImport.objects.filter(pk=theirs.pk).exists()
    assert UnmatchedRow.objects.filter(user=other_user).count() == 1


def test_erasing_items_removes_the_rows_matched_to_them(user, catalogue):
    job = imported(user, "export.zip", letterboxd_zip())
    row = job.unmatched_rows.get()
    importing.match_row(user, row, catalogue.obscure_short)

    erase_history(user, [catalogue.parasite.pk])
    assert UnmatchedRow.objects.filter(pk=row.pk).exists()
    erase_history(user, [catalogue.obscure_short.pk])
    assert not UnmatchedRow.objects.filter(pk=row.pk).exists()
    assert PersonalImport.objects.filter(pk=job.pk).exists()


def test_erasing_the_account_removes_imports(user, catalogue):
    imported(user, "export.zip", letterboxd_zip())
    erase_account(user)
    assert not PersonalImport.objects.exists()
    assert not UnmatchedRow.objects.exists()


def test_imported_ratings_keep_the_training_switches_of_their_person(user, catalogue):
    """Nothing to do for the switches: they act on a person's rows when a snapshot is taken,
    imported or not. Here: an import leaves them as they were."""
    change_settings(user, train_on_ratings=False)
    RatingFactory(user=user)
    imported(user, "export.zip", letterboxd_zip())
    user.privacy.refresh_from_db()
    assert user.privacy.train_on_ratings is False
