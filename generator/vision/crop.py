"""Shot-aware crop of a generated image to the post size, with face boxes remapped.

Pure function of pixels and boxes: no file I/O, no configuration object.
"""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image

__all__ = ["SHOT_TYPES", "crop_for_shot", "crop_window"]

Box = tuple[float, float, float, float]

SHOT_TYPES = ("wide shot", "medium shot", "close-up")
# wide / medium: the union of the faces is expanded by this factor around its centre
_EXPAND = {"wide shot": 2.4, "medium shot": 2.0}
# close-up: the window is this many times the faces' union (on its binding axis)
_CLOSE_UP_FACTOR = 1.3


def _union(boxes: Sequence[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _place(lo: float, hi: float, centre: float, length: float, limit: float) -> float:
    """Start of a segment of ``length`` inside ``[0, limit]``, as close as possible to being
    centred on ``centre``, covering ``[lo, hi]`` whenever it is long enough to."""
    start = centre - length / 2
    if hi - lo <= length:
        # keep [lo, hi] inside: start in [hi - length, lo]
        start = min(max(start, hi - length), lo)
    return min(max(start, 0.0), limit - length)


def crop_window(
    image_size: tuple[int, int],
    face_boxes: Sequence[Box],
    shot: str,
    out_w: int = 400,
    out_h: int = 256,
) -> Box:
    """The crop window (x1, y1, x2, y2), in image pixels, that :func:`crop_for_shot` uses.

    The window has the ``out_w:out_h`` aspect ratio and lies inside the image.  With no face
    box it is the largest centred window.
    """
    if shot not in SHOT_TYPES:
        raise ValueError(f"shot must be one of {SHOT_TYPES}, got {shot!r}")
    if out_w < 1 or out_h < 1:
        raise ValueError(f"output size must be positive, got {out_w}x{out_h}")
    img_w, img_h = image_size
    aspect = out_w / out_h
    # the largest window of the output aspect that fits the image
    max_w = min(float(img_w), img_h * aspect)
    max_h = max_w / aspect

    boxes = [b for b in face_boxes if b[2] > b[0] and b[3] > b[1]]
    if not boxes:
        return _clamped((img_w / 2, img_h / 2), (max_w, max_h), None, image_size)

    ux1, uy1, ux2, uy2 = _union(boxes)
    ux1, uy1 = max(ux1, 0.0), max(uy1, 0.0)
    ux2, uy2 = min(ux2, float(img_w)), min(uy2, float(img_h))
    uw, uh = max(ux2 - ux1, 1.0), max(uy2 - uy1, 1.0)
    centre = ((ux1 + ux2) / 2, (uy1 + uy2) / 2)

    if shot == "close-up":
        w = max(uw * _CLOSE_UP_FACTOR, uh * _CLOSE_UP_FACTOR * aspect, out_w / 2)
    else:
        k = _EXPAND[shot]
        # expand around the centre, then grow the short axis to the output aspect
        w = max(uw * k, uh * k * aspect)
    h = w / aspect
    if w > max_w:  # shrink (keeping the aspect) only when larger than the image
        w, h = max_w, max_h
    return _clamped(centre, (w, h), (ux1, uy1, ux2, uy2), image_size)


def _clamped(
    centre: tuple[float, float],
    size: tuple[float, float],
    keep: Box | None,
    image_size: tuple[int, int],
) -> Box:
    w, h = size
    lo_x, lo_y, hi_x, hi_y = keep if keep is not None else (*centre, *centre)
    x1 = _place(lo_x, hi_x, centre[0], w, image_size[0])
    y1 = _place(lo_y, hi_y, centre[1], h, image_size[1])
    return (x1, y1, x1 + w, y1 + h)


def crop_for_shot(
    img: Image.Image,
    face_boxes: Sequence[Box],
    shot: str,
    out_w: int = 400,
    out_h: int = 256,
) -> tuple[Image.Image, list[tuple[int, int, int, int]]]:
    """Crop ``img`` for ``shot`` and resize to ``out_w`` x ``out_h`` (LANCZOS).

    ``shot`` is one of :data:`SHOT_TYPES`.  Wide / medium shots take the union of the face
    boxes expanded 2.4x / 2.0x around its centre and grown to the output aspect; a close-up is
    a window of the output aspect centred on the faces, 1.3x their union (at least half the
    output size, so it is never enlarged more than 2x).  The window is shifted into the image
    (keeping the faces in when they fit) and shrunk only if larger than the image.

    Returns the image and the face boxes remapped to it: ints clipped to
    ``[0, out_w] x [0, out_h]``, boxes left with no area dropped (order otherwise kept).
    """
    x1, y1, x2, y2 = crop_window(img.size, face_boxes, shot, out_w, out_h)
    out = img.resize((out_w, out_h), Image.Resampling.LANCZOS, box=(x1, y1, x2, y2))
    sx, sy = out_w / (x2 - x1), out_h / (y2 - y1)
    remapped = []
    for b in face_boxes:
        bx1 = min(max(round((b[0] - x1) * sx), 0), out_w)
        by1 = min(max(round((b[1] - y1) * sy), 0), out_h)
        bx2 = min(max(round((b[2] - x1) * sx), 0), out_w)
        by2 = min(max(round((b[3] - y1) * sy), 0), out_h)
        if bx2 > bx1 and by2 > by1:
            remapped.append((bx1, by1, bx2, by2))
    return out, remapped
