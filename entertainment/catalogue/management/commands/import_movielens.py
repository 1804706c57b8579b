"""`manage.py import_movielens DIR`: films, people and ratings from a MovieLens release.

Three layouts are recognised by their files:

- ml-latest / ml-latest-small: ratings.csv, movies.csv and, when present, links.csv (IMDb and
  TMDb ids); UTF-8 CSV with a header.
- ml-1m: ratings.dat and movies.dat, '::'-separated, latin-1.
- ml-100k: u.data (tab-separated ratings) and u.item ('|'-separated, 19 genre flags), latin-1.

Films are found again by their MovieLens id (ml-latest and ml-1m share the site's movie ids;
ml-100k numbers its films itself, so they are kept apart as "100k:<id>"). People of each
release are different people: accounts are "movielens:<release>:<userId>". Every rating
keeps the source's time as created_at/updated_at.

With `--posters DIR`, films get artwork from a folder of pictures named by MovieLens id
(`<movieId>.jpg`, or .png, .webp, .gif; ml-100k's own ids for ml-100k). Each picture is
checked as an upload is; one that fails is named and skipped, and the rest still attach.
A film that already shows the same picture is left alone, so a rerun writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from entertainment.catalogue.importing import (
    Counts,
    ImportCommand,
    ItemRecord,
    LineError,
    Pictures,
    Progress,
    RatingRecord,
    attach_pictures,
    check_pictures,
    csv_records,
    ensure_items,
    imported_people,
    picture_files,
    required_files,
    split_records,
    star_rating,
    upsert_ratings,
    whole_number,
)
from entertainment.catalogue.models import ExternalId, Kind

SOURCE = "movielens"
# ml-100k's u.item flags, in column order (its u.genre file lists the same).
GENRES_100K = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance",
    "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip
NO_GENRES = {"(no genres listed)", "unknown"}
# DOTALL: a title may hold a line break (a quoted CSV field), and its year still ends it.
YEAR_AT_END = re.compile(
    r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:\s*[-\u2013]\s*\d{0,4})?\)\s*$", re.DOTALL
)
ARTICLE_AT_END = re.compile(r"^(?P<rest>.+), (?P<article>The|A|An)$", re.DOTALL)
RELEASE_YEAR = re.compile(r"(\d{4})$")


def split_title(raw: str) -> tuple[str, int | None]:
    """'American President, The (1995)' -> ('The American President', 1995)."""
    title, year = raw.strip(), None
    if match := YEAR_AT_END.match(title):
        title, year = match["title"], int(match["year"])
    if match := ARTICLE_AT_END.match(title):
        title = f"{match['article']} {match['rest']}"
    return title or raw.strip(), year


@dataclass
class Rated:
    user: str
    movie: str
    value: Decimal
    at: int
    line: int


@dataclass
class Release:
    name: str  # latest, 1m, 100k
    films: dict[str, ItemRecord]
    ratings: list[Rated]
    posters: Pictures | None = None


class Command(ImportCommand):
    help = (
        "Import films, people and ratings from a MovieLens release directory, and with "
        "--posters DIR the films' posters as artwork."
    )
    source = SOURCE
    path_help = "a MovieLens directory (ml-latest-small, ml-latest, ml-1m or ml-100k)"
    poster_summary = ""

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--posters",
            type=Path,
            metavar="DIR",
            help=(
                "a folder of film posters named by MovieLens id (<movieId>.jpg, .png, .webp or "
                ".gif; ml-100k: its own film ids). Each film with a poster gets it as artwork, "
                "checked as an upload is; a poster that fails the check is named and skipped. "
                "Films without one keep their artwork; a film already showing the same poster "
                "is left alone."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.poster_summary = ""
        super().handle(*args, **options)
        if self.poster_summary:
            self.stdout.write(self.poster_summary)

    def read(self, path: Path, encoding: str | None, progress: Progress, options: Any) -> Release:
        if not path.is_dir():
            raise CommandError(f"{path} is not a directory")
        posters_dir: Path | None = options.get("posters")
        # Listed before the data files are read: a mistyped folder stops the import at once.
        posters = picture_files(posters_dir, "--posters") if posters_dir is not None else None
        if (path / "ratings.csv").is_file() or (path / "movies.csv").is_file():
            release = read_latest(path, encoding or "utf-8", progress)
        elif (path / "ratings.dat").is_file() or (path / "movies.dat").is_file():
            release = read_1m(path, encoding or "latin-1", progress)
        elif (path / "u.data").is_file() or (path / "u.item").is_file():
            release = read_100k(path, encoding or "latin-1", progress)
        else:
            raise CommandError(
                f"{path}: no MovieLens files found (expected ratings.csv + movies.csv, "
                "ratings.dat + movies.dat, or u.data + u.item)"
            )
        check_films_known(path, release)
        if posters is not None:
            release.posters = check_pictures(posters, poster_key(release), progress)
            for refused in release.posters.refused:
                self.stderr.write(f"{refused.path}: refused: {refused.reason}")
            if unmatched := release.posters.unmatched:
                names = ", ".join(p.name for p in unmatched[:5])
                more = f" and {len(unmatched) - 5} more" if len(unmatched) > 5 else ""
                self.stderr.write(
                    f"{posters_dir}: {len(unmatched)} pictures name no film of this release "
                    f"or the catalogue, left out: {names}{more}"
                )
        return release

    def write(self, loaded: Release, counts: Counts, progress: Progress) -> None:
        release = loaded
        films = ensure_items(Kind.FILM, SOURCE, list(release.films.values()), counts, progress)
        people = imported_people(
            SOURCE, (f"{release.name}:{r.user}" for r in release.ratings), counts, progress
        )
        # The newest line wins where one person rated one film twice.
        latest: dict[tuple[str, str], Rated] = {}
        for r in release.ratings:
            key = (r.user, r.movie)
            if key not in latest or (r.at, r.line) >= (latest[key].at, latest[key].line):
                latest[key] = r
        if len(latest) < len(release.ratings):
            counts.add("skipped", "repeated ratings", len(release.ratings) - len(latest))
        ordered = sorted(latest.values(), key=lambda r: (r.user, r.at, r.line))
        upsert_ratings(
            SOURCE,
            [
                RatingRecord(
                    user=people[f"{release.name}:{r.user}"],
                    item=films[r.movie],
                    value=r.value,
                    at=datetime.fromtimestamp(r.at, tz=UTC),
                )
                for r in ordered
            ],
            counts,
            progress,
        )
        if release.posters is not None:
            # Last: files written here are the one part of the import outside the transaction.
            self.poster_summary = attach_posters(release, release.posters, films, progress)


def poster_key(release: Release) -> Callable[[str], str | None]:
    """A poster's film key from its file name's stem: the release's own films, or films
    imported before (a poster folder may cover more than one release's films)."""
    prefix = "100k:" if release.name == "100k" else ""
    known = set(ExternalId.objects.filter(source=SOURCE).values_list("value", flat=True))

    def key_of(stem: str) -> str | None:
        if not (stem.isascii() and stem.isdigit()):
            return None
        key = prefix + str(int(stem))
        return key if key in release.films or key in known else None

    return key_of


def attach_posters(
    release: Release, posters: Pictures, films: dict[str, int], progress: Progress
) -> str:
    attached, unchanged = attach_pictures(SOURCE, posters.accepted, films, progress)
    missing = len(release.films.keys() - posters.keys())
    line = (
        f"posters: {attached} attached, {unchanged} unchanged, {missing} missing, "
        f"{len(posters.refused)} refused"
    )
    if posters.unmatched:
        line += f", {len(posters.unmatched)} naming no film"
    return line


def check_films_known(path: Path, release: Release) -> None:
    """Every rated film must be in the films file, or already imported."""
    missing = [r for r in release.ratings if r.movie not in release.films]
    if not missing:
        return
    known = set(ExternalId.objects.filter(source=SOURCE).values_list("value", flat=True))
    for r in missing:
        if r.movie not in known:
            raise LineError(
                path / RATINGS_FILE[release.name],
                r.line,
                f"film {r.movie.removeprefix('100k:')} is not in {FILMS_FILE[release.name]}",
            )


RATINGS_FILE = {"latest": "ratings.csv", "1m": "ratings.dat", "100k": "u.data"}
FILMS_FILE = {"latest": "movies.csv", "1m": "movies.dat", "100k": "u.item"}


def rating_lines(
    records: Iterator[tuple[int, list[str]]], path: Path, prefix: str = ""
) -> list[Rated]:
    return [
        Rated(
            user=str(whole_number(path, n, f[0], "the user id", 1)),
            movie=prefix + str(whole_number(path, n, f[1], "the film id", 1)),
            value=star_rating(path, n, f[2]),
            at=whole_number(path, n, f[3], "the timestamp"),
            line=n,
        )
        for n, f in records
    ]


def read_latest(path: Path, encoding: str, progress: Progress) -> Release:
    movies_csv, ratings_csv = required_files(path, "movies.csv", "ratings.csv")
    films: dict[str, ItemRecord] = {}
    for n, (movie_id, raw_title, genres) in csv_records(
        movies_csv, encoding, 3, progress, header=("movieId", "title", "genres")
    ):
        key = str(whole_number(movies_csv, n, movie_id, "movieId", 1))
        title, year = split_title(raw_title)
        names = [g.strip() for g in genres.split("|") if g.strip() and g.strip() not in NO_GENRES]
        films[key] = ItemRecord(key=key, title=title, year=year, genres=names)
    links_csv = path / "links.csv"
    if links_csv.is_file():
        for n, (movie_id, imdb, tmdb) in csv_records(
            links_csv, encoding, 3, progress, header=("movieId", "imdbId", "tmdbId")
        ):
            key = str(whole_number(links_csv, n, movie_id, "movieId", 1))
            if key not in films:
                continue
            if imdb.strip():
                imdb_number = whole_number(links_csv, n, imdb, "imdbId")
                films[key].other_ids[ExternalId.Source.IMDB] = f"tt{imdb_number:07d}"
            if tmdb.strip():
                tmdb_number = whole_number(links_csv, n, tmdb, "tmdbId")
                films[key].other_ids[ExternalId.Source.TMDB] = str(tmdb_number)
    ratings = rating_lines(
        csv_records(
            ratings_csv, encoding, 4, progress, header=("userId", "movieId", "rating", "timestamp")
        ),
        ratings_csv,
    )
    return Release("latest", films, ratings)


def read_1m(path: Path, encoding: str, progress: Progress) -> Release:
    movies_dat, ratings_dat = required_files(path, "movies.dat", "ratings.dat")
    films: dict[str, ItemRecord] = {}
    for n, (movie_id, raw_title, genres) in split_records(movies_dat, encoding, "::", 3, progress):
        key = str(whole_number(movies_dat, n, movie_id, "MovieID", 1))
        title, year = split_title(raw_title)
        names = [g.strip() for g in genres.split("|") if g.strip() and g.strip() not in NO_GENRES]
        films[key] = ItemRecord(key=key, title=title, year=year, genres=names)
    ratings = rating_lines(split_records(ratings_dat, encoding, "::", 4, progress), ratings_dat)
    return Release("1m", films, ratings)


def read_100k(path: Path, encoding: str, progress: Progress) -> Release:
    u_item, u_data = required_files(path, "u.item", "u.data")
    films: dict[str, ItemRecord] = {}
    for n, fields in split_records(u_item, encoding, "|", 5 + len(GENRES_100K), progress):
        key = "100k:" + str(whole_number(u_item, n, fields[0], "the film id", 1))
        title, year = split_title(fields[1])
        if year is None and (match := RELEASE_YEAR.search(fields[2].strip())):
            year = int(match[1])
        flags = fields[5:]
        if any(flag.strip() not in ("0", "1") for flag in flags):
            raise LineError(u_item, n, "the 19 genre flags must each be 0 or 1")
        names = [
            genre
            for genre, flag in zip(GENRES_100K, flags, strict=True)
            if flag.strip() == "1" and genre not in NO_GENRES
        ]
        films[key] = ItemRecord(key=key, title=title, year=year, genres=names)
    ratings = rating_lines(split_records(u_data, encoding, "\t", 4, progress), u_data, "100k:")
    return Release("100k", films, ratings)
