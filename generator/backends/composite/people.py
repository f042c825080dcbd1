"""People: choose sources, sizes and positions so that no face is covered, then paste them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .sources import SOURCES, Ellipse, cutout


@dataclass
class Placed:
    source: int
    face_w: float
    flip: bool
    x: int  # top-left of the scaled cutout
    y: int
    w: int
    h: int
    face: tuple[float, float, float, float]  # face box in image coordinates
    protect: tuple[float, float, float, float]  # face box grown a little: nobody may cover it
    rect: tuple[float, float, float, float]  # the scaled cutout
    shape: tuple[Ellipse, ...]  # silhouette ellipses in image coordinates


def overlap(a: Sequence[float], b: Sequence[float], pad: float = 0.0) -> bool:
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


def _ellipse_hits(e: Ellipse, r: tuple[float, float, float, float]) -> bool:
    """Whether an axis-aligned ellipse meets an axis-aligned rectangle (exact)."""
    cx, cy, ax, ay = e
    nx, ny = min(max(cx, r[0]), r[2]), min(max(cy, r[1]), r[3])
    return ((nx - cx) / ax) ** 2 + ((ny - cy) / ay) ** 2 < 1.0


def _covers(a: Placed, r: tuple[float, float, float, float]) -> bool:
    return overlap(a.rect, r) and any(_ellipse_hits(e, r) for e in a.shape)


def _fits(new: Placed, placed: list[Placed]) -> bool:
    """No silhouette may touch another person's face, whatever the drawing order."""
    return all(not _covers(new, p.protect) and not _covers(p, new.protect) for p in placed)


def _width_range(count: int) -> tuple[float, float]:
    return {1: (150.0, 300.0), 2: (140.0, 235.0), 3: (130.0, 195.0)}.get(count, (115.0, 140.0))


def _pose(src: int, face_w: float, flip: bool, cx: float, top: float) -> Placed:
    """Place source ``src`` scaled to ``face_w`` with its face centre at x=cx, face top at top."""
    cut = cutout(src)
    s = face_w / (cut.face[2] - cut.face[0])
    cw, ch = cut.rgb.width * s, cut.rgb.height * s

    def fx(x: float) -> float:  # crop x -> scaled, flipped crop x
        return cw - x * s if flip else x * s

    fcx = (fx(cut.face[0]) + fx(cut.face[2])) / 2
    left, y0 = cx - fcx, top - cut.face[1] * s
    a, b = sorted((fx(cut.face[0]), fx(cut.face[2])))
    face = (left + a, top, left + b, y0 + cut.face[3] * s)
    fw, fh = face[2] - face[0], face[3] - face[1]
    pad = 8.0
    protect = (
        face[0] - 0.12 * fw - pad,
        face[1] - 0.25 * fw - pad,
        face[2] + 0.12 * fw + pad,
        face[3] + 0.06 * fh + pad,
    )
    shape = tuple(
        (left + fx(ex), y0 + ey * s, ax * s * 1.03 + 3, ay * s * 1.03 + 3)
        for ex, ey, ax, ay in cut.shape
    )
    return Placed(
        src,
        face_w,
        flip,
        int(round(left)),
        int(round(y0)),
        int(round(cw)),
        int(round(ch)),
        face,
        protect,
        (left, y0, left + cw, y0 + ch),
        shape,
    )


def _in_frame(p: Placed, size: int, margin: float = 12.0) -> bool:
    f, fw = p.face, p.face[2] - p.face[0]
    return (
        f[0] >= margin and f[2] <= size - margin and f[1] - 0.5 * fw >= 0 and f[3] <= size - margin
    )


def place_people(rng: np.random.Generator, count: int, size: int) -> list[Placed]:
    """Choose sources, sizes and positions for ``count`` people whose faces stay uncovered."""
    lo, hi = _width_range(count)
    weights = np.array([s.weight if count <= s.max_people else 0.0 for s in SOURCES])
    chosen: list[tuple[int, float, bool]] = []
    for _ in range(count):
        w = weights.copy()
        for src, _fw, _fl in chosen:  # prefer different people in one picture
            w[src] *= 0.25
        src = int(rng.choice(len(SOURCES), p=w / w.sum()))
        minimum = max(lo, SOURCES[src].min_face) if count <= 3 else lo
        chosen.append((src, rng.uniform(minimum, max(hi, minimum)), bool(rng.random() < 0.5)))
    # Random positions, one person at a time; start again (smaller) when someone cannot fit.
    for round_ in range(12):
        shrink = 0.93**round_
        placed: list[Placed] = []
        for src, face_w, flip in chosen:
            floor = SOURCES[src].min_face if count <= 3 else lo
            fw = max(floor, face_w * shrink)
            for _try in range(60):
                fh = 1.3 * fw
                cx = rng.uniform(0.5 * fw + 12, size - 0.5 * fw - 12)
                top = rng.uniform(
                    0.04 * size + 0.5 * fw, max(0.04 * size + 0.5 * fw + 1, 0.74 * size - fh)
                )
                p = _pose(src, fw, flip, cx, top)
                if _in_frame(p, size) and _fits(p, placed):
                    placed.append(p)
                    break
            else:
                break
        if len(placed) == count:
            return placed
    return _grid_layout(chosen, count, size)


def _grid_layout(chosen: list[tuple[int, float, bool]], count: int, size: int) -> list[Placed]:
    """A fallback that always fits: small faces in one or two well-spaced rows."""
    rows = [chosen[: (count + 1) // 2], chosen[(count + 1) // 2 :]] if count > 3 else [chosen]
    placed = []
    for r, row in enumerate(rows):
        for i, (src, _fw, flip) in enumerate(row):
            fw = max(SOURCES[src].min_face, 130.0) if count <= 3 else 115.0
            cx = size * (i + 0.5) / len(row)
            top = 0.5 * fw + 40 + r * 0.45 * size
            placed.append(_pose(src, fw, flip, cx, top))
    return placed


def paste_person(canvas: Image.Image, p: Placed, rng: np.random.Generator) -> None:
    """Colour-jitter, flip, scale and feather one cutout onto the canvas (all in PIL, in C).

    The colour matrix is applied at source resolution, before upscaling, where it is cheap.
    """
    cut = cutout(p.source)
    gain = rng.uniform(0.88, 1.12, 3) * rng.uniform(0.85, 1.12)
    if cut.grey:  # tint the greyscale photo so it is not flat grey
        gain = gain * np.array(rng.choice([[1.08, 0.98, 0.86], [0.95, 1.0, 1.08]]))
    contrast = rng.uniform(0.9, 1.12)
    # out = ((x - mean) * contrast + mean) * gain, per channel
    k = contrast * gain
    o = cut.mean * (1.0 - contrast) * gain
    matrix = (k[0], 0, 0, o[0], 0, k[1], 0, o[1], 0, 0, k[2], o[2])
    rgb = cut.rgb.convert("RGB", matrix=tuple(float(v) for v in matrix))
    mask = cut.mask
    if p.flip:
        rgb = rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        mask = mask.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    size = (max(1, p.w), max(1, p.h))
    canvas.paste(
        rgb.resize(size, Image.Resampling.BICUBIC),
        (p.x, p.y),
        mask.resize(size, Image.Resampling.BILINEAR),
    )
