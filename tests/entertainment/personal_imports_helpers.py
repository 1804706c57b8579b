"""Shared by the personal import tests: the fixture files and a catalogue that holds most of
their titles (some by id, some by title and year only, one spelt differently)."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from entertainment.catalogue.models import ExternalId, Item, Kind

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "personal_imports"


def letterboxd_zip(folder: str = "letterboxd-export", **replace: bytes) -> bytes:
    """The export's CSV files zipped as Letterboxd does; `replace` swaps a file's content
    (`diary_csv=b"..."`)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted((FIXTURES / folder).iterdir()):
            content = replace.get(path.name.replace(".", "_"), path.read_bytes())
            archive.writestr(path.name, content)
    return buffer.getvalue()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


@dataclass
class Catalogue:
    matrix: Item
    parasite: Item
    amelie: Item
    spirited_away: Item
    tf2: Item
    portal2: Item
    hades: Item
    celeste: Item
    obscure_short: Item  # in the catalogue under a title the export does not use


def build_catalogue() -> Catalogue:
    def film(title: str, year: int | None, imdb: str = "") -> Item:
        item = Item.objects.create(kind=Kind.FILM, title=title, year=year)
        if imdb:
            ExternalId.objects.create(item=item, source=ExternalId.Source.IMDB, value=imdb)
        return item

    def game(title: str, year: int | None, steam: str = "") -> Item:
        item = Item.objects.create(kind=Kind.GAME, title=title, year=year)
        if steam:
            ExternalId.objects.create(item=item, source=ExternalId.Source.STEAM, value=steam)
        return item

    catalogue = Catalogue(
        # By IMDb id only: the catalogue's title differs from IMDb's.
        matrix=film("The Matrix", 1999, imdb="tt0133093"),
        parasite=film("Parasite", 2019),
        # Spelt without the accent Letterboxd uses.
        amelie=film("Amelie", 2001),
        spirited_away=film("Spirited Away", 2001),
        tf2=game("TF2", None, steam="440"),
        portal2=game("Portal 2", 2011),
        hades=game("Hades", 2020),
        celeste=game("Celeste (Game)", None, steam="504230"),
        obscure_short=film("A Very Obscure Festival Short", 2022),
    )
    # Decoys: the same titles in other years or kinds are never chosen.
    film("Parasite", 1982)
    game("Spirited Away", 2001)
    return catalogue
