"""Artwork: the one check every upload passes, the cleaned copy we store, and its thumbnail.

The model field, the admin form, the pages and the API all validate through `inspect_artwork`,
so an image is refused for the same reasons, with the same words, wherever it comes from.
The pixel limit is read from the header before anything is decoded: a small file that would
decode to gigabytes (a decompression bomb) is refused without being decoded.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from PIL import Image, ImageOps, UnidentifiedImageError

if TYPE_CHECKING:
    from .models import Item

# Pillow's names for the formats we accept, and the file extension each is stored under.
ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
THUMBNAIL_WIDTH = 240
THUMBNAIL_MAX_HEIGHT = 2 * THUMBNAIL_WIDTH
THUMBNAIL_FORMAT = "WEBP"
THUMBNAIL_QUALITY = 80


@dataclass(frozen=True)
class ArtworkInfo:
    format: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return ACCEPTED_FORMATS[self.format]


def _megabytes(n: int) -> str:
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} kB"
    return f"{n / (1024 * 1024):.1f} MB"


def _size_of(file: IO[bytes] | File) -> int:
    size = getattr(file, "size", None)
    if isinstance(size, int):
        return size
    position = file.tell()
    file.seek(0, io.SEEK_END)
    end = file.tell()
    file.seek(position)
    return end


def apply_pillow_limit() -> None:
    """Make Pillow itself refuse anything far beyond our pixel limit, wherever it is opened.

    Pillow raises DecompressionBombError above twice MAX_IMAGE_PIXELS; our own, exact check
    in `inspect_artwork` refuses everything above the limit before decoding.
    """
    Image.MAX_IMAGE_PIXELS = settings.ARTWORK_MAX_PIXELS


def inspect_artwork(file: IO[bytes] | File) -> ArtworkInfo:
    """Check that `file` is a whole JPEG, PNG, WebP or GIF within the size limits.

    Raises ValidationError with a message for a person; leaves the file at position 0.
    """
    max_bytes: int = settings.ARTWORK_MAX_BYTES
    max_pixels: int = settings.ARTWORK_MAX_PIXELS
    size = _size_of(file)
    if size > max_bytes:
        raise ValidationError(
            "The image is %(size)s; artwork may be at most %(limit)s.",
            code="artwork_too_large",
            params={"size": _megabytes(size), "limit": _megabytes(max_bytes)},
        )
    if size == 0:
        raise ValidationError("The file is empty.", code="artwork_empty")
    not_an_image = ValidationError(
        "This file is not a JPEG, PNG, WebP or GIF image.", code="artwork_not_image"
    )
    file.seek(0)
    try:
        # open() reads the header only; the pixel data is decoded by load() below.
        with Image.open(file, formats=list(ACCEPTED_FORMATS)) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise _too_many_pixels(width, height, max_pixels)
            image_format = str(image.format)
            image.load()
    except Image.DecompressionBombError:
        # Pillow's own guard fired while reading the header: even further past our limit.
        raise ValidationError(
            "The image has far more pixels than the limit of %(limit)s.",
            code="artwork_too_many_pixels",
            params={"limit": f"{max_pixels:,}"},
        ) from None
    except UnidentifiedImageError:
        raise not_an_image from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError) as exc:
        raise ValidationError(
            "The image is damaged or truncated (%(reason)s).",
            code="artwork_damaged",
            params={"reason": str(exc) or type(exc).__name__},
        ) from None
    finally:
        file.seek(0)
    if image_format not in ACCEPTED_FORMATS:
        raise not_an_image
    return ArtworkInfo(image_format, width, height)


def _too_many_pixels(width: int, height: int, limit: int) -> ValidationError:
    return ValidationError(
        "The image is %(width)s x %(height)s pixels; artwork may have at most %(limit)s pixels.",
        code="artwork_too_many_pixels",
        params={"width": width, "height": height, "limit": f"{limit:,}"},
    )


def _committed(field_file: FieldFile) -> bool:
    """Whether the file is already in storage (Django's FieldFile keeps this privately)."""
    return bool(getattr(field_file, "_committed", True))


def validate_artwork(file: IO[bytes] | File) -> None:
    """Validator for model, form and serializer fields.

    Artwork already in storage passed this check when it was uploaded: saving an item again
    neither re-reads it nor refuses it because a limit has since been lowered.
    """
    if isinstance(file, FieldFile) and _committed(file):
        return
    inspect_artwork(file)


def _still_rgb(image: Image.Image) -> Image.Image:
    """The first frame, upright (EXIF orientation applied), in a mode every encoder takes."""
    image.seek(0)
    upright = ImageOps.exif_transpose(image)
    if upright.mode in ("RGBA", "LA") or (upright.mode == "P" and "transparency" in upright.info):
        return upright.convert("RGBA")
    return upright.convert("RGB")


def cleaned_artwork(file: IO[bytes] | File, name: str = "artwork") -> ContentFile[bytes]:
    """A validated, re-encoded copy with no metadata (EXIF may hold a camera's GPS position).

    Artwork is a still picture: an animated GIF or WebP keeps its first frame.
    """
    info = inspect_artwork(file)
    with Image.open(file) as image:
        still = _still_rgb(image)
    file.seek(0)
    out = io.BytesIO()
    if info.format == "JPEG":
        still.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
    elif info.format == "WEBP":
        still.save(out, "WEBP", quality=90)
    else:
        # PNG and GIF: lossless PNG keeps the picture exactly, transparency included.
        still.save(out, "PNG", optimize=True)
    extension = "jpg" if info.format == "JPEG" else "webp" if info.format == "WEBP" else "png"
    stem = PurePath(name).stem or "artwork"
    return ContentFile(out.getvalue(), name=f"{stem}.{extension}")


def thumbnail_of(file: IO[bytes] | File, name: str = "artwork") -> ContentFile[bytes]:
    """A WebP of a stored (already validated) image, THUMBNAIL_WIDTH wide at most.

    Very tall pictures are held to twice that height, so a list row stays a list row.
    """
    with Image.open(file) as image:
        still = _still_rgb(image)
    file.seek(0)
    scale = min(THUMBNAIL_WIDTH / still.width, THUMBNAIL_MAX_HEIGHT / still.height)
    if scale < 1:
        size = (max(1, round(still.width * scale)), max(1, round(still.height * scale)))
        still = still.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    still.save(out, THUMBNAIL_FORMAT, quality=THUMBNAIL_QUALITY)
    stem = PurePath(name).stem or "artwork"
    return ContentFile(out.getvalue(), name=f"{stem}-thumb.webp")


def refresh_thumbnail(item: Item, *, save: bool = True) -> None:
    """Make `item.artwork_thumbnail` match `item.artwork` (or clear it when there is none)."""
    old = item.artwork_thumbnail.name
    if item.artwork:
        with item.artwork.open("rb") as stored:
            thumbnail = thumbnail_of(stored, item.artwork.name or "artwork")
        item.artwork_thumbnail.save(thumbnail.name or "thumb.webp", thumbnail, save=False)
    else:
        item.artwork_thumbnail.name = ""
    if old and old != item.artwork_thumbnail.name:
        # After commit: a rolled-back change (an import failing halfway) keeps pointing at it.
        storage = item.artwork_thumbnail.storage
        transaction.on_commit(lambda: storage.delete(old))
    if save:
        type(item).objects.filter(pk=item.pk).update(artwork_thumbnail=item.artwork_thumbnail.name)


def prepare_for_save(item: Item) -> bool:
    """Store a cleaned copy of newly assigned artwork; say whether the artwork changed.

    Called by Item.save() before the row is written.
    """
    field_file = item.artwork
    if field_file and not _committed(field_file):
        cleaned = cleaned_artwork(field_file.file, field_file.name or "artwork")
        field_file.save(cleaned.name or "artwork", cleaned, save=False)
    return bool(item._stored_artwork != (field_file.name or ""))


def set_artwork(item: Item, file: IO[bytes] | File | bytes, name: str) -> None:
    """Validate, clean and store new artwork for `item`, with its thumbnail, and save the item.

    The one call the API, the seed and scripts use to give an item a picture (the admin
    form assigns the upload and saves, which comes to the same).
    """
    if isinstance(file, bytes):
        file = ContentFile(file, name=name)
    item.artwork = File(file, name=name)
    item.save()


# --- Fields -----------------------------------------------------------------------------------


class ArtworkFormField(forms.FileField):
    """A form field that checks uploads with `inspect_artwork` (not Django's generic check).

    Django's forms.ImageField would decode the image before our checks and answer every
    problem with the same sentence; this one says what is wrong.
    """

    default_validators = [validate_artwork]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}),
        )
        super().__init__(**kwargs)


class ArtworkField(models.ImageField):
    """An ImageField validated by `inspect_artwork` in every ModelForm and full_clean()."""

    default_validators = [validate_artwork]

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": ArtworkFormField, **kwargs})
