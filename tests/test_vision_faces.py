"""Real MTCNN on offline public-domain photos and 1024x1024 scenes built from them."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib import cbook
from PIL import Image, ImageDraw, ImageFilter
from skimage import data

from generator.vision.faces import Face, FaceDetector, GateResult, face_gate

# MTCNN's face boxes in the source photos (x1, y1, x2, y2): used to scale and place heads
SOURCES = {
    "astronaut": (178, 59, 269, 176),
    "grace_hopper": (176, 110, 350, 335),
}


def _load(name: str) -> Image.Image:
    if name == "astronaut":
        return Image.fromarray(data.astronaut())
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        return Image.open(f).convert("RGB")


def _backdrop(size: int, seed: int) -> Image.Image:
    """A gradient sky with random discs and triangles: no face anywhere."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, size)[:, None, None]
    top, bottom = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    img = Image.fromarray((top * (1 - y) + bottom * y).repeat(size, axis=1).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, yy = rng.uniform(0, size, 2)
        r = rng.uniform(20, 160)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, yy - r, x + r, yy + r), fill=colour)
        else:
            draw.polygon([(x, yy - r), (x + r, yy + r), (x - r, yy + r)], fill=colour)
    return img


def _head(name: str, face_w: float, angle: float = 0.0):
    """A feathered head-and-shoulders crop whose face is ``face_w`` px wide; the face box is
    returned in the crop's pixels (before any rotation)."""
    src = _load(name)
    x1, y1, x2, y2 = SOURCES[name]
    w, h = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2
    box = (
        max(0, cx - 1.3 * w),
        max(0, y1 - 0.6 * h),
        min(src.width, cx + 1.3 * w),
        min(src.height, y2 + 1.0 * h),
    )
    crop = src.crop(tuple(round(v) for v in box))
    s = face_w / w
    crop = crop.resize((round(crop.width * s), round(crop.height * s)), Image.Resampling.LANCZOS)
    mask = Image.new("L", crop.size, 0)
    m = 0.06 * min(crop.size)
    ImageDraw.Draw(mask).ellipse((m, m, crop.width - m, crop.height * 1.4), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(m / 2))
    if angle:
        crop = crop.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
        mask = mask.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    face = ((x1 - box[0]) * s, (y1 - box[1]) * s, (x2 - box[0]) * s, (y2 - box[1]) * s)
    return crop, mask, face


def make_scene(heads, seed: int = 0, size: int = 1024):
    """``heads``: (name, face width, (x, y) top-left, angle).  Returns the image and the
    expected face boxes (meaningful for unrotated heads)."""
    img = _backdrop(size, seed)
    faces = []
    for name, face_w, (x, y), angle in heads:
        crop, mask, f = _head(name, face_w, angle)
        img.paste(crop, (x, y), mask)
        faces.append((f[0] + x, f[1] + y, f[2] + x, f[3] + y))
    return img, faces


SCENES = {
    "one": [("astronaut", 200, (300, 250), 0)],
    "one_hopper": [("grace_hopper", 260, (250, 200), 0)],
    "none": [],
    "four": [
        ("astronaut", 150, (40, 60), 0),
        ("grace_hopper", 140, (560, 60), 0),
        ("grace_hopper", 160, (60, 560), 0),
        ("astronaut", 130, (560, 560), 0),
    ],
    "tiny": [("astronaut", 80, (400, 400), 0)],
    "rotated": [("grace_hopper", 220, (250, 200), 45)],
}


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


@pytest.fixture(scope="module")
def detectors():
    return {
        512: FaceDetector(detect_size=512, device="cpu"),
        None: FaceDetector(None, device="cpu"),
    }


@pytest.fixture(scope="module")
def scenes():
    return {name: make_scene(heads, seed=i) for i, (name, heads) in enumerate(SCENES.items())}


@pytest.fixture(scope="module")
def detections(detectors, scenes):
    return {
        (name, ds): det.detect(img)
        for name, (img, _) in scenes.items()
        for ds, det in detectors.items()
    }


@pytest.mark.parametrize("name", ["astronaut", "grace_hopper"])
def test_source_photos_have_one_face(detectors, name):
    img = _load(name)
    faces = detectors[512].detect(img)
    assert len(faces) == 1
    face = faces[0]
    assert face.prob > 0.99
    assert iou(face.box, SOURCES[name]) > 0.8
    assert len(face.landmarks) == 5
    (lx, ly), (rx, ry), (nx, ny), (mlx, mly), (mrx, mry) = face.landmarks
    x1, y1, x2, y2 = face.box
    for px, py in face.landmarks:
        assert x1 <= px <= x2 and y1 <= py <= y2
    assert lx < nx < rx  # left eye, nose, right eye from left to right
    assert max(ly, ry) < ny < min(mly, mry)  # eyes above nose above mouth
    assert iou(detectors[None].detect(img)[0].box, face.box) > 0.9
    # the gate's 110 px minimum is in 1024-px units: scaled to this photo's width
    assert face_gate(faces, img.size).ok


def test_one_face_scene_passes(scenes, detections):
    for name in ("one", "one_hopper"):
        img, expected = scenes[name]
        faces = detections[(name, 512)]
        result = face_gate(faces, img.size)
        assert result == GateResult(True, None, tuple(faces))
        assert iou(faces[0].box, expected[0]) > 0.6
        assert faces[0].eye_tilt_deg < 10


def test_no_face_is_rejected(scenes, detections):
    img, _ = scenes["none"]
    assert detections[("none", 512)] == []
    assert face_gate([], img.size) == GateResult(False, "faces", ())


def test_four_faces_are_too_many(scenes, detections):
    img, expected = scenes["four"]
    faces = detections[("four", 512)]
    assert len(faces) == 4
    for box in expected:
        assert max(iou(f.box, box) for f in faces) > 0.6
    assert face_gate(faces, img.size, max_faces=3).reason == "faces"
    assert face_gate(faces, img.size, max_faces=4).ok


def test_tiny_face_fails_quality(scenes, detections):
    img, _ = scenes["tiny"]
    faces = detections[("tiny", 512)]
    assert len(faces) == 1  # found (the detector looks below the gate's limit)...
    assert faces[0].side < 110
    result = face_gate(faces, img.size)
    assert (result.ok, result.reason) == (False, "quality")  # ...and judged by the gate


def test_rotated_face_fails(scenes, detections):
    img, _ = scenes["rotated"]
    faces = detections[("rotated", 512)]
    result = face_gate(faces, img.size)
    assert not result.ok
    assert result.reason == "quality" or (result.reason == "faces" and not faces)
    if faces:
        assert faces[0].eye_tilt_deg > 20


def test_detect_size_512_agrees_with_full_resolution(scenes, detections):
    for name, (img, _) in scenes.items():
        low, full = detections[(name, 512)], detections[(name, None)]
        g_low, g_full = face_gate(low, img.size), face_gate(full, img.size)
        assert (g_low.ok, g_low.reason) == (g_full.ok, g_full.reason), name
        confident_low = [f for f in low if f.prob >= 0.9]
        confident_full = [f for f in full if f.prob >= 0.9]
        assert len(confident_low) == len(confident_full), name
        for f in confident_low:
            assert max(iou(f.box, g.box) for g in confident_full) > 0.75, name


def test_boxes_map_back_to_original_pixels(detectors):
    # the same scene at 2048 px: boxes scale with the image although detection runs at 512
    img, expected = make_scene(SCENES["one"], seed=0)
    big = img.resize((2048, 2048), Image.Resampling.BICUBIC)
    faces = detectors[512].detect(big)
    assert len(faces) == 1
    doubled = tuple(2 * v for v in expected[0])
    assert iou(faces[0].box, doubled) > 0.6
    assert face_gate(faces, big.size).ok
    assert detectors[512].min_face_size(big.size) == pytest.approx(110 * 2 * 0.25 * 0.6)


def _face(box, prob=0.99, tilt_dy=0.0) -> Face:
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    eyes = ((x1 + 0.3 * w, y1 + 0.4 * h), (x1 + 0.7 * w, y1 + 0.4 * h + tilt_dy))
    rest = (
        (x1 + 0.5 * w, y1 + 0.6 * h),
        (x1 + 0.35 * w, y1 + 0.8 * h),
        (x1 + 0.65 * w, y1 + 0.8 * h),
    )
    return Face(box=box, prob=prob, landmarks=eyes + rest)


def test_gate_rules_on_synthetic_faces():
    size = (1024, 1024)
    big = _face((100, 100, 300, 350))
    assert face_gate([big], size).ok
    # low-probability detections are noise: not counted
    noise = [_face((500, 500, 540, 550), prob=0.3)] * 5
    assert face_gate([big, *noise], size).ok
    # the best face is the largest confident one, a smaller confident face does not matter
    assert face_gate([_face((600, 600, 650, 660)), big], size).ok
    # no confident face
    assert face_gate([_face((100, 100, 300, 350), prob=0.7)], size).reason == "quality"
    # side in 1024-px units, scaled by the width
    small = _face((100, 100, 200, 230))  # 100 px side
    assert face_gate([small], size).reason == "quality"
    assert face_gate([small], (512, 512)).ok
    assert face_gate([small], size, min_side_px=90).ok
    # eye tilt: 0.4 * 200 = 80 px between the eyes; 40 px drop is ~26.6 degrees
    tilted = _face((100, 100, 300, 350), tilt_dy=40)
    assert tilted.eye_tilt_deg == pytest.approx(26.565, abs=0.01)
    assert face_gate([tilted], size).reason == "quality"
    assert face_gate([tilted], size, max_eye_tilt_deg=30).ok
    # counts
    assert face_gate([big] * 4, size).reason == "faces"
    assert face_gate([big] * 2, size, min_faces=3).reason == "faces"
    assert face_gate([], size, min_faces=0).ok
    with pytest.raises(ValueError):
        face_gate([], size, min_faces=2, max_faces=1)
