"""Drawing a backdrop: sky, ground pattern, horizon and impossible floating objects."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image

from .palettes import pick_theme

# Drawing works on planar float32 images (3, H, W): numpy is much faster with long inner loops.


@lru_cache(maxsize=4)
def _grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates in [0, 1], as (n, 1) and (1, n) arrays."""
    c = (np.arange(n, dtype=np.float32) + 0.5) / n
    return c[:, None], c[None, :]


def _col(c: np.ndarray) -> np.ndarray:
    return np.asarray(c, np.float32).reshape(3, 1, 1)


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(3,) colours a -> b along t (H, W) -> (3, H, W)."""
    return _col(a) + _col(b - a) * t[None]


def _blend(img: np.ndarray, y0: int, x0: int, alpha: np.ndarray, colour: np.ndarray) -> None:
    """Alpha-blend ``colour`` ((3, h, w) or (3,)) into ``img`` at (y0, x0), clipping bounds."""
    h, w = alpha.shape
    H, W = img.shape[1:]
    ya, xa = max(0, y0), max(0, x0)
    yb, xb = min(H, y0 + h), min(W, x0 + w)
    if ya >= yb or xa >= xb:
        return
    a = alpha[None, ya - y0 : yb - y0, xa - x0 : xb - x0]
    colour = colour[:, ya - y0 : yb - y0, xa - x0 : xb - x0] if colour.ndim == 3 else _col(colour)
    region = img[:, ya:yb, xa:xb]
    region += (colour - region) * a


def _local(cx: float, cy: float, rx: float, ry: float) -> tuple[int, int, np.ndarray, np.ndarray]:
    """A local pixel grid around (cx, cy): origin and (h,1)/(1,w) coordinates relative to centre."""
    x0, y0 = int(math.floor(cx - rx - 2)), int(math.floor(cy - ry - 2))
    x1, y1 = int(math.ceil(cx + rx + 2)), int(math.ceil(cy + ry + 2))
    ys = (np.arange(y0, y1, dtype=np.float32) + 0.5 - cy)[:, None]
    xs = (np.arange(x0, x1, dtype=np.float32) + 0.5 - cx)[None, :]
    return y0, x0, ys, xs


def _shaded(colour: np.ndarray, shade: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.clip(_col(colour) * np.broadcast_to(shade, shape)[None], 0, 255)


def _sphere(
    img: np.ndarray,
    cx: float,
    cy: float,
    r: float,
    colour: np.ndarray,
    light: tuple[float, float, float],
) -> None:
    y0, x0, ys, xs = _local(cx, cy, r, r)
    u, v = xs / r, ys / r
    d2 = u * u + v * v
    nz = np.sqrt(np.clip(1.0 - d2, 0.0, 1.0))
    lx, ly, lz = light
    lam = np.clip(u * lx + v * ly + nz * lz, -1.0, 1.0)
    shade = np.clip(0.3 + 0.8 * lam, 0.12, 1.3)
    alpha = np.clip((1.0 - np.sqrt(d2)) * r / 1.2, 0.0, 1.0)
    col = np.clip(_col(colour) * shade[None] + (np.clip(lam, 0, 1) ** 24 * 110.0)[None], 0, 255)
    _blend(img, y0, x0, alpha, col)


def _box(
    img: np.ndarray, cx: float, cy: float, w: float, h: float, angle: float, colour: np.ndarray
) -> None:
    r = 0.5 * math.hypot(w, h)
    y0, x0, ys, xs = _local(cx, cy, r, r)
    ca, sa = math.cos(angle), math.sin(angle)
    u = xs * ca + ys * sa
    v = -xs * sa + ys * ca
    alpha = np.clip(np.minimum(w / 2 - np.abs(u), h / 2 - np.abs(v)) + 0.5, 0.0, 1.0)
    shade = 1.05 - 0.35 * (v / h + 0.5) - 0.15 * (u > 0)
    _blend(img, y0, x0, alpha, _shaded(colour, shade, alpha.shape))


def _pillar(img: np.ndarray, cx: float, cy: float, w: float, h: float, colour: np.ndarray) -> None:
    y0, x0, ys, xs = _local(cx, cy, w / 2, h / 2)
    alpha = np.clip(np.minimum(w / 2 - np.abs(xs), h / 2 - np.abs(ys)) + 0.5, 0.0, 1.0)
    shade = 0.45 + 0.65 * np.cos(np.clip(xs / (w / 2), -1, 1) * 1.3 - 0.35)
    _blend(img, y0, x0, alpha, _shaded(colour, shade, alpha.shape))


def _triangle(img: np.ndarray, cx: float, cy: float, size: float, colour: np.ndarray) -> None:
    pts = ((cx, cy - size), (cx - size, cy + 0.8 * size), (cx + size, cy + 0.8 * size))
    y0, x0, ys, xs = _local(cx, cy, size, size)
    X, Y = xs + cx, ys + cy
    dist: np.ndarray | None = None
    for i in range(3):
        (ax, ay), (bx, by) = pts[i], pts[(i + 1) % 3]
        ex, ey = bx - ax, by - ay
        d = ((X - ax) * ey - (Y - ay) * ex) / math.hypot(ex, ey)  # > 0 inside for this order
        dist = d if dist is None else np.minimum(dist, d)
    assert dist is not None  # three edges were measured
    alpha = np.clip(dist + 0.5, 0.0, 1.0)
    _blend(img, y0, x0, alpha, _shaded(colour, np.where(xs < 0, 0.7, 1.05), alpha.shape))


def _ring(
    img: np.ndarray,
    cx: float,
    cy: float,
    r_out: float,
    r_in: float,
    squash: float,
    colour: np.ndarray,
) -> None:
    y0, x0, ys, xs = _local(cx, cy, r_out, r_out * squash)
    d = np.sqrt(xs * xs + (ys / squash) ** 2)
    alpha = np.clip(np.minimum(d - r_in, r_out - d) + 0.5, 0.0, 1.0) * 0.9
    _blend(img, y0, x0, alpha, colour)


def _glow(
    img: np.ndarray, cx: float, cy: float, r: float, colour: np.ndarray, strength: float
) -> None:
    R = r * 3
    y0, x0, ys, xs = _local(cx, cy, R, R)
    d = np.sqrt(xs * xs + ys * ys)
    disc = np.clip((r - d) / 1.5 + 0.5, 0.0, 1.0)
    halo = np.clip(1.0 - (d - r) / (2.0 * r), 0.0, 1.0) ** 2 * strength
    _blend(img, y0, x0, np.maximum(disc, halo), colour)


def _cloud(
    img: np.ndarray, cx: float, cy: float, r: float, colour: np.ndarray, rng: np.random.Generator
) -> None:
    y0, x0, ys, xs = _local(cx, cy, 2.4 * r, 1.2 * r)
    acc = np.zeros((ys.shape[0], xs.shape[1]), np.float32)
    for _ in range(5):
        ox, oy = rng.uniform(-1.4, 1.4) * r, rng.uniform(-0.3, 0.3) * r
        rr = r * rng.uniform(0.5, 0.9)
        acc = np.maximum(acc, 1.0 - ((xs - ox) ** 2 + (ys - oy) ** 2) / (rr * rr))
    _blend(img, y0, x0, np.clip(acc * 2.5, 0.0, 1.0) * 0.92, colour)


def _horizon(rng: np.random.Generator, xx: np.ndarray, realistic: bool) -> tuple[np.ndarray, str]:
    """The horizon height (fraction of the image) at each column, and its style."""
    y0 = rng.uniform(0.42, 0.72)
    if realistic:
        return (y0 + rng.uniform(-0.02, 0.02) * (xx - 0.5)).astype(np.float32), "flat"
    style = str(rng.choice(["tilted", "wave", "curved", "terraced", "wave", "curved"]))
    if style == "tilted":
        h = y0 + rng.uniform(0.2, 0.55) * rng.choice([-1, 1]) * (xx - 0.5)
    elif style == "wave":
        f, ph = rng.uniform(0.6, 2.2), rng.uniform(0, 6.3)
        h = y0 + rng.uniform(0.04, 0.12) * np.sin(2 * np.pi * f * xx + ph)
    elif style == "curved":
        h = y0 + rng.uniform(0.5, 1.4) * rng.choice([-1, 1]) * (xx - 0.5) ** 2
    else:
        steps = int(rng.integers(3, 7))
        h = y0 + rng.uniform(0.04, 0.1) * (np.floor(xx * steps) - steps / 2) / 2
    return np.clip(h, 0.15, 0.9).astype(np.float32), style


def _ground_pattern(
    kind: str,
    rng: np.random.Generator,
    xx: np.ndarray,
    yy: np.ndarray,
    t: np.ndarray,
    z: np.ndarray,
) -> np.ndarray | None:
    """A pattern value in [0, 1] on the ground (t: 0 at the horizon, 1 at the bottom)."""
    fade = np.clip(t * 5.0, 0.0, 1.0)
    if kind == "checker":
        k = rng.uniform(3, 9)
        u = np.floor((xx - 0.5) * z * k + rng.uniform(0, 1))
        v = np.floor(z * (k * 0.5) + rng.uniform(0, 1))
        return 0.5 + (((u + v) % 2) - 0.5) * fade
    if kind == "grid":
        k = rng.uniform(4, 10)
        u = (xx - 0.5) * z * k
        v = z * (k * 0.5)
        d = np.minimum(np.abs(u - np.round(u)), np.abs(v - np.round(v)))
        return np.clip((0.05 - d) * 40.0, 0.0, 1.0) * fade  # soft-edged lines
    if kind == "stripes":
        f, a = rng.uniform(6, 20), rng.uniform(-1.5, 1.5)
        return 0.5 + np.sign(np.sin((2 * np.pi * f) * (xx + a * yy))) * (0.3 * fade)
    if kind == "dunes":
        f, g = rng.uniform(2, 5), 0.8 * rng.uniform(0.5, 1.2)
        s = np.sin(2 * np.pi * (f * xx + g * z + 0.3 * np.sin(2 * np.pi * 1.7 * xx)))
        return 0.5 + 0.45 * s * fade
    if kind == "water":
        s = np.sin(z * rng.uniform(18, 30) + 2.5 * np.sin(xx * rng.uniform(8, 20)))
        return np.clip((s - 0.75) * 4.0, 0, 1) * fade
    if kind == "veins":
        k = rng.uniform(3, 6)
        s = np.sin((xx - 0.5) * z * (2.1 * k) + np.sin(z * (1.3 * k)))
        return np.clip(1.0 - np.abs(s) * 5.0, 0, 1) * fade
    return None


def draw_backdrop(rng: np.random.Generator, phrase: str, kind: str, n: int) -> tuple:
    """Draw an n x n backdrop (planar float32 RGB 0..255); returns (image, theme, horizon)."""
    realistic = kind == "realistic"
    theme, base, patterns = pick_theme(phrase, kind)
    pal = np.clip(base + rng.normal(0.0, 14.0, base.shape).astype(np.float32), 0, 255)
    if rng.random() < 0.25 and not realistic:  # an occasional swapped, wrong-feeling sky
        pal[[0, 1]] = pal[[4, 5]] * 0.8
    sky_top, sky_bottom, g_far, g_near, acc1, acc2, acc3, light_col = pal
    yy, xx = _grid(n)
    hline, hstyle = _horizon(rng, xx, realistic)  # (1, n)

    # Sky: a vertical gradient that bends towards the horizon.
    img = _lerp(sky_top, sky_bottom, np.minimum(yy / hline, 1.0) ** rng.uniform(0.6, 1.6))

    # Ground: a gradient from the horizon down, with a pattern, blended in below the horizon.
    t = np.clip((yy - hline) / np.maximum(1.0 - hline, 1e-3), 0.0, 1.0)
    z = 1.0 / (t + 0.06)
    gcol = _lerp(g_far, g_near, np.sqrt(t))
    pattern = str(rng.choice(patterns))
    p = _ground_pattern(pattern, rng, xx, yy, t, z)
    if p is not None and pattern in ("checker", "stripes", "dunes"):
        gcol *= (0.75 + 0.5 * p)[None]
    elif p is not None:
        gcol += (_col(acc1) - gcol) * (0.85 * p)[None]
    edge = np.clip((yy - hline) * n + 0.5, 0.0, 1.0)  # anti-aliased horizon
    img += (gcol - img) * edge[None]

    dark_sky = float(sky_top.mean()) < 70
    lx, ly, lz = rng.uniform(-0.7, 0.7), rng.uniform(-0.8, -0.2), 0.6
    norm = math.sqrt(lx * lx + ly * ly + lz * lz)
    light = (lx / norm, ly / norm, lz / norm)
    hmin = float(hline.min()) * n

    if realistic:
        if theme == "outdoor":  # a skyline along the horizon
            x = 0.0
            while x < n:
                w = rng.uniform(0.04, 0.12) * n
                hh = rng.uniform(0.05, 0.22) * n
                top = float(hline[0, min(n - 1, int(x))]) * n
                _box(img, x + w / 2, top - hh / 2 + 1, w, hh, 0.0, acc1 * rng.uniform(0.55, 0.95))
                x += w + rng.uniform(0, 0.03) * n
            if rng.random() < 0.5:
                _glow(
                    img,
                    rng.uniform(0.1, 0.9) * n,
                    rng.uniform(0.05, 0.3) * n,
                    rng.uniform(0.02, 0.04) * n,
                    light_col,
                    0.35,
                )
        else:  # windows and doors on a wall
            for _ in range(int(rng.integers(2, 5))):
                w, hh = rng.uniform(0.08, 0.2) * n, rng.uniform(0.12, 0.3) * n
                _box(
                    img,
                    rng.uniform(0.1, 0.9) * n,
                    hmin - hh / 2 - rng.uniform(0, 0.1) * n,
                    w,
                    hh,
                    0.0,
                    acc1 if rng.random() < 0.6 else acc3,
                )
    else:
        if dark_sky or theme == "space" or rng.random() < 0.2:
            k = int(rng.integers(150, 450))
            sx = rng.integers(0, n, k)
            sy = rng.integers(0, max(2, int(hmin)), k)
            b = rng.uniform(120, 255, k).astype(np.float32)
            img[:, sy, sx] = np.maximum(img[:, sy, sx], b[None])
        for _ in range(int(rng.integers(1, 4))):  # suns, moons, planets
            r = rng.uniform(0.025, 0.11) * n
            cx, cy = rng.uniform(0.05, 0.95) * n, rng.uniform(0.04, 0.9) * max(hmin, 0.3 * n)
            if rng.random() < 0.45:
                _glow(img, cx, cy, r, pal[int(rng.integers(4, 8))], rng.uniform(0.3, 0.7))
            else:
                _sphere(img, cx, cy, r, pal[int(rng.integers(4, 7))], light)
                if rng.random() < 0.5:
                    _ring(img, cx, cy, r * 1.9, r * 1.4, rng.uniform(0.2, 0.4), acc3)
        if theme in ("dream", "ice", "forest", "candy") or rng.random() < 0.3:
            for _ in range(int(rng.integers(1, 5))):
                _cloud(
                    img,
                    rng.uniform(0, 1) * n,
                    rng.uniform(0.05, 0.6) * hmin,
                    rng.uniform(0.03, 0.08) * n,
                    np.clip(pal[6] * 0.3 + 190, 0, 255),
                    rng,
                )
        for _ in range(int(rng.integers(2, 8))):  # floating, impossible objects
            colour = pal[int(rng.integers(4, 7))] * rng.uniform(0.7, 1.1)
            cx, cy = rng.uniform(0.02, 0.98) * n, rng.uniform(0.05, 0.95) * n
            s = rng.uniform(0.03, 0.13) * n
            shape = int(rng.integers(0, 5))
            if shape == 0:
                _sphere(img, cx, cy, s, colour, light)
            elif shape == 1:
                _box(
                    img,
                    cx,
                    cy,
                    s * rng.uniform(1, 2.2),
                    s * rng.uniform(0.8, 1.8),
                    rng.uniform(0, math.pi),
                    colour,
                )
            elif shape == 2:
                _triangle(img, cx, cy, s * 1.2, colour)
            elif shape == 3:
                _ring(img, cx, cy, s * 1.2, s * 0.8, rng.uniform(0.3, 1.0), colour)
            else:
                _pillar(img, cx, cy, s * 0.6, s * rng.uniform(2.5, 5.0), colour)

    # Vignette.
    img *= (1.0 - rng.uniform(0.3, 0.7) * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2))[None]
    return img, theme, hstyle


def backdrop_image(rng: np.random.Generator, phrase: str, kind: str, size: int) -> tuple:
    """The backdrop as an RGB PIL image of ``size``.

    It is drawn at 3/8 of the size and upscaled: a backdrop is smooth, a soft one reads as a
    shallow depth of field behind the sharp people, and drawing costs 7x less.
    """
    img, theme, hstyle = draw_backdrop(rng, phrase, kind, size * 3 // 8)
    planes = np.clip(img, 0, 255, out=img).astype(np.uint8)
    small = Image.merge("RGB", [Image.fromarray(plane) for plane in planes])
    return small.resize((size, size), Image.Resampling.BILINEAR), theme, hstyle
