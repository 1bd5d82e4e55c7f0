"""intake.photos.images without a server: what is kept of a photo, and what is refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageCms

from intake.photos.images import FULL_EDGE, THUMBNAIL_EDGE, Limits, PhotoRefused, process
from tests.support import photos as samples

LIMITS = Limits(max_bytes=15 * 1024 * 1024, max_pixels=50_000_000)


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_every_orientation_is_applied_and_no_metadata_survives():
    for orientation, size in ((1, (64, 48)), (3, (64, 48)), (6, (48, 64)), (8, (48, 64))):
        kept = process(samples.jpeg(64, 48, gps=True, orientation=orientation), LIMITS)
        image = opened(kept.data)
        assert image.size == size == (kept.width, kept.height)
        assert dict(image.getexif()) == {} and "icc_profile" not in image.info and "exif" not in image.info
        assert b"GPS" not in kept.data and b"PhoneMaker" not in kept.data


def test_a_colour_profile_is_converted_to_srgb_then_dropped():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    source = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 80)).save(source, format="JPEG", icc_profile=profile)
    kept = opened(process(source.getvalue(), LIMITS).data)
    assert "icc_profile" not in kept.info and kept.mode == "RGB"


def test_transparency_is_flattened_on_white_and_large_photos_are_scaled_down():
    kept = process(samples.png(40, 30, mode="RGBA"), LIMITS)
    assert opened(kept.data).mode == "RGB"
    big = process(samples.jpeg(FULL_EDGE + 1000, 1000), LIMITS)
    assert big.width == FULL_EDGE and big.height == round(1000 * FULL_EDGE / (FULL_EDGE + 1000))
    assert max(big.thumbnail_width, big.thumbnail_height) == THUMBNAIL_EDGE


@pytest.mark.parametrize(("data", "code"), [
    (b"", "empty"), (samples.SVG, "svg"), (b"  <svg xmlns='http://www.w3.org/2000/svg'/>", "svg"),
    (samples.gif(), "type"), (samples.polyglot_html(), "polyglot"), (samples.polyglot_zip(), "polyglot"),
    (samples.truncated(), "broken"), (samples.png_bomb(), "too_many_pixels"),
    (samples.png_bomb(8000, 8000), "too_many_pixels"),
])
def test_refusals_have_a_code_and_a_message(data, code):
    with pytest.raises(PhotoRefused) as refused:
        process(data, LIMITS)
    assert refused.value.code == code and refused.value.message


def test_the_byte_limit_is_checked_before_decoding():
    with pytest.raises(PhotoRefused) as refused:
        process(samples.jpeg(), Limits(max_bytes=100, max_pixels=50_000_000))
    assert refused.value.code == "too_large"
