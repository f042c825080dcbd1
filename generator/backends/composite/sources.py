"""Face sources: public-domain photos shipped in scikit-image / matplotlib, and their cut-outs."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageFilter


@dataclass(frozen=True)
class Source:
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
SOURCES: tuple[Source, ...] = (
    # Her dark collar ring, blurred, can pass for a face: her body fades out early.
    Source("astronaut", (181.1, 62.2, 267.7, 172.1), (102, 14, 346, 356), 0.45, 130.0, body=1.1),
    Source("grace_hopper", (174.4, 119.6, 355.6, 340.5), (16, 30, 512, 600), 0.45, 130.0),
    # The weakest source (near profile, greyscale: MTCNN misses it now and then at 512 px and
    # may add a small box at his ear), so it is picked rarely, never small and never in groups
    # of three or more. The camera he holds sits beside his face: a narrower head mask leaves
    # most of it out.
    Source(
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


def load_photo(name: str) -> np.ndarray:
    if name == "astronaut":
        import skimage.data

        return np.asarray(skimage.data.astronaut(), dtype=np.uint8)
    if name == "camera":
        import skimage.data

        grey = np.asarray(skimage.data.camera(), dtype=np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if name == "grace_hopper":
        import matplotlib.cbook

        sample = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=True)
        assert not isinstance(sample, np.ndarray)  # asfileobj=True: a file object
        with sample as fh, Image.open(fh) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    raise KeyError(name)


# An ellipse (cx, cy, ax, ay): centre and semi-axes.
Ellipse = tuple[float, float, float, float]


@dataclass(frozen=True)
class Cutout:
    rgb: Image.Image  # the head-and-shoulders crop at source resolution
    mask: Image.Image  # "L": feathered head-and-shoulders silhouette
    face: tuple[float, float, float, float]  # face box inside the crop
    shape: tuple[Ellipse, Ellipse]  # head and shoulder ellipses of the silhouette (crop px)
    mean: float  # mean grey level under the mask (pivot of the contrast jitter)
    grey: bool


@cache
def cutout(index: int) -> Cutout:
    """Decode one source photo once and cut its feathered head-and-shoulders crop."""
    src = SOURCES[index]
    photo = load_photo(src.name)
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
    inside: np.ndarray | None = None
    for cx, cy, ax, ay in (head, shoulders):
        e = 1.0 - np.sqrt(((xs - cx) / ax) ** 2 + ((ys - cy) / ay) ** 2)
        inside = e if inside is None else np.maximum(inside, e)
    assert inside is not None  # two ellipses were measured
    alpha = np.clip(inside / 0.18, 0.0, 1.0)
    # Fade the body out below the shoulders, so the bust has no hard lower edge (and a large,
    # dark, blurred body does not read as one more face).
    alpha = alpha * np.clip((fy2 + src.body * fw - ys) / (0.9 * fw), 0.0, 1.0)
    mask = Image.fromarray((alpha * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(2))
    mean = float((rgb.mean(axis=2) * alpha).sum() / max(alpha.sum(), 1.0))
    return Cutout(
        Image.fromarray(rgb),
        mask,
        (fx1, fy1, fx2, fy2),
        (head, shoulders),
        mean,
        src.name == "camera",
    )
