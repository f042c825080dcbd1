"""Find readable text with Tesseract and blur it away (outside faces).

Pure function of pixels: no file I/O, no configuration object.  Needs the ``tesseract`` binary
(Debian: ``apt-get install tesseract-ocr``) on ``PATH``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageFilter

__all__ = ["ScrubResult", "blur_boxes", "readable_words", "scrub_text"]

Box = tuple[float, float, float, float]

# page segmentation mode 11: "sparse text, find as much text as possible in no particular
# order" -- what a photo with a stray sign or caption looks like (mode 3 assumes a page layout
# and misses scattered words).
DEFAULT_PSM = 11
_BLUR_MODES = {"RGB", "RGBA", "L", "LA", "RGBX", "CMYK"}


@dataclass(frozen=True)
class ScrubResult:
    image: Image.Image
    ok: bool
    passes: int  # blur passes made
    words: tuple[str, ...]  # words still readable at the end (empty when ok)


def _overlaps(a: Box, b: Box) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def readable_words(
    img: Image.Image,
    face_boxes: Sequence[Box],
    conf_thresh: float = 60,
    scale: int = 2,
    psm: int = DEFAULT_PSM,
) -> list[tuple[str, tuple[int, int, int, int]]]:
    """Words Tesseract reads in ``img`` (upscaled ``scale`` x) with confidence >=
    ``conf_thresh`` and at least 2 alphanumeric characters, whose box does not overlap a face
    box.  Boxes (x1, y1, x2, y2) are in ``img``'s pixels, rounded outwards."""
    import pytesseract

    if scale < 1:
        raise ValueError(f"scale must be >= 1, got {scale}")
    rgb = img if img.mode in ("RGB", "L") else img.convert("RGB")
    if scale != 1:
        rgb = rgb.resize((rgb.width * scale, rgb.height * scale), Image.Resampling.BICUBIC)
    data = pytesseract.image_to_data(
        rgb, config=f"--psm {psm}", output_type=pytesseract.Output.DICT
    )
    words = []
    for text, conf, left, top, width, height in zip(
        data["text"],
        data["conf"],
        data["left"],
        data["top"],
        data["width"],
        data["height"],
        strict=True,
    ):
        text = (text or "").strip()
        if float(conf) < conf_thresh or sum(c.isalnum() for c in text) < 2:
            continue
        box = (
            math.floor(left / scale),
            math.floor(top / scale),
            math.ceil((left + width) / scale),
            math.ceil((top + height) / scale),
        )
        if any(_overlaps(box, f) for f in face_boxes):
            continue
        words.append((text, box))
    return words


def blur_boxes(img: Image.Image, boxes: Sequence[tuple[int, int, int, int]]) -> Image.Image:
    """A copy of ``img`` with each box (padded) replaced by a strong Gaussian blur of itself."""
    out = img.copy() if img.mode in _BLUR_MODES else img.convert("RGB")
    for x1, y1, x2, y2 in boxes:
        h = max(y2 - y1, 1)
        pad = max(3, round(0.25 * h))
        radius = max(4.0, 0.6 * h)
        region = (
            max(0, x1 - pad),
            max(0, y1 - pad),
            min(out.width, x2 + pad),
            min(out.height, y2 + pad),
        )
        if region[2] <= region[0] or region[3] <= region[1]:
            continue
        # blur with surrounding context so the patch has no hard dark/light edge
        ctx = round(2 * radius)
        outer = (
            max(0, region[0] - ctx),
            max(0, region[1] - ctx),
            min(out.width, region[2] + ctx),
            min(out.height, region[3] + ctx),
        )
        blurred = out.crop(outer).filter(ImageFilter.GaussianBlur(radius))
        inner = (
            region[0] - outer[0],
            region[1] - outer[1],
            region[2] - outer[0],
            region[3] - outer[1],
        )
        out.paste(blurred.crop(inner), region[:2])
    return out


def scrub_text(
    img: Image.Image,
    face_boxes: Sequence[Box],
    conf_thresh: float = 60,
    scale: int = 2,
    max_passes: int = 1,
    psm: int = DEFAULT_PSM,
) -> ScrubResult:
    """Blur readable words outside the faces, up to ``max_passes`` times, then re-check.

    Each pass finds the readable words (:func:`readable_words`) and blurs their padded boxes.
    ``ok`` is true when no readable word remains after the last pass; an image with no words
    is ok after 0 passes and is returned unchanged.  The input image is never modified.
    """
    if max_passes < 0:
        raise ValueError(f"max_passes must be >= 0, got {max_passes}")
    current = img
    passes = 0
    words = readable_words(current, face_boxes, conf_thresh, scale, psm)
    while words and passes < max_passes:
        current = blur_boxes(current, [box for _, box in words])
        passes += 1
        words = readable_words(current, face_boxes, conf_thresh, scale, psm)
    return ScrubResult(image=current, ok=not words, passes=passes, words=tuple(w for w, _ in words))
