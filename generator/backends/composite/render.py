"""One composite picture: backdrop, people and (sometimes) a sign, a pure function of its inputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from generator.imaging import encode_png

from .backdrops import backdrop_image
from .people import paste_person, place_people
from .seeds import rng_for
from .signage import paint_sign
from .sources import SOURCES

REFERENCE_SIZE = 1024  # pictures are drawn at this size; face widths are in its pixels


@dataclass(frozen=True)
class CompositeImage:
    """One composite picture with what went into it (the truth, for tests and debugging)."""

    png: bytes
    faces: tuple[tuple[int, int, int, int], ...]  # pasted face boxes (x1, y1, x2, y2)
    sources: tuple[str, ...]
    fault: str | None  # None, "no_face" or "crowd"
    sign_words: tuple[str, ...]
    sign_box: tuple[int, int, int, int] | None
    theme: str
    horizon: str


def _scaled(box: Sequence[float], k: float) -> tuple[int, int, int, int]:
    """A box ``(x1, y1, x2, y2)`` scaled by ``k`` and rounded to pixels."""
    x1, y1, x2, y2 = (int(round(v * k)) for v in box)
    return (x1, y1, x2, y2)


def render_composite(
    seed: int,
    plan_key: str,
    attempt: int,
    num_people: int,
    backdrop: str,
    backdrop_kind: str = "absurd",
    *,
    fault_rate: float = 0.15,
    signage_rate: float = 0.0,
    size: int = 1024,
    png_level: int = 0,
) -> CompositeImage:
    """Draw one composite image; a pure function of its arguments.

    ``png_level`` is the zlib level of the PNG: 0 (stored, ~3 MB, ~4 ms to encode) by default
    because the pipeline decodes the image at once; 1-9 give smaller, slower files.
    """
    if not 0 <= num_people <= 5:
        raise ValueError(f"num_people must be within 0..5, got {num_people}")
    if size < 64:
        raise ValueError(f"size must be >= 64, got {size}")
    decide = rng_for(seed, plan_key, attempt, "decide")
    fault: str | None = None
    count = num_people
    if decide.random() < fault_rate:
        if decide.random() < 0.5:
            fault, count = "no_face", 0
        else:
            fault, count = "crowd", int(decide.integers(4, 6))
    with_sign = decide.random() < signage_rate

    # Drawn at 1024 px (face sizes are in those pixels), resized at the end for other sizes.
    canvas, theme, hstyle = backdrop_image(
        rng_for(seed, plan_key, attempt, "backdrop"), backdrop, backdrop_kind, REFERENCE_SIZE
    )
    prng = rng_for(seed, plan_key, attempt, "people")
    people = place_people(prng, count, REFERENCE_SIZE)
    # Farther (smaller) people first, so nearer ones may overlap their shoulders.
    for p in sorted(people, key=lambda q: q.face_w):
        paste_person(canvas, p, prng)

    words: tuple[str, ...] = ()
    sign_box = None
    if with_sign:
        words, sign_box = paint_sign(canvas, rng_for(seed, plan_key, attempt, "sign"), people)
    k = size / REFERENCE_SIZE
    if size != REFERENCE_SIZE:
        canvas = canvas.resize((size, size), Image.Resampling.LANCZOS)
        if sign_box is not None:
            sign_box = _scaled(sign_box, k)
    return CompositeImage(
        png=encode_png(canvas, png_level),
        faces=tuple(_scaled(p.face, k) for p in people),
        sources=tuple(SOURCES[p.source].name for p in people),
        fault=fault,
        sign_words=words,
        sign_box=sign_box,
        theme=theme,
        horizon=hstyle,
    )
