"""Signage: a notice board with readable words, painted near the people and clear of faces."""

from __future__ import annotations

import math
import threading

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .people import Placed, overlap

SIGN_WORDS: tuple[str, ...] = (
    "BREAKING",
    "NEWS",
    "OPEN",
    "SALE",
    "EXIT",
    "WELCOME",
    "HOTEL",
    "MARKET",
    "PARKING",
    "VOTE",
    "TODAY",
    "CAFE",
    "PHARMACY",
    "STATION",
    "BANK",
    "THEATRE",
    "MUSEUM",
    "LIBRARY",
    "GARDEN",
    "HARBOR",
    "BAKERY",
    "TICKETS",
    "PRESS",
    "POLICE",
    "TAXI",
    "SCHOOL",
    "FERRY",
    "DINER",
    "CINEMA",
    "MOTEL",
)


_FONTS = threading.local()  # FreeType faces are not safe to share between threads


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled font (Aileron, FreeType) at ``size``: no system font is needed."""
    cache = getattr(_FONTS, "by_size", None)
    if cache is None:
        cache = _FONTS.by_size = {}
    font = cache.get(size)
    if font is None:
        font = cache[size] = ImageFont.load_default(size=size)
    return font


# Tesseract thresholds colour pictures channel by channel (Otsu), so a coloured board (yellow
# has little blue) can turn as dark as its ink; a near-white board with near-black ink stays
# legible in every channel. Several short lines read far more reliably than one big word: a
# single line in a busy photo is often taken for part of a picture and skipped.
_BOARDS = ((246, 244, 238), (238, 240, 236), (250, 250, 250))
_INKS = ((20, 20, 25), (30, 25, 45), (25, 30, 20))


def paint_sign(
    canvas: Image.Image, rng: np.random.Generator, people: list[Placed]
) -> tuple[tuple[str, ...], tuple[int, int, int, int] | None]:
    """Paint a notice board with 3-5 lines of large words near the people, clear of faces.

    Returns the words and the board's box (no words and None when no place was free).
    """
    size = canvas.width
    draw = ImageDraw.Draw(canvas)
    board = _BOARDS[int(rng.integers(len(_BOARDS)))]
    ink = _INKS[int(rng.integers(len(_INKS)))]
    n_lines = int(rng.integers(3, 6))
    words = tuple(str(w) for w in rng.choice(SIGN_WORDS, 2 * n_lines, replace=False))
    lines = [f"{words[2 * i]} {words[2 * i + 1]}" for i in range(n_lines)]
    if people:
        cx = float(np.mean([(p.face[0] + p.face[2]) / 2 for p in people]))
        cy = float(np.mean([(p.face[1] + p.face[3]) / 2 for p in people]))
    else:
        cx, cy = rng.uniform(0.3, 0.7, 2) * size
    font_size = int(rng.integers(size * 28 // 1024, size * 40 // 1024 + 1))
    for _shrink in range(4):  # a smaller board when a big one finds no room
        font = _font(font_size)
        boxes = [draw.textbbox((0, 0), t, font=font) for t in lines]
        tw = max(b[2] - b[0] for b in boxes)
        lh = max(b[3] - b[1] for b in boxes)
        gap, pad = int(0.6 * lh), int(0.8 * lh) + 6
        bw, bh = tw + 2 * pad, n_lines * lh + (n_lines - 1) * gap + 2 * pad
        best, best_d = None, float("inf")
        if bw < size - 8 and bh < size - 8:
            for _ in range(200):
                bx, by = rng.uniform(4, size - 4 - bw), rng.uniform(4, size - 4 - bh)
                box = (bx, by, bx + bw, by + bh)
                if any(overlap(box, p.protect, 8) for p in people):
                    continue
                d = math.hypot(bx + bw / 2 - cx, by + bh / 2 - cy)
                if d < best_d:
                    best, best_d = box, d
        if best is not None:
            break
        font_size = max(16, int(font_size * 0.8))
    else:
        return (), None
    draw.rectangle(best, fill=board)
    y = best[1] + pad
    for text, b in zip(lines, boxes, strict=True):
        draw.text((best[0] + pad - b[0], y - b[1]), text, font=font, fill=ink)
        y += lh + gap
    return words, (
        int(math.floor(best[0])),
        int(math.floor(best[1])),
        int(math.ceil(best[2])),
        int(math.ceil(best[3])),
    )
