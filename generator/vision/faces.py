"""Face detection (MTCNN with facenet-pytorch's weights, :mod:`generator.vision.mtcnn`) and the
face gate.

Both are pure functions of pixels: no file I/O, no global configuration.  Sizes given in
"1024-pixel units" are relative to a 1024-pixel-wide image (the generator's native size) and are
scaled to the image at hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image

__all__ = ["Face", "FaceDetector", "GateResult", "face_gate", "resolve_device"]

REFERENCE_WIDTH = 1024
#: MTCNN's score thresholds of its three stages and its pyramid's scale step (the published
#: defaults). Here, not in mtcnn.py, because this module and detector_process.py must not
#: import torch.
THRESHOLDS = (0.6, 0.7, 0.7)
FACTOR = 0.709


class CascadeLike(Protocol):
    """What the detector runs: :class:`generator.vision.mtcnn.Cascade`, in this process or in
    a child (:class:`generator.vision.detector_process.DetectorProcess`)."""

    def detect(
        self,
        rgb: np.ndarray,
        min_size: float,
        thresholds: Sequence[float] = ...,
        factor: float = ...,
    ) -> tuple[np.ndarray, np.ndarray]: ...


# MTCNN's P-Net looks at 12x12 windows: a min_face_size below 12 would upsample the image.
_MTCNN_MIN_FACE = 12.0


@dataclass(frozen=True)
class Face:
    """One detected face, in the pixels of the image given to :meth:`FaceDetector.detect`."""

    box: tuple[float, float, float, float]  # x1, y1, x2, y2
    prob: float
    # 5 points: left eye, right eye, nose, mouth left, mouth right (image left/right)
    landmarks: tuple[tuple[float, float], ...]

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def side(self) -> float:
        """The shorter side of the box: the size the gate compares with its minimum."""
        return min(self.width, self.height)

    @property
    def eye_tilt_deg(self) -> float:
        """Angle of the line from the left to the right eye against the horizontal (0 = level).

        A face upside down gives an angle near 180 degrees, so it fails any sane tilt limit.
        """
        if len(self.landmarks) < 2:
            return 180.0
        (lx, ly), (rx, ry) = self.landmarks[0], self.landmarks[1]
        return abs(math.degrees(math.atan2(ry - ly, rx - lx)))


def resolve_device(spec: str | None) -> str:
    """``None`` / ``"auto"`` -> ``"cuda"`` when CUDA is present (the current GPU: the one a
    local diffusion backend in the same process uses), else ``"cpu"``; others pass through."""
    if spec is None or spec == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return spec


class FaceDetector:
    """MTCNN face detector that works at a reduced resolution and reports original pixels.

    ``detect_size``: the image is downscaled so that its long side is ``detect_size`` before
    detection (``None``: full resolution; images already smaller are never upscaled).
    ``min_face_px``: the smallest face that matters, in 1024-pixel units; MTCNN's
    ``min_face_size`` is that size scaled to the detection resolution times a safety margin
    (``MIN_FACE_MARGIN``), so faces just under the gate's limit are still found and judged by
    the gate rather than silently missed.  The pyramid's largest level follows from it, so it
    decides most of the cost.
    ``threads``: ``torch.set_num_threads(threads)`` is applied at construction (process-wide,
    as torch has no per-module setting); ``None`` leaves torch's setting alone.  One thread is
    the default because two threads stall at random on small machines.
    ``cascade``: the MTCNN networks to run (for one in another process); by default they are
    built here, on ``device``.
    """

    MIN_FACE_MARGIN = 0.6

    def __init__(
        self,
        detect_size: int | None = 512,
        min_face_px: int = 110,
        device: str | None = None,
        threads: int | None = 1,
        cascade: CascadeLike | None = None,
    ) -> None:
        if detect_size is not None and detect_size < 32:
            raise ValueError(f"detect_size must be None or >= 32, got {detect_size}")
        if min_face_px <= 0:
            raise ValueError(f"min_face_px must be > 0, got {min_face_px}")
        if threads is not None and threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.detect_size = detect_size
        self.min_face_px = min_face_px
        #: MTCNN's stage thresholds and pyramid step (its defaults; benchmarks try others).
        self.thresholds: tuple[float, ...] = THRESHOLDS
        self.factor = FACTOR
        if cascade is None:  # built here; ``device`` and ``threads`` apply to this process
            import torch

            from generator.vision.mtcnn import Cascade

            if threads is not None:
                torch.set_num_threads(threads)
            cascade = Cascade(torch.device(resolve_device(device)))
        # The cascade keeps no state between calls: min_face_size varies per image, and one
        # detector serves several worker threads.
        self._cascade = cascade

    def detection_scale(self, size: tuple[int, int]) -> float:
        """Factor from original pixels to detection pixels for an image of ``size`` (w, h)."""
        long_side = max(size)
        if self.detect_size is None or long_side <= self.detect_size:
            return 1.0
        return self.detect_size / long_side

    def min_face_size(self, size: tuple[int, int]) -> float:
        """MTCNN ``min_face_size`` (detection pixels) used for an image of ``size`` (w, h)."""
        min_face_orig = self.min_face_px * size[0] / REFERENCE_WIDTH
        return max(
            _MTCNN_MIN_FACE, min_face_orig * self.detection_scale(size) * self.MIN_FACE_MARGIN
        )

    def detect(self, img: Image.Image) -> list[Face]:
        """Faces in ``img``, most probable first, with boxes and landmarks in its pixels."""
        if img.width < 1 or img.height < 1:
            return []
        rgb = img if img.mode == "RGB" else img.convert("RGB")
        scale = self.detection_scale(rgb.size)
        if scale != 1.0:
            small = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
            # exact per-axis factors after rounding
            sx, sy = small[0] / rgb.width, small[1] / rgb.height
            rgb = rgb.resize(small, Image.Resampling.BILINEAR)
        else:
            sx = sy = 1.0
        boxes, points = self._cascade.detect(
            np.asarray(rgb), self.min_face_size(img.size), self.thresholds, self.factor
        )
        if boxes.size == 0:
            return []
        boxes = boxes.astype(float).reshape(-1, 5)
        points = points.astype(float).reshape(-1, 5, 2)
        faces = []
        for (x1, y1, x2, y2, prob), pts in zip(boxes, points, strict=True):
            faces.append(
                Face(
                    box=(float(x1 / sx), float(y1 / sy), float(x2 / sx), float(y2 / sy)),
                    prob=float(prob),
                    landmarks=tuple((float(px / sx), float(py / sy)) for px, py in pts),
                )
            )
        faces.sort(key=lambda f: (-f.prob, -f.width * f.height))
        return faces


@dataclass(frozen=True)
class GateResult:
    ok: bool
    reason: str | None  # None | "faces" | "quality"
    faces: tuple[Face, ...]  # the faces that were counted (prob >= count_min_prob)


def _best_face(faces: Sequence[Face], min_prob: float) -> Face | None:
    confident = [f for f in faces if f.prob >= min_prob] or list(faces)
    if not confident:
        return None
    return max(confident, key=lambda f: (f.side, f.prob))


def face_gate(
    faces: Sequence[Face],
    image_size: tuple[int, int],
    min_faces: int = 1,
    max_faces: int = 3,
    min_prob: float = 0.80,
    min_side_px: float = 110,
    max_eye_tilt_deg: float = 20.0,
    count_min_prob: float = 0.5,
) -> GateResult:
    """Accept or reject an image from its detected faces.

    Faces with ``prob < count_min_prob`` are ignored (noise).  Reason ``"faces"``: the count is
    outside ``[min_faces, max_faces]``.  Reason ``"quality"``: the best face (the largest face
    with ``prob >= min_prob``; when none is that confident, the largest one) has
    ``prob < min_prob``, a shorter box side below ``min_side_px`` (1024-pixel units, scaled by
    ``image_size[0] / 1024``), or eyes tilted more than ``max_eye_tilt_deg`` from level.
    """
    if min_faces < 0 or max_faces < min_faces:
        raise ValueError(f"need 0 <= min_faces <= max_faces, got {min_faces}, {max_faces}")
    counted = tuple(f for f in faces if f.prob >= count_min_prob)
    if not (min_faces <= len(counted) <= max_faces):
        return GateResult(False, "faces", counted)
    best = _best_face(counted, min_prob)
    if best is None:  # min_faces == 0 and no face: nothing to judge
        return GateResult(True, None, counted)
    min_side = min_side_px * image_size[0] / REFERENCE_WIDTH
    if best.prob < min_prob or best.side < min_side or best.eye_tilt_deg > max_eye_tilt_deg:
        return GateResult(False, "quality", counted)
    return GateResult(True, None, counted)
