"""Shot-aware crop: window geometry, remapped boxes, output size."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from generator.vision.crop import SHOT_TYPES, crop_for_shot, crop_window

OUT_W, OUT_H = 400, 256
# the largest 400:256 window of a 1024x1024 image is 1024 x 655.36
MAX_WINDOW_H = 1024 * OUT_H / OUT_W


def _gradient(size: tuple[int, int] = (1024, 1024)) -> Image.Image:
    w, h = size
    x = np.linspace(0, 255, w)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h)[:, None].repeat(w, 1)
    return Image.fromarray(np.stack([x, y, 255 - x], axis=-1).astype(np.uint8))


def _inside(inner, outer, tol=1e-6) -> bool:
    return (
        inner[0] >= outer[0] - tol
        and inner[1] >= outer[1] - tol
        and inner[2] <= outer[2] + tol
        and inner[3] <= outer[3] + tol
    )


def _area(b) -> float:
    return (b[2] - b[0]) * (b[3] - b[1])


@pytest.mark.parametrize("shot", SHOT_TYPES)
def test_output_size_and_faces_inside(shot):
    img = _gradient()
    faces = [(420.0, 300.0, 600.0, 520.0), (640.0, 330.0, 760.0, 480.0)]
    out, boxes = crop_for_shot(img, faces, shot)
    assert out.size == (OUT_W, OUT_H)
    assert out.mode == img.mode
    window = crop_window(img.size, faces, shot)
    assert _inside(window, (0, 0, 1024, 1024))
    assert (window[2] - window[0]) / (window[3] - window[1]) == pytest.approx(OUT_W / OUT_H)
    assert len(boxes) == 2
    for face, box in zip(faces, boxes, strict=True):
        assert _inside(face, window)  # nothing of the face is cut
        assert all(isinstance(v, int) for v in box)
        assert _inside(box, (0, 0, OUT_W, OUT_H))
        # the remapped box is the face scaled into the output, not a clipped remnant
        sx = OUT_W / (window[2] - window[0])
        assert box[2] - box[0] == pytest.approx((face[2] - face[0]) * sx, abs=1.01)


def test_close_up_faces_larger_than_wide():
    img = _gradient()
    faces = [(460.0, 380.0, 660.0, 637.0)]
    sizes = {}
    for shot in SHOT_TYPES:
        _, boxes = crop_for_shot(img, faces, shot)
        sizes[shot] = _area(boxes[0])
    assert sizes["close-up"] > sizes["medium shot"] > sizes["wide shot"]


def test_pixels_come_from_the_window():
    img = _gradient()
    faces = [(100.0, 100.0, 200.0, 230.0)]
    out, _ = crop_for_shot(img, faces, "close-up")
    x1, y1, x2, y2 = crop_window(img.size, faces, "close-up")
    expected = img.resize((OUT_W, OUT_H), Image.Resampling.LANCZOS, box=(x1, y1, x2, y2))
    assert np.array_equal(np.asarray(out), np.asarray(expected))


def test_window_shifts_at_the_border_and_shrinks_when_too_large():
    # a face in the corner: the window is shifted into the image, the face stays in
    corner = [(0.0, 0.0, 150.0, 190.0)]
    for shot in SHOT_TYPES:
        window = crop_window((1024, 1024), corner, shot)
        assert window[0] == 0 and window[1] == 0
        assert _inside(corner[0], window)
    # faces spanning the image: the wide window would be larger than the image, so it is
    # shrunk to the largest window of the output aspect
    spread = [(50.0, 300.0, 250.0, 550.0), (780.0, 350.0, 980.0, 600.0)]
    window = crop_window((1024, 1024), spread, "wide shot")
    assert window[2] - window[0] == pytest.approx(1024)
    assert window[3] - window[1] == pytest.approx(MAX_WINDOW_H)


def test_no_faces_and_bad_shot():
    img = _gradient((800, 600))
    out, boxes = crop_for_shot(img, [], "medium shot")
    assert out.size == (OUT_W, OUT_H) and boxes == []
    window = crop_window(img.size, [], "medium shot")
    assert window == pytest.approx((0, (600 - 512) / 2, 800, (600 + 512) / 2))
    with pytest.raises(ValueError, match="shot"):
        crop_for_shot(img, [], "aerial shot")


def test_other_output_size():
    out, boxes = crop_for_shot(_gradient(), [(400.0, 400.0, 560.0, 600.0)], "medium shot", 256, 256)
    assert out.size == (256, 256)
    assert _inside(boxes[0], (0, 0, 256, 256))


SIZE = st.tuples(st.integers(300, 1600), st.integers(300, 1600))


@st.composite
def scene(draw):
    w, h = draw(SIZE)
    n = draw(st.integers(1, 3))
    boxes = []
    for _ in range(n):
        side = draw(st.floats(20, min(w, h) / 3))
        x1 = draw(st.floats(0, w - side))
        y1 = draw(st.floats(0, h - side))
        tall = draw(st.floats(1.0, 1.3))
        boxes.append((x1, y1, x1 + side, min(h, y1 + side * tall)))
    shot = draw(st.sampled_from(SHOT_TYPES))
    return (w, h), boxes, shot


@settings(max_examples=200, deadline=None)
@given(scene())
def test_window_properties(case):
    size, boxes, shot = case
    window = crop_window(size, boxes, shot)
    w, h = window[2] - window[0], window[3] - window[1]
    assert _inside(window, (0, 0, *size))
    assert w / h == pytest.approx(OUT_W / OUT_H, rel=1e-9)
    union = (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
    max_w = min(size[0], size[1] * OUT_W / OUT_H)
    if union[2] - union[0] <= max_w and union[3] - union[1] <= max_w * OUT_H / OUT_W:
        # whenever the faces fit in a window of the output aspect, none is cut
        assert _inside(union, window, tol=1e-6)
    if shot == "close-up":
        assert w >= min(OUT_W / 2, max_w) - 1e-9  # never enlarged more than 2x


@settings(max_examples=40, deadline=None)
@given(scene())
def test_remapped_boxes_in_bounds(case):
    size, boxes, shot = case
    img = Image.new("RGB", size, (90, 120, 150))
    out, remapped = crop_for_shot(img, boxes, shot)
    assert out.size == (OUT_W, OUT_H)
    assert len(remapped) <= len(boxes)
    for x1, y1, x2, y2 in remapped:
        assert 0 <= x1 < x2 <= OUT_W and 0 <= y1 < y2 <= OUT_H
