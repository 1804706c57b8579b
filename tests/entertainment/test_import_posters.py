"""`import_movielens --posters DIR`: pictures named by movieId become the films' artwork."""

from __future__ import annotations

import io
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from entertainment.catalogue import importing
from entertainment.catalogue.artwork import THUMBNAIL_WIDTH, set_artwork
from entertainment.catalogue.models import Item
from tests.entertainment.test_importers import (
    LINKS_CSV,
    MOVIES_CSV,
    RATINGS_CSV,
    table_counts,
    write,
)

pytestmark = pytest.mark.django_db

RED, BLUE, GREEN = (200, 30, 40), (20, 40, 210), (30, 180, 60)


def picture(colour: tuple[int, int, int], fmt: str = "JPEG", size=(320, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


def colour_of(field_file) -> tuple[int, ...]:
    with field_file.open("rb") as f, Image.open(f) as image:
        return tuple(image.convert("RGB").getpixel((image.width // 2, image.height // 2)))


def close(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(abs(x - y) <= 8 for x, y in zip(a, b, strict=True))


def film(movie_id: str) -> Item:
    return Item.objects.get(external_ids__source="movielens", external_ids__value=movie_id)


def media_files(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def run(directory: Path, posters: Path) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    args = [str(directory), "--posters", str(posters)]
    call_command("import_movielens", *args, verbosity=0, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def latest(tmp_path) -> Path:
    return write(
        tmp_path / "ml-latest-small",
        {"movies.csv": MOVIES_CSV, "links.csv": LINKS_CSV, "ratings.csv": RATINGS_CSV},
    )


@pytest.fixture
def posters(tmp_path) -> Path:
    # Films 1 and 2 have posters (a JPEG, a PNG); film 3 has none. The CSV is ignored.
    return write(
        tmp_path / "posters",
        {
            "1.jpg": picture(RED),
            "2.png": picture(BLUE, "PNG"),
            "posters.csv": "file,movieId\n1.jpg,1\n2.png,2\n",
        },
    )


def test_posters_become_the_films_artwork_with_thumbnails(latest, posters):
    out, err = run(latest, posters)

    toy_story, president, unknown = film("1"), film("2"), film("3")
    assert close(colour_of(toy_story.artwork), RED)
    assert close(colour_of(president.artwork), BLUE)
    assert toy_story.artwork.name.endswith(".jpg") and president.artwork.name.endswith(".png")
    for item in (toy_story, president):
        assert item.artwork_thumbnail.name.endswith(".webp")
        with item.artwork_thumbnail.open("rb") as f, Image.open(f) as thumb:
            assert thumb.size == (THUMBNAIL_WIDTH, THUMBNAIL_WIDTH * 3 // 2)
    assert not unknown.artwork and not unknown.artwork_thumbnail
    assert "posters: 2 attached, 0 unchanged, 1 missing, 0 refused" in out
    assert err == ""


def test_a_second_run_changes_nothing(latest, posters, settings):
    run(latest, posters)
    names = dict(Item.objects.values_list("pk", "artwork"))
    files = media_files(settings)

    out, _ = run(latest, posters)

    assert "posters: 0 attached, 2 unchanged, 1 missing, 0 refused" in out
    assert dict(Item.objects.values_list("pk", "artwork")) == names
    assert media_files(settings) == files


def test_a_changed_poster_replaces_the_old_file(
    latest, posters, settings, django_capture_on_commit_callbacks
):
    run(latest, posters)
    old = film("1").artwork.name
    (posters / "1.jpg").write_bytes(picture(GREEN))

    with django_capture_on_commit_callbacks(execute=True):
        out, _ = run(latest, posters)

    toy_story = film("1")
    assert "posters: 1 attached, 1 unchanged" in out
    assert close(colour_of(toy_story.artwork), GREEN)
    # One original and one thumbnail per film: the replaced ones are gone.
    assert old not in media_files(settings)
    assert len(media_files(settings)) == 4


def test_films_without_a_poster_keep_their_artwork(latest, posters):
    run(latest, posters)
    set_artwork(film("3"), picture(GREEN), "own.jpg")
    kept = film("3").artwork.name

    out, _ = run(latest, posters)

    assert film("3").artwork.name == kept
    assert "1 missing" in out


def test_a_broken_poster_is_named_and_the_others_still_attach(latest, posters, settings):
    (posters / "2.png").write_bytes(picture(BLUE, "PNG")[:200])  # truncated
    (posters / "3.jpg").write_text("not a picture")

    out, err = run(latest, posters)

    assert close(colour_of(film("1").artwork), RED)
    assert not film("2").artwork and not film("3").artwork
    assert f"{posters / '2.png'}: refused: The image is damaged or truncated" in err
    assert f"{posters / '3.jpg'}: refused: This file is not a JPEG, PNG, WebP or GIF" in err
    assert "posters: 1 attached, 0 unchanged, 0 missing, 2 refused" in out
    assert len(media_files(settings)) == 2  # one original, one thumbnail


def test_posters_pass_the_upload_limits(latest, posters, settings):
    settings.ARTWORK_MAX_PIXELS = 100_000  # the 320 x 480 posters have 153,600
    (posters / "3.jpg").write_bytes(picture(GREEN, size=(200, 300)))

    out, err = run(latest, posters)

    assert "1.jpg: refused: The image is 320 x 480 pixels; artwork may have at most" in err
    assert close(colour_of(film("3").artwork), GREEN)
    assert "posters: 1 attached, 0 unchanged, 0 missing, 2 refused" in out


def test_two_pictures_of_one_film_and_pictures_of_no_film(latest, posters):
    (posters / "1.png").write_bytes(picture(GREEN, "PNG"))
    (posters / "999.jpg").write_bytes(picture(GREEN))
    (posters / "cover.jpg").write_bytes(picture(GREEN))

    out, err = run(latest, posters)

    assert not film("1").artwork
    assert "1.jpg and 1.png are pictures of one item" in err
    assert "2 pictures name no film of this release or the catalogue, left out: 999.jpg" in err
    assert "posters: 1 attached, 0 unchanged, 1 missing, 2 refused, 2 naming no film" in out


def test_a_failure_while_attaching_leaves_no_files_behind(latest, posters, settings, monkeypatch):
    calls = []
    real = importing.set_artwork

    def fail_on_the_second(item, data, name):
        calls.append(name)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        real(item, data, name)

    monkeypatch.setattr(importing, "set_artwork", fail_on_the_second)
    with pytest.raises(RuntimeError):
        run(latest, posters)

    assert media_files(settings) == []
    assert all(n == 0 for n in table_counts().values())


@pytest.mark.parametrize("make", ["missing", "file", "empty"])
def test_a_bad_posters_folder_is_named_before_anything_is_written(latest, tmp_path, make):
    folder = tmp_path / "covers"
    if make == "file":
        folder.write_text("")
    elif make == "empty":
        (folder / "posters").mkdir(parents=True)

    with pytest.raises(CommandError) as exc:
        run(latest, folder)

    message = str(exc.value)
    assert message.startswith(f"--posters {folder}: ")
    expected = {
        "missing": "no such folder",
        "file": "not a folder",
        "empty": f"no pictures in it (.jpg, .jpeg, .png, .webp or .gif) (did you mean {folder}",
    }
    assert expected[make] in message
    assert all(n == 0 for n in table_counts().values())


def test_ml_100k_posters_are_named_by_its_own_ids(tmp_path):
    u_item = "1|Toy Story (1995)|01-Jan-1995||http://x|" + "|".join(["0"] * 19) + "\n"
    directory = write(tmp_path / "ml-100k", {"u.item": u_item, "u.data": "196\t1\t3\t881250949\n"})
    posters = write(tmp_path / "covers", {"1.jpg": picture(RED)})

    out, _ = run(directory, posters)

    assert close(colour_of(film("100k:1").artwork), RED)
    assert "movielens-100k-1" in str(film("100k:1").artwork.name)
    assert "posters: 1 attached" in out
