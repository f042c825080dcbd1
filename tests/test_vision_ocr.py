"""Real Tesseract: readable words outside faces are found and blurred away."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from skimage import data

from generator.vision.ocr import ScrubResult, readable_words, scrub_text

ASTRONAUT_FACE = (178, 59, 269, 176)  # MTCNN's box in skimage's astronaut photo


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # scalable built-in font (Pillow >= 10.1): no system font needed
    return ImageFont.load_default(size=size)


def _post_image(sign: bool = True, face_label: bool = False):
    """A 400x256 post: a drawn backdrop, a pasted head on the right, an optional sign with
    two lines of large text on the left, an optional label across the forehead."""
    rng = np.random.default_rng(7)
    y = np.linspace(0, 1, 256)[:, None, None]
    img = Image.fromarray(
        (np.array([60, 40, 200]) * (1 - y) + np.array([180, 60, 140]) * y)
        .repeat(400, axis=1)
        .astype(np.uint8)
    )
    draw = ImageDraw.Draw(img)
    for _ in range(5):
        x, yy = rng.uniform(0, 400, 2)
        r = rng.uniform(15, 60)
        draw.ellipse(
            (x - r, yy - r, x + r, yy + r), fill=tuple(int(c) for c in rng.integers(0, 256, 3))
        )
    # the head: the astronaut's face scaled to 110 px wide, pasted at (200, 10)
    src = Image.fromarray(data.astronaut())
    x1, y1, x2, y2 = ASTRONAUT_FACE
    s = 110 / (x2 - x1)
    box = (x1 - 60, y1 - 40, x2 + 60, y2 + 90)
    head = src.crop(box).resize((round((box[2] - box[0]) * s), round((box[3] - box[1]) * s)))
    mask = Image.new("L", head.size, 0)
    ImageDraw.Draw(mask).ellipse((8, 8, head.width - 8, head.height * 1.4), fill=255)
    img.paste(head, (200, 10), mask.filter(ImageFilter.GaussianBlur(5)))
    face = (
        200 + (x1 - box[0]) * s,
        10 + (y1 - box[1]) * s,
        200 + (x2 - box[0]) * s,
        10 + (y2 - box[1]) * s,
    )
    if sign:
        draw.rectangle((10, 40, 200, 130), fill=(250, 250, 240))
        draw.text((18, 45), "BREAKING", font=_font(30), fill=(10, 10, 10))
        draw.text((18, 88), "NEWS TODAY", font=_font(30), fill=(10, 10, 10))
    if face_label:
        fx1, fy1, fx2, _ = face
        draw.rectangle((fx1 + 8, fy1 + 25, fx2 - 8, fy1 + 58), fill=(255, 255, 255))
        draw.text((fx1 + 14, fy1 + 28), "PRESS", font=_font(26), fill=(0, 0, 0))
    return img, face


def _words(found) -> set[str]:
    return {w for w, _ in found}


@pytest.fixture(scope="module")
def post():
    return _post_image()


def test_readable_words_found_with_boxes(post):
    img, face = post
    found = readable_words(img, [face])
    assert {"BREAKING", "NEWS", "TODAY"} <= _words(found)
    for word, (x1, y1, x2, y2) in found:
        assert x2 <= face[0] or x1 >= face[2] or y2 <= face[1] or y1 >= face[3], word
    for _, (x1, y1, x2, y2) in [wb for wb in found if wb[0] in {"BREAKING", "NEWS", "TODAY"}]:
        # boxes are in the original (not upscaled) pixels, on the sign
        assert 10 <= x1 < x2 <= 212 and 40 <= y1 < y2 <= 132


def test_scrub_blurs_words_and_leaves_the_face(post):
    img, face = post
    before = np.asarray(img).copy()
    result = scrub_text(img, [face])
    assert isinstance(result, ScrubResult)
    assert result.ok and result.passes == 1 and result.words == ()
    assert np.array_equal(np.asarray(img), before)  # the input is not modified
    assert readable_words(result.image, [face]) == []
    after = np.asarray(result.image).astype(int)
    fx1, fy1, fx2, fy2 = (round(v) for v in face)
    assert np.array_equal(after[fy1:fy2, fx1 + 4 : fx2], before[fy1:fy2, fx1 + 4 : fx2])
    assert np.abs(after[45:125, 15:195] - before[45:125, 15:195]).mean() > 5  # the sign changed


def test_text_on_the_face_is_left_alone():
    img, face = _post_image(sign=False, face_label=True)
    assert "PRESS" in _words(readable_words(img, []))  # readable...
    assert readable_words(img, [face]) == []  # ...but inside the face box
    result = scrub_text(img, [face])
    assert result.ok and result.passes == 0
    assert np.array_equal(np.asarray(result.image), np.asarray(img))


def test_no_text_is_ok_with_no_pass():
    img, face = _post_image(sign=False)
    result = scrub_text(img, [face], max_passes=2)
    assert (result.ok, result.passes, result.words) == (True, 0, ())


def test_zero_passes_leaves_text_and_fails(post):
    img, face = post
    result = scrub_text(img, [face], max_passes=0)
    assert not result.ok and result.passes == 0
    assert {"BREAKING", "NEWS", "TODAY"} <= set(result.words)
    assert np.array_equal(np.asarray(result.image), np.asarray(img))
    with pytest.raises(ValueError):
        scrub_text(img, [face], max_passes=-1)
