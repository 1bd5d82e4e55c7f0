"""Test photos made in code with Pillow: a phone JPEG with GPS, a sideways one, bombs, fakes."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image, ImageDraw

from intake.photos import images

#: Pillow writes HEIC only with pillow-heif's plugin, which intake.photos.images registers.
assert images.HEIC  # noqa: S101 - a test helper

#: EXIF tags: Make, Model, Orientation, the GPS IFD, GPSLatitudeRef, GPSLatitude, MakerNote.
MAKE, MODEL, ORIENTATION, GPS_IFD, MAKER_NOTE = 0x010F, 0x0110, 0x0112, 0x8825, 0x927C


def jpeg(width: int = 640, height: int = 480, *, gps: bool = False, orientation: int | None = None,
         colour: tuple[int, int, int] = (200, 150, 120), quality: int = 90) -> bytes:
    """A JPEG with a marked top-left corner; with GPS, a maker and a model in its EXIF when asked."""
    image = Image.new("RGB", (width, height), colour)
    ImageDraw.Draw(image).rectangle((0, 0, width // 4, height // 4), fill=(20, 20, 20))
    exif = Image.Exif()
    if gps:
        exif[MAKE], exif[MODEL] = "PhoneMaker", "Phone 12"
        exif[GPS_IFD] = {1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 39.0)}
    if orientation:
        exif[ORIENTATION] = orientation
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality, exif=exif.tobytes() if len(exif) else b"")
    return out.getvalue()


def png(width: int = 300, height: int = 200, mode: str = "RGBA") -> bytes:
    image = Image.new(mode, (width, height), (10, 120, 200, 128) if mode == "RGBA" else (10, 120, 200))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def webp(width: int = 300, height: int = 200) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 160, 90)).save(out, format="WEBP")
    return out.getvalue()


def heic(width: int = 300, height: int = 200) -> bytes:
    """An iPhone-style HEIC (written by pillow-heif, which intake.photos.images registers with Pillow)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (180, 120, 100)).save(out, format="HEIF", quality=80)
    return out.getvalue()


def gif(width: int = 50, height: int = 50) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (90, 160, 90)).save(out, format="GIF")
    return out.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG that declares ``width`` × ``height`` pixels (a decompression bomb)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\0" * (width + 1) * 16, 9)  # a few rows of zeros; the rest never arrives
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script><rect width="10" height="10"/></svg>')


def polyglot_html() -> bytes:
    """A real JPEG with a web page appended: opens as a photo, runs as a page."""
    return jpeg(200, 150) + b"<html><body><script>alert(document.cookie)</script></body></html>"


def polyglot_zip() -> bytes:
    """A real JPEG with a ZIP archive appended (a GIFAR-like file: a photo to one reader, an archive to another)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("Evil.class", b"\xca\xfe\xba\xbe" + b"\0" * 64)
    return jpeg(200, 150) + archive.getvalue()


def truncated() -> bytes:
    data = jpeg(800, 600)
    return data[: len(data) // 2]


def phone_photo(megapixels: int = 12) -> bytes:
    """A 4:3 phone-sized JPEG (12 MP: 4000 × 3000) with noise-like detail, GPS and an orientation."""
    width = int((megapixels * 1_000_000 * 4 / 3) ** 0.5)
    height = megapixels * 1_000_000 // width
    image = Image.effect_noise((width, height), 60).convert("RGB")
    exif = Image.Exif()
    exif[MAKE], exif[MODEL], exif[ORIENTATION] = "PhoneMaker", "Phone 12", 6
    exif[GPS_IFD] = {1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 39.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()
