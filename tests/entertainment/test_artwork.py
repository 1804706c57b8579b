"""Artwork uploads: what is refused and why, what is stored, and the thumbnails made from it."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from entertainment.catalogue.artwork import (
    THUMBNAIL_WIDTH,
    ArtworkFormField,
    inspect_artwork,
    refresh_thumbnail,
    set_artwork,
)
from entertainment.catalogue.models import Item
from tests.factories import ItemFactory


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (600, 400), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 90)).save(out, fmt, **save)
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def decompression_bomb(side: int = 20_000) -> bytes:
    """A real, complete 1-bit PNG of side x side black pixels that compresses to a few kB."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", data)
        + png_chunk(b"IEND", b"")
    )


def message_of(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(exc.value.messages)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_each_accepted_format_passes(fmt):
    info = inspect_artwork(ContentFile(image_bytes(fmt), name="cover.bin"))
    assert (info.format, info.width, info.height) == (fmt, 600, 400)


def test_a_text_file_named_like_an_image_is_refused():
    with pytest.raises(ValidationError) as exc:
        inspect_artwork(ContentFile(b"just some words, honestly\n" * 10, name="cover.png"))
    assert "not a JPEG, PNG, WebP or GIF image" in message_of(exc)


def test_another_real_image_format_is_refused():
    with pytest.raises(ValidationError) as exc:
        inspect_artwork(ContentFile(image_bytes("BMP"), name="cover.jpg"))
    assert "not a JPEG, PNG, WebP or GIF" in message_of(exc)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_truncated_image_is_refused(fmt):
    whole = image_bytes(fmt, (800, 800), **({"quality": 95} if fmt == "JPEG" else {}))
    with pytest.raises(ValidationError) as exc:
        inspect_artwork(ContentFile(whole[: len(whole) // 2], name="cover"))
    assert "damaged or truncated" in message_of(exc)


def test_too_many_bytes_is_refused_before_reading(settings):
    settings.ARTWORK_MAX_BYTES = 2048
    with pytest.raises(ValidationError) as exc:
        inspect_artwork(ContentFile(b"\x89PNG" + b"\x00" * 5000, name="big.png"))
    assert message_of(exc) == "The image is 4.9 kB; artwork may be at most 2.0 kB."
    assert exc.value.error_list[0].code == "artwork_too_large"


def test_a_decompression_bomb_is_refused_without_decoding():
    bomb = decompression_bomb()
    assert len(bomb) < 100_000
    with pytest.raises(ValidationError) as exc:
        inspect_artwork(ContentFile(bomb, name="innocent.png"))
    assert exc.value.error_list[0].code == "artwork_too_many_pixels"
    assert "pixels" in message_of(exc)


def test_pixel_limit_is_checked_from_the_header(settings):
    settings.ARTWORK_MAX_PIXELS = 100 * 100
    with pytest.raises(ValidationError) as exc:
        inspect_artwork(ContentFile(image_bytes("PNG", (101, 100)), name="a.png"))
    assert "101 x 100 pixels" in message_of(exc)
    inspect_artwork(ContentFile(image_bytes("PNG", (100, 100)), name="a.png"))


def test_the_form_field_gives_the_specific_message():
    field = ArtworkFormField(required=False)
    upload = SimpleUploadedFile("cover.jpg", b"<html>not a picture</html>", "image/jpeg")
    with pytest.raises(ValidationError) as exc:
        field.clean(upload)
    assert "not a JPEG, PNG, WebP or GIF image" in message_of(exc)


def test_the_model_field_validates_in_full_clean(db):
    item = Item(kind="film", title="Broken")
    item.artwork = SimpleUploadedFile("cover.png", b"nope" * 100, "image/png")
    with pytest.raises(ValidationError) as exc:
        item.full_clean()
    assert "artwork" in exc.value.message_dict


def test_saved_artwork_is_stored_without_exif_and_with_a_thumbnail(db):
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to display
    raw = image_bytes("JPEG", (800, 400), exif=exif.tobytes())
    assert Image.open(io.BytesIO(raw)).getexif()

    item = ItemFactory()
    set_artwork(item, raw, "holiday.jpg")
    item.refresh_from_db()

    with item.artwork.open("rb") as f, Image.open(f) as stored:
        assert stored.format == "JPEG"
        assert not stored.getexif()
        # The orientation was applied to the pixels, not dropped.
        assert stored.size == (400, 800)
    assert item.artwork_thumbnail.name.endswith(".webp")
    with item.artwork_thumbnail.open("rb") as f, Image.open(f) as thumb:
        assert thumb.format == "WEBP"
        assert thumb.size == (THUMBNAIL_WIDTH, 480)


def test_replacing_artwork_replaces_the_thumbnail(db, django_capture_on_commit_callbacks):
    item = ItemFactory()
    set_artwork(item, image_bytes("PNG", (300, 300)), "one.png")
    first_thumb = item.artwork_thumbnail.name
    storage = item.artwork_thumbnail.storage
    assert storage.exists(first_thumb)

    with django_capture_on_commit_callbacks(execute=False) as pending:
        set_artwork(item, image_bytes("GIF", (480, 240)), "two.gif")
    assert storage.exists(first_thumb)  # until the change commits: a rollback still needs it
    for callback in pending:
        callback()
    item.refresh_from_db()
    assert item.artwork_thumbnail.name != first_thumb
    assert not storage.exists(first_thumb)
    with item.artwork_thumbnail.open("rb") as f, Image.open(f) as thumb:
        assert thumb.size == (THUMBNAIL_WIDTH, 120)


def test_a_very_tall_picture_gets_a_bounded_thumbnail(db):
    item = ItemFactory()
    set_artwork(item, image_bytes("PNG", (300, 3000)), "scroll.png")
    with item.artwork_thumbnail.open("rb") as f, Image.open(f) as thumb:
        assert thumb.size == (48, 480)


def test_a_small_picture_is_not_enlarged(db):
    item = ItemFactory()
    set_artwork(item, image_bytes("WEBP", (100, 80)), "tiny.webp")
    with item.artwork_thumbnail.open("rb") as f, Image.open(f) as thumb:
        assert thumb.size == (100, 80)


def test_clearing_artwork_clears_the_thumbnail(db, django_capture_on_commit_callbacks):
    item = ItemFactory()
    set_artwork(item, image_bytes(), "one.png")
    thumb = item.artwork_thumbnail.name
    item.artwork = None
    with django_capture_on_commit_callbacks(execute=True):
        item.save()
    item.refresh_from_db()
    assert not item.artwork_thumbnail
    assert not item.artwork_thumbnail.storage.exists(thumb)


def test_saving_other_fields_keeps_the_thumbnail(db):
    item = ItemFactory()
    set_artwork(item, image_bytes(), "one.png")
    thumb = item.artwork_thumbnail.name
    loaded = Item.objects.get(pk=item.pk)
    loaded.title = "Renamed"
    loaded.save()
    loaded.refresh_from_db()
    assert loaded.artwork_thumbnail.name == thumb


def test_refresh_thumbnail_rebuilds_a_missing_one(db):
    item = ItemFactory()
    set_artwork(item, image_bytes(), "one.png")
    Item.objects.filter(pk=item.pk).update(artwork_thumbnail="")
    item.refresh_from_db()
    refresh_thumbnail(item)
    item.refresh_from_db()
    assert item.artwork_thumbnail.storage.exists(item.artwork_thumbnail.name)


def test_set_artwork_refuses_bad_bytes_and_keeps_the_old_picture(db):
    item = ItemFactory()
    set_artwork(item, image_bytes(), "one.png")
    before = item.artwork.name
    with pytest.raises(ValidationError):
        set_artwork(item, b"GIF89a but not really", "two.gif")
    item.refresh_from_db()
    assert item.artwork.name == before
