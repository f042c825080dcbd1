"""The image encoders and decoder in generator.imaging."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

from generator.imaging import decode_rgb, encode_jpeg, encode_png


def _noise(w: int = 37, h: int = 11, mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(3)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).convert(mode)


@pytest.mark.parametrize("level", [0, 1, 6, 9])
def test_png_round_trips_every_pixel(level):
    img = _noise()
    data = encode_png(img, level)
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG" and im.size == img.size and im.mode == "RGB"
        assert np.array_equal(np.asarray(im), np.asarray(img))


def test_png_of_a_non_rgb_image_is_its_rgb_conversion():
    grey = _noise(mode="L")
    assert decode_rgb(encode_png(grey, 1)).tobytes() == grey.convert("RGB").tobytes()


def test_png_levels_trade_size_for_time():
    img = Image.new("RGB", (256, 256), (10, 200, 30))
    assert len(encode_png(img, 9)) < len(encode_png(img, 0))


def test_jpeg_is_rgb_at_its_size_and_close_to_the_pixels():
    img = _noise(64, 48)
    data = encode_jpeg(img.convert("RGBA"), 95)
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "JPEG" and im.size == (64, 48) and im.mode == "RGB"
    assert encode_jpeg(img, 95) == encode_jpeg(img, 95)  # deterministic
    assert len(encode_jpeg(img, 30)) < len(data)


def test_decode_rgb_converts_and_rejects_bad_bytes():
    buf = io.BytesIO()
    _noise(mode="L").save(buf, format="PNG")
    assert decode_rgb(buf.getvalue()).mode == "RGB"
    with pytest.raises(UnidentifiedImageError):
        decode_rgb(b"not an image")
