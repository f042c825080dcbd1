"""The offline ``composite`` backend: real public-domain faces on procedurally drawn backdrops.

No network, no model: each image is a surreal (or, for ``backdrop_kind="realistic"``, a plain)
backdrop drawn with vectorised numpy, with ``num_people`` head-and-shoulders crops of photos that
ship inside scikit-image and matplotlib feathered onto it. Everything is a pure function of
``(seed, plan_key, attempt)`` (plus the backdrop phrase and the rates), so a run is reproducible
on any machine and at any concurrency, and a regeneration (a new ``attempt``) gives a new image.

Some attempts are deliberately bad (``fault_rate``): no face at all, or 4-5 faces (more than
``MAX_FACES=3``), so the pipeline's face gate and regeneration path are exercised offline. With
``signage_rate`` an attempt also carries a readable sign, so the OCR scrub path runs.

Source photos (all public domain or CC0, loaded from the installed packages):

- ``skimage.data.astronaut()``: NASA portrait of Eileen Collins (public domain).
- ``matplotlib.cbook.get_sample_data("grace_hopper.jpg")``: US Navy portrait (public domain).
- ``skimage.data.camera()``: a man with a camera, by Lav Varshney (CC0; it replaced the old
  "cameraman" in scikit-image 0.18), greyscale and near profile, so it is used less often and
  never at the smallest sizes.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import struct
import threading
import zlib
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .base import BudgetExhausted, CallBudget, ImageRequest

__all__ = [
    "SIGN_WORDS",
    "encode_png",
    "CompositeBackend",
    "CompositeImage",
    "render_composite",
]

REFERENCE_SIZE = 1024  # pictures are drawn at this size; face widths below are in its pixels

# --------------------------------------------------------------------------------------------
# Face sources
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    name: str
    face: tuple[float, float, float, float]  # MTCNN box (x1, y1, x2, y2) in the full photo
    crop: tuple[int, int, int, int]  # head-and-shoulders rectangle (x1, y1, x2, y2)
    weight: float  # how often it is picked
    min_face: float  # smallest face width (px) it is scaled to
    head: tuple[float, float] = (0.0, 0.78)  # head ellipse: x shift and half-width (face widths)
    body: float = 1.6  # the body has faded out this many face widths below the chin
    max_people: int = 5  # not used in pictures with more people than this


# The face boxes were measured once while developing, with facenet_pytorch
# MTCNN(keep_all=True) on the untouched photos (probabilities 0.99999, 0.99982 and 0.99910);
# the crop rectangles were then chosen around them: about 1.4 face widths either side of the
# face centre, half a face width of hair above, the shoulders below.
_SOURCES: tuple[_Source, ...] = (
    # Her dark collar ring, blurred, can pass for a face: her body fades out early.
    _Source("astronaut", (181.1, 62.2, 267.7, 172.1), (102, 14, 346, 356), 0.45, 130.0, body=1.1),
    _Source("grace_hopper", (174.4, 119.6, 355.6, 340.5), (16, 30, 512, 600), 0.45, 130.0),
    # The weakest source (near profile, greyscale: MTCNN misses it now and then at 512 px and
    # may add a small box at his ear), so it is picked rarely, never small and never in groups
    # of three or more. The camera he holds sits beside his face: a narrower head mask leaves
    # most of it out.
    _Source(
        "camera",
        (199.2, 118.9, 254.3, 192.3),
        (150, 86, 304, 300),
        0.04,
        170.0,
        head=(-0.1, 0.66),
        body=1.2,
        max_people=2,
    ),
)


def _load_photo(name: str) -> np.ndarray:
    if name == "astronaut":
        import skimage.data

        return np.asarray(skimage.data.astronaut(), dtype=np.uint8)
    if name == "camera":
        import skimage.data

        grey = np.asarray(skimage.data.camera(), dtype=np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if name == "grace_hopper":
        import matplotlib.cbook

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh, Image.open(fh) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    raise KeyError(name)


# An ellipse (cx, cy, ax, ay): centre and semi-axes.
_Ellipse = tuple[float, float, float, float]


@dataclass(frozen=True)
class _Cutout:
    rgb: Image.Image  # the head-and-shoulders crop at source resolution
    mask: Image.Image  # "L": feathered head-and-shoulders silhouette
    face: tuple[float, float, float, float]  # face box inside the crop
    shape: tuple[_Ellipse, _Ellipse]  # head and shoulder ellipses of the silhouette (crop px)
    mean: float  # mean grey level under the mask (pivot of the contrast jitter)
    grey: bool


@cache
def _cutout(index: int) -> _Cutout:
    """Decode one source photo once and cut its feathered head-and-shoulders crop."""
    src = _SOURCES[index]
    photo = _load_photo(src.name)
    x1, y1, x2, y2 = src.crop
    crop = Image.fromarray(np.ascontiguousarray(photo[y1:y2, x1:x2]))
    w, h = crop.size
    fx1, fy1, fx2, fy2 = (src.face[0] - x1, src.face[1] - y1, src.face[2] - x1, src.face[3] - y1)
    fw, fh = fx2 - fx1, fy2 - fy1
    fcx = (fx1 + fx2) / 2
    ys = np.arange(h, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(w, dtype=np.float32)[None, :] + 0.5
    # Soft focus below the chin (a shallow depth of field): it also keeps busy clothing
    # (the astronaut's collar ring, medals) from looking like extra small faces to MTCNN.
    # The body also loses half its contrast (around a broad local mean): face-like patterns
    # need dark-light contrast, and a flat body keeps the face the only one in the picture.
    soft = np.asarray(crop.filter(ImageFilter.GaussianBlur(0.05 * fw)), np.float32)
    broad = np.asarray(crop.filter(ImageFilter.GaussianBlur(0.4 * fw)), np.float32)
    body = broad + (soft - broad) * 0.5
    sharp = np.asarray(crop, np.float32)
    k = np.clip((ys - (fy2 + 0.08 * fw)) / (0.3 * fw), 0.0, 1.0)[..., None]
    rgb = np.clip(sharp + (body - sharp) * k, 0, 255).astype(np.uint8)
    # Head: an ellipse a little larger than the face box (hair, ears, chin).
    head = (fcx + src.head[0] * fw, fy1 + 0.42 * fh, src.head[1] * fw, 0.82 * fh)
    # Neck and shoulders: a wide ellipse whose top sits under the chin.
    shoulders = (fcx, fy2 + 1.15 * fw, 1.35 * fw, 1.1 * fw)
    inside = None
    for cx, cy, ax, ay in (head, shoulders):
        e = 1.0 - np.sqrt(((xs - cx) / ax) ** 2 + ((ys - cy) / ay) ** 2)
        inside = e if inside is None else np.maximum(inside, e)
    alpha = np.clip(inside / 0.18, 0.0, 1.0)
    # Fade the body out below the shoulders, so the bust has no hard lower edge (and a large,
    # dark, blurred body does not read as one more face).
    alpha = alpha * np.clip((fy2 + src.body * fw - ys) / (0.9 * fw), 0.0, 1.0)
    mask = Image.fromarray((alpha * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2))
    mean = float((rgb.mean(axis=2) * alpha).sum() / max(alpha.sum(), 1.0))
    return _Cutout(
        Image.fromarray(rgb),
        mask,
        (fx1, fy1, fx2, fy2),
        (head, shoulders),
        mean,
        src.name == "camera",
    )


# --------------------------------------------------------------------------------------------
# Deterministic randomness
# --------------------------------------------------------------------------------------------


def _rng(seed: int, plan_key: str, attempt: int, purpose: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}|{plan_key}|{attempt}|{purpose}".encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "big")))


def _phrase_digest(phrase: str) -> bytes:
    return hashlib.sha256(" ".join(phrase.lower().split()).encode()).digest()


# --------------------------------------------------------------------------------------------
# Backdrops
# --------------------------------------------------------------------------------------------

# A palette: sky top, sky bottom, ground far, ground near, accent 1-3, light.
_Palette = tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class _Theme:
    words: frozenset[str]  # words of a backdrop phrase that call this theme
    palettes: tuple[_Palette, ...]
    patterns: tuple[str, ...]  # ground patterns it favours


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# fmt: off
_THEMES: dict[str, _Theme] = {
    "space": _Theme(
        _words("space moon mars lunar galaxy planet orbit asteroid cosmic star nebula comet "
               "saturn crater rocket alien martian"),
        (((8, 6, 30), (60, 30, 90), (120, 110, 115), (60, 55, 60),
          (220, 120, 60), (90, 170, 230), (240, 220, 120), (255, 240, 210)),
         ((2, 10, 25), (30, 60, 110), (170, 80, 50), (90, 40, 30),
          (200, 200, 220), (240, 150, 200), (120, 230, 200), (255, 250, 230))),
        ("plain", "checker", "stripes")),
    "ocean": _Theme(
        _words("ocean sea underwater reef aquarium wave beach coral lake river flood water "
               "submarine shark whale island tide"),
        (((20, 80, 140), (110, 200, 220), (30, 110, 150), (10, 50, 90),
          (250, 120, 90), (250, 220, 110), (240, 240, 250), (255, 250, 220)),
         ((5, 30, 70), (40, 140, 170), (20, 90, 110), (5, 40, 60),
          (255, 160, 60), (170, 90, 200), (200, 250, 240), (230, 255, 255))),
        ("water", "water", "stripes")),
    "desert": _Theme(
        _words("desert sand dune sahara canyon cactus pyramid oasis mesa drought "
               "badlands"),
        (((80, 120, 190), (250, 190, 130), (230, 170, 100), (190, 120, 60),
          (60, 140, 110), (200, 60, 50), (250, 240, 220), (255, 245, 200)),
         ((120, 50, 90), (250, 140, 80), (210, 140, 80), (150, 80, 40),
          (40, 90, 160), (250, 220, 120), (230, 230, 240), (255, 230, 170))),
        ("dunes", "dunes", "stripes")),
    "ice": _Theme(
        _words("snow ice arctic glacier frozen polar antarctic igloo winter blizzard tundra "
               "penguin frost"),
        (((110, 150, 210), (220, 235, 250), (230, 240, 250), (180, 205, 230),
          (60, 110, 200), (240, 120, 150), (250, 250, 255), (255, 255, 240)),
         ((40, 60, 110), (170, 190, 230), (200, 215, 240), (140, 160, 200),
          (120, 230, 230), (250, 200, 120), (255, 255, 255), (230, 240, 255))),
        ("plain", "stripes", "checker")),
    "fire": _Theme(
        _words("lava volcano fire inferno magma molten ember burning flame furnace hell "
               "eruption"),
        (((30, 10, 15), (200, 70, 30), (60, 25, 20), (25, 10, 10),
          (255, 140, 30), (255, 220, 80), (120, 30, 30), (255, 200, 120)),
         ((60, 20, 40), (240, 120, 40), (80, 30, 25), (35, 15, 15),
          (255, 90, 20), (255, 240, 150), (90, 90, 100), (255, 230, 170))),
        ("veins", "veins", "plain")),
    "forest": _Theme(
        _words("forest jungle rainforest tree garden meadow swamp mushroom grove orchard "
               "vine moss field"),
        (((90, 150, 200), (200, 230, 200), (80, 140, 70), (30, 80, 35),
          (220, 60, 60), (250, 210, 80), (170, 110, 60), (255, 250, 210)),
         ((30, 60, 60), (120, 170, 130), (50, 110, 60), (20, 55, 30),
          (200, 120, 220), (250, 150, 80), (230, 230, 180), (240, 255, 220))),
        ("stripes", "plain", "dunes")),
    "candy": _Theme(
        _words("candy cake chocolate sweet dessert marshmallow lollipop cream cupcake sugar "
               "gingerbread jelly toy giant"),
        (((250, 170, 210), (255, 230, 240), (250, 200, 220), (220, 130, 170),
          (120, 220, 200), (250, 240, 120), (150, 120, 230), (255, 255, 250)),
         ((150, 210, 250), (240, 220, 255), (200, 250, 220), (120, 200, 170),
          (250, 120, 160), (255, 200, 110), (110, 80, 60), (255, 250, 240))),
        ("checker", "stripes", "checker")),
    "neon": _Theme(
        _words("neon city cyber disco arcade casino futuristic hologram robot laser "
               "nightclub metropolis skyscraper"),
        (((10, 5, 30), (90, 20, 110), (40, 10, 60), (10, 5, 25),
          (255, 40, 200), (40, 240, 255), (250, 240, 80), (255, 120, 230)),
         ((0, 10, 30), (20, 70, 120), (15, 30, 60), (5, 10, 25),
          (60, 255, 140), (255, 80, 80), (160, 90, 255), (120, 240, 255))),
        ("grid", "grid", "checker")),
    "dream": _Theme(
        _words("cloud sky floating dream surreal rainbow upside heaven balloon bubble fairy "
               "castle impossible melting clock"),
        (((120, 170, 240), (250, 210, 230), (240, 220, 200), (200, 170, 160),
          (250, 130, 150), (130, 220, 250), (250, 240, 150), (255, 255, 240)),
         ((70, 50, 140), (240, 170, 150), (180, 200, 230), (110, 130, 180),
          (250, 220, 110), (240, 120, 200), (140, 250, 210), (255, 245, 230))),
        ("checker", "plain", "stripes")),
}

# Realistic backdrops: an interior (wall, floor, windows) or an outdoor skyline.
_REALISTIC: dict[str, _Theme] = {
    "indoor": _Theme(
        _words("hall room office chamber corridor hospital court studio classroom parliament "
               "lobby library kitchen ward lab church theatre theater conference museum gym "
               "station airport"),
        (((200, 190, 170), (225, 218, 200), (150, 120, 90), (110, 85, 60),
          (90, 110, 130), (170, 60, 50), (240, 240, 235), (255, 250, 235)),),
        ("plain",)),
    "outdoor": _Theme(
        frozenset(),
        (((95, 145, 205), (200, 220, 235), (130, 140, 120), (90, 95, 85),
          (120, 120, 125), (160, 150, 140), (70, 80, 90), (255, 250, 230)),),
        ("plain",)),
}
# fmt: on
_THEME_NAMES = tuple(_THEMES)


def _pick_theme(phrase: str, kind: str) -> tuple[str, np.ndarray, tuple[str, ...]]:
    """Theme, base palette (8x3 float) and favoured patterns for a backdrop phrase.

    The first word of the phrase that names a theme decides it; a phrase with none gets a
    theme from its digest, so the same phrase always looks alike.
    """
    digest = _phrase_digest(phrase)
    words = "".join(c if c.isalnum() else " " for c in phrase.lower()).split()
    if kind == "realistic":
        name = "indoor" if _REALISTIC["indoor"].words.intersection(words) else "outdoor"
        theme = _REALISTIC[name]
    else:
        name = None
        for word in words:
            stem = word[:-1] if word.endswith("s") and len(word) > 3 else word
            name = next((t for t in _THEME_NAMES if {word, stem} & _THEMES[t].words), None)
            if name:
                break
        if name is None:
            name = _THEME_NAMES[digest[0] % len(_THEME_NAMES)]
        theme = _THEMES[name]
    palette = np.asarray(theme.palettes[digest[1] % len(theme.palettes)], np.float32)
    return name, palette, theme.patterns


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


def _sphere(img, cx, cy, r, colour, light) -> None:
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


def _box(img, cx, cy, w, h, angle, colour) -> None:
    r = 0.5 * math.hypot(w, h)
    y0, x0, ys, xs = _local(cx, cy, r, r)
    ca, sa = math.cos(angle), math.sin(angle)
    u = xs * ca + ys * sa
    v = -xs * sa + ys * ca
    alpha = np.clip(np.minimum(w / 2 - np.abs(u), h / 2 - np.abs(v)) + 0.5, 0.0, 1.0)
    shade = 1.05 - 0.35 * (v / h + 0.5) - 0.15 * (u > 0)
    _blend(img, y0, x0, alpha, _shaded(colour, shade, alpha.shape))


def _pillar(img, cx, cy, w, h, colour) -> None:
    y0, x0, ys, xs = _local(cx, cy, w / 2, h / 2)
    alpha = np.clip(np.minimum(w / 2 - np.abs(xs), h / 2 - np.abs(ys)) + 0.5, 0.0, 1.0)
    shade = 0.45 + 0.65 * np.cos(np.clip(xs / (w / 2), -1, 1) * 1.3 - 0.35)
    _blend(img, y0, x0, alpha, _shaded(colour, shade, alpha.shape))


def _triangle(img, cx, cy, size, colour) -> None:
    pts = ((cx, cy - size), (cx - size, cy + 0.8 * size), (cx + size, cy + 0.8 * size))
    y0, x0, ys, xs = _local(cx, cy, size, size)
    X, Y = xs + cx, ys + cy
    dist = None
    for i in range(3):
        (ax, ay), (bx, by) = pts[i], pts[(i + 1) % 3]
        ex, ey = bx - ax, by - ay
        d = ((X - ax) * ey - (Y - ay) * ex) / math.hypot(ex, ey)  # > 0 inside for this order
        dist = d if dist is None else np.minimum(dist, d)
    alpha = np.clip(dist + 0.5, 0.0, 1.0)
    _blend(img, y0, x0, alpha, _shaded(colour, np.where(xs < 0, 0.7, 1.05), alpha.shape))


def _ring(img, cx, cy, r_out, r_in, squash, colour) -> None:
    y0, x0, ys, xs = _local(cx, cy, r_out, r_out * squash)
    d = np.sqrt(xs * xs + (ys / squash) ** 2)
    alpha = np.clip(np.minimum(d - r_in, r_out - d) + 0.5, 0.0, 1.0) * 0.9
    _blend(img, y0, x0, alpha, colour)


def _glow(img, cx, cy, r, colour, strength) -> None:
    R = r * 3
    y0, x0, ys, xs = _local(cx, cy, R, R)
    d = np.sqrt(xs * xs + ys * ys)
    disc = np.clip((r - d) / 1.5 + 0.5, 0.0, 1.0)
    halo = np.clip(1.0 - (d - r) / (2.0 * r), 0.0, 1.0) ** 2 * strength
    _blend(img, y0, x0, np.maximum(disc, halo), colour)


def _cloud(img, cx, cy, r, colour, rng) -> None:
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


def _ground_pattern(kind: str, rng, xx, yy, t, z) -> np.ndarray | None:
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


def _draw_backdrop(rng: np.random.Generator, phrase: str, kind: str, n: int) -> tuple:
    """Draw an n x n backdrop (planar float32 RGB 0..255); returns (image, theme, horizon)."""
    realistic = kind == "realistic"
    theme, base, patterns = _pick_theme(phrase, kind)
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


def _backdrop_image(rng: np.random.Generator, phrase: str, kind: str, size: int) -> tuple:
    """The backdrop as an RGB PIL image of ``size``.

    It is drawn at 3/8 of the size and upscaled: a backdrop is smooth, a soft one reads as a
    shallow depth of field behind the sharp people, and drawing costs 7x less.
    """
    img, theme, hstyle = _draw_backdrop(rng, phrase, kind, size * 3 // 8)
    planes = np.clip(img, 0, 255, out=img).astype(np.uint8)
    small = Image.merge("RGB", [Image.fromarray(plane) for plane in planes])
    return small.resize((size, size), Image.BILINEAR), theme, hstyle


# --------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------


@dataclass
class _Placed:
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
    shape: tuple[_Ellipse, ...]  # silhouette ellipses in image coordinates


def _overlap(a, b, pad: float = 0.0) -> bool:
    return a[0] < b[2] + pad and b[0] < a[2] + pad and a[1] < b[3] + pad and b[1] < a[3] + pad


def _ellipse_hits(e: _Ellipse, r: tuple[float, float, float, float]) -> bool:
    """Whether an axis-aligned ellipse meets an axis-aligned rectangle (exact)."""
    cx, cy, ax, ay = e
    nx, ny = min(max(cx, r[0]), r[2]), min(max(cy, r[1]), r[3])
    return ((nx - cx) / ax) ** 2 + ((ny - cy) / ay) ** 2 < 1.0


def _covers(a: _Placed, r: tuple[float, float, float, float]) -> bool:
    return _overlap(a.rect, r) and any(_ellipse_hits(e, r) for e in a.shape)


def _fits(new: _Placed, placed: list[_Placed]) -> bool:
    """No silhouette may touch another person's face, whatever the drawing order."""
    return all(not _covers(new, p.protect) and not _covers(p, new.protect) for p in placed)


def _width_range(count: int) -> tuple[float, float]:
    return {1: (150.0, 300.0), 2: (140.0, 235.0), 3: (130.0, 195.0)}.get(count, (115.0, 140.0))


def _pose(src: int, face_w: float, flip: bool, cx: float, top: float) -> _Placed:
    """Place source ``src`` scaled to ``face_w`` with its face centre at x=cx, face top at top."""
    cut = _cutout(src)
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
    return _Placed(
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


def _in_frame(p: _Placed, size: int, margin: float = 12.0) -> bool:
    f, fw = p.face, p.face[2] - p.face[0]
    return (
        f[0] >= margin and f[2] <= size - margin and f[1] - 0.5 * fw >= 0 and f[3] <= size - margin
    )


def _place_people(rng: np.random.Generator, count: int, size: int) -> list[_Placed]:
    """Choose sources, sizes and positions for ``count`` people whose faces stay uncovered."""
    lo, hi = _width_range(count)
    weights = np.array([s.weight if count <= s.max_people else 0.0 for s in _SOURCES])
    chosen: list[tuple[int, float, bool]] = []
    for _ in range(count):
        w = weights.copy()
        for src, _fw, _fl in chosen:  # prefer different people in one picture
            w[src] *= 0.25
        src = int(rng.choice(len(_SOURCES), p=w / w.sum()))
        minimum = max(lo, _SOURCES[src].min_face) if count <= 3 else lo
        chosen.append((src, rng.uniform(minimum, max(hi, minimum)), bool(rng.random() < 0.5)))
    # Random positions, one person at a time; start again (smaller) when someone cannot fit.
    for round_ in range(12):
        shrink = 0.93**round_
        placed: list[_Placed] = []
        for src, face_w, flip in chosen:
            floor = _SOURCES[src].min_face if count <= 3 else lo
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


def _grid_layout(chosen: list[tuple[int, float, bool]], count: int, size: int) -> list[_Placed]:
    """A fallback that always fits: small faces in one or two well-spaced rows."""
    rows = [chosen[: (count + 1) // 2], chosen[(count + 1) // 2 :]] if count > 3 else [chosen]
    placed = []
    for r, row in enumerate(rows):
        for i, (src, _fw, flip) in enumerate(row):
            fw = max(_SOURCES[src].min_face, 130.0) if count <= 3 else 115.0
            cx = size * (i + 0.5) / len(row)
            top = 0.5 * fw + 40 + r * 0.45 * size
            placed.append(_pose(src, fw, flip, cx, top))
    return placed


def _paste_person(canvas: Image.Image, p: _Placed, rng: np.random.Generator) -> None:
    """Colour-jitter, flip, scale and feather one cutout onto the canvas (all in PIL, in C).

    The colour matrix is applied at source resolution, before upscaling, where it is cheap.
    """
    cut = _cutout(p.source)
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
        rgb = rgb.transpose(Image.FLIP_LEFT_RIGHT)
        mask = mask.transpose(Image.FLIP_LEFT_RIGHT)
    size = (max(1, p.w), max(1, p.h))
    canvas.paste(rgb.resize(size, Image.BICUBIC), (p.x, p.y), mask.resize(size, Image.BILINEAR))


# --------------------------------------------------------------------------------------------
# Signage
# --------------------------------------------------------------------------------------------

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


def _paint_sign(
    canvas: Image.Image, rng: np.random.Generator, people: list[_Placed]
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
                if any(_overlap(box, p.protect, 8) for p in people):
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


# --------------------------------------------------------------------------------------------
# The drawing function and the backend
# --------------------------------------------------------------------------------------------


def encode_png(image: Image.Image, level: int = 0) -> bytes:
    """Encode an RGB image as PNG with a given zlib level, quickly.

    Pillow's encoder spends ~40-80 ms on a 1024x1024 picture even at low levels (it tries
    every row filter); here level 0 stores the rows unfiltered (a few ms) and levels 1-9 use
    the "Up" filter, computed with numpy.
    """
    rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB"), dtype=np.uint8)
    h, w = rgb.shape[:2]
    flat = rgb.reshape(h, w * 3)
    raw = np.empty((h, w * 3 + 1), np.uint8)
    if level <= 0:
        raw[:, 0] = 0
        raw[:, 1:] = flat
    else:
        raw[:, 0] = 2
        raw[0, 1:] = flat[0]
        np.subtract(flat[1:], flat[:-1], out=raw[1:, 1:])
    data = zlib.compress(memoryview(raw).cast("B"), max(0, min(9, level)))

    def chunk(kind: bytes, body: bytes) -> list[bytes]:
        crc = zlib.crc32(body, zlib.crc32(kind))
        return [struct.pack(">I", len(body)), kind, body, struct.pack(">I", crc)]

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    parts = [b"\x89PNG\r\n\x1a\n", *chunk(b"IHDR", header), *chunk(b"IDAT", data)]
    return b"".join([*parts, *chunk(b"IEND", b"")])


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
    decide = _rng(seed, plan_key, attempt, "decide")
    fault: str | None = None
    count = num_people
    if decide.random() < fault_rate:
        if decide.random() < 0.5:
            fault, count = "no_face", 0
        else:
            fault, count = "crowd", int(decide.integers(4, 6))
    with_sign = decide.random() < signage_rate

    # Drawn at 1024 px (face sizes are in those pixels), resized at the end for other sizes.
    canvas, theme, hstyle = _backdrop_image(
        _rng(seed, plan_key, attempt, "backdrop"), backdrop, backdrop_kind, REFERENCE_SIZE
    )
    prng = _rng(seed, plan_key, attempt, "people")
    people = _place_people(prng, count, REFERENCE_SIZE)
    # Farther (smaller) people first, so nearer ones may overlap their shoulders.
    for p in sorted(people, key=lambda q: q.face_w):
        _paste_person(canvas, p, prng)

    words: tuple[str, ...] = ()
    sign_box = None
    if with_sign:
        words, sign_box = _paint_sign(canvas, _rng(seed, plan_key, attempt, "sign"), people)
    k = size / REFERENCE_SIZE
    if size != REFERENCE_SIZE:
        canvas = canvas.resize((size, size), Image.LANCZOS)
        if sign_box is not None:
            sign_box = tuple(int(round(v * k)) for v in sign_box)
    return CompositeImage(
        png=encode_png(canvas, png_level),
        faces=tuple(tuple(int(round(v * k)) for v in p.face) for p in people),
        sources=tuple(_SOURCES[p.source].name for p in people),
        fault=fault,
        sign_words=words,
        sign_box=sign_box,
        theme=theme,
        horizon=hstyle,
    )


class CompositeBackend:
    """Offline backend: deterministic composites, one budget unit per call like the real one."""

    name = "composite"

    def __init__(
        self,
        budget: CallBudget,
        fault_rate: float = 0.15,
        signage_rate: float = 0.0,
        size: int = 1024,
        png_level: int = 0,
    ) -> None:
        for label, rate in (("fault_rate", fault_rate), ("signage_rate", signage_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{label} must be within 0..1, got {rate}")
        self.budget = budget
        self.fault_rate = fault_rate
        self.signage_rate = signage_rate
        self.size = size
        self.png_level = png_level
        self.calls = 0
        self.retries = 0  # never retries; kept so run statistics read both backends alike

    def __repr__(self) -> str:
        return (
            f"CompositeBackend(fault_rate={self.fault_rate}, signage_rate={self.signage_rate}, "
            f"size={self.size}, calls={self.calls})"
        )

    def render(self, req: ImageRequest) -> CompositeImage:
        """Draw the image for ``req`` (no budget taken): the picture and what is in it."""
        return render_composite(
            req.seed,
            req.plan_key,
            req.attempt,
            req.num_people,
            req.backdrop,
            req.backdrop_kind,
            fault_rate=self.fault_rate,
            signage_rate=self.signage_rate,
            size=self.size,
            png_level=self.png_level,
        )

    def generate_sync(self, req: ImageRequest) -> bytes:
        self._take(req)
        return self.render(req).png

    async def generate(self, req: ImageRequest) -> bytes:
        self._take(req)
        image = await asyncio.to_thread(self.render, req)
        return image.png

    def _take(self, req: ImageRequest) -> None:
        if not self.budget.try_acquire():
            raise BudgetExhausted(
                f"{req.plan_key} attempt {req.attempt}: MAX_IMAGE_CALLS budget of "
                f"{self.budget.max_calls} image calls is spent"
            )
        self.calls += 1

    async def aclose(self) -> None:
        return None
