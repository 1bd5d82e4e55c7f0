"""A photo sent by a patient or a practitioner, made safe to keep: verified, limited, re-encoded.

Pure: Pillow and bytes in, bytes out (no Flask, no database). What is kept is never the
file that was sent: the pixels are decoded from a real photo format only (JPEG, PNG, WebP,
and HEIC when pillow-heif is installed), turned upright from the EXIF orientation, and
written out again as a new JPEG without any metadata (EXIF, GPS, maker notes, XMP,
comments), in sRGB, with its thumbnail made once. Anything else is refused with a message
a patient can act on (``PhotoRefused``).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from ..answers.vocabulary import N_

try:  # HEIC (iPhone photos) only with a maintained decoder; without it, HEIC is refused like any other type.
    from pillow_heif import register_heif_opener
except ImportError:  # pragma: no cover - pillow-heif is a dependency; a platform without its wheel still runs
    HEIC = False
else:
    register_heif_opener()
    HEIC = True

#: Pillow's decoders that may open an upload: photo formats only (never SVG, PDF, EPS, PSD, TIFF, ...).
FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP") + (("HEIF",) if HEIC else ())
#: The accepted types as a patient reads them (format names only: the same in every language).
ACCEPTED_NAMES = "JPEG, PNG, WebP" + (", HEIC" if HEIC else "")
#: The longest side of a kept photo and of its thumbnail, in pixels.
FULL_EDGE = 4096
THUMBNAIL_EDGE = 320
JPEG_QUALITY = 86
THUMBNAIL_QUALITY = 80
MEDIA_TYPE = "image/jpeg"

#: Signs that a file is also a web page or a script: dangerous if ever served as sent. Long enough that
#: compressed pixels do not make them by chance (about once in millions of photos for the shortest).
MARKUP = (b"<script", b"<html>", b"<html ", b"<!doctype", b"<?php", b"<iframe", b"javascript:")
#: A ZIP archive (a JAR, a GIFAR, an Office file): a local file header, and the end of the central
#: directory within the last 64 KiB, where archive readers look for it.
ZIP_START, ZIP_END = b"PK\x03\x04", b"PK\x05\x06"
BROKEN = N_("The photo could not be read: the file is damaged or incomplete. Try sending it again.")


class PhotoRefused(ValueError):
    """The file is not kept; ``message`` says why in words for the person who sent it, ``code`` for tests and logs.

    ``template`` and ``values`` are the message before it is filled in: the shell translates the
    template (gettext, the patient's language) and fills it with the same values.
    """

    def __init__(self, code: str, template: str, **values: str):
        self.code = code
        self.template = template
        self.values = values
        self.message = template % values if values else template
        super().__init__(self.message)


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_pixels: int


@dataclass(frozen=True)
class ProcessedPhoto:
    """A photo as kept: a clean JPEG and its thumbnail, with their sizes."""

    data: bytes
    width: int
    height: int
    thumbnail: bytes
    thumbnail_width: int
    thumbnail_height: int
    media_type: str = MEDIA_TYPE


def _megabytes(count: int) -> str:
    return f"{count / (1024 * 1024):.0f} MB" if count >= 1024 * 1024 else f"{count // 1024} KB"


def check_envelope(data: bytes, limits: Limits) -> None:
    """Refuse what is no photo before decoding anything: empty, too big, a drawing, a file hiding another."""
    if not data:
        raise PhotoRefused("empty", N_("The file is empty. Choose the photo again."))
    if len(data) > limits.max_bytes:
        raise PhotoRefused("too_large", N_("The photo is larger than %(size)s. Send a smaller one (your phone's "
                                           "normal camera setting is fine)."), size=_megabytes(limits.max_bytes))
    head = data[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg")) or b"<svg" in head:
        raise PhotoRefused("svg", N_("SVG drawings are not accepted. Send a photo (%(types)s)."), types=ACCEPTED_NAMES)
    lowered = data.lower()
    if any(marker in lowered for marker in MARKUP) or (ZIP_END in data[-(65536 + 22):] and ZIP_START in data):
        raise PhotoRefused("polyglot", N_("This file holds something besides a photo, so it is not accepted. "
                                          "Send the photo straight from your camera or gallery."))


def _too_many_pixels(size: tuple[int, int] | None, limits: Limits) -> PhotoRefused:
    most = f"{limits.max_pixels / 1e6:.0f}"
    if size:
        return PhotoRefused("too_many_pixels", N_("The photo has too many pixels (%(size)s): the most accepted is "
                                                  "%(most)s megapixels. Send a smaller one."),
                            size=f"{size[0]} × {size[1]}", most=most)
    return PhotoRefused("too_many_pixels", N_("The photo has too many pixels: the most accepted is %(most)s "
                                              "megapixels. Send a smaller one."), most=most)


def _open(data: bytes, limits: Limits) -> Image.Image:
    """The decoded image, upright: its type, its declared size and its completeness checked first."""
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns below twice its limit: ours (the declared size, below) decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except Image.DecompressionBombError:  # declares far more pixels than Pillow would ever decode
        raise _too_many_pixels(None, limits) from None
    except UnidentifiedImageError:
        raise PhotoRefused("type", N_("This file is not a photo we can accept. Send a photo (%(types)s)."),
                           types=ACCEPTED_NAMES) from None
    except (OSError, SyntaxError, ValueError):
        raise PhotoRefused("broken", BROKEN) from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > limits.max_pixels:
        image.close()
        raise _too_many_pixels((width, height), limits)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()  # a truncated file fails here (ImageFile.LOAD_TRUNCATED_IMAGES stays off)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        image.close()
        raise PhotoRefused("broken", BROKEN) from None
    return image


def _to_srgb(image: Image.Image) -> Image.Image:
    """RGB pixels in sRGB: a colour profile is converted, then dropped with the rest of the metadata."""
    profile = image.info.get("icc_profile")
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    if profile:
        try:
            converted = ImageCms.profileToProfile(image, io.BytesIO(profile), ImageCms.createProfile("sRGB"),
                                                  outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None  # an unreadable profile: the pixels are kept as they are
        if converted is not None:
            image = converted
    return image


def _jpeg(image: Image.Image, quality: int, optimize: bool) -> bytes:
    out = io.BytesIO()
    # A fresh image carries no info: no exif=, icc_profile=, comment= or xmp= are written.
    clean = Image.new("RGB", image.size)
    clean.paste(image)
    clean.save(out, format="JPEG", quality=quality, optimize=optimize)
    return out.getvalue()


def process(data: bytes, limits: Limits) -> ProcessedPhoto:
    """Verify ``data`` as a photo and return it re-encoded without metadata, with its thumbnail.

    Raises PhotoRefused with the reason (empty, too large, SVG, polyglot, wrong type,
    too many pixels, damaged or truncated).
    """
    check_envelope(data, limits)
    image = _open(data, limits)
    try:
        upright = ImageOps.exif_transpose(image) or image
        rgb = _to_srgb(upright)
    finally:
        image.close()
    if max(rgb.size) > FULL_EDGE:
        rgb.thumbnail((FULL_EDGE, FULL_EDGE), Image.Resampling.LANCZOS)
    # Optimised Huffman tables save about 6 % on a 12 MP photo for ten times the encoding time (bench_photos.py).
    full = _jpeg(rgb, JPEG_QUALITY, optimize=False)
    width, height = rgb.size
    rgb.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE), Image.Resampling.LANCZOS)
    thumbnail = _jpeg(rgb, THUMBNAIL_QUALITY, optimize=True)
    return ProcessedPhoto(full, width, height, thumbnail, rgb.width, rgb.height)
