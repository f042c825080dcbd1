"""The vision chain of one generated image: decode -> faces -> gate -> crop -> scrub -> JPEG.

:func:`process` is a pure function of the image bytes and the settings: no store access, no
configuration object, no randomness.  The only state it touches is the face detector passed in
(a torch model, used read-only).  :class:`Vision` holds the settings and the detector for the
pipeline's worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from PIL import Image

from generator.imaging import decode_rgb, encode_jpeg
from generator.vision.crop import crop_for_shot
from generator.vision.dedup import phash64
from generator.vision.faces import CascadeLike, FaceDetector, GateResult, face_gate

if TYPE_CHECKING:
    from generator.config import Config

__all__ = ["Candidate", "Reject", "RejectReason", "Vision", "VisionSettings", "process"]


class RejectReason(StrEnum):
    """Why a plan item (or one generation attempt) was not accepted.

    The values are the strings stored in rejected.jsonl and runs.jsonl: never rename them.
    """

    FACES = "faces"  # face count outside [MIN_FACES, MAX_FACES]
    QUALITY = "quality"  # best face too small, unsure or tilted
    OCR = "ocr"  # readable text left after the blur (STRICT_NO_TEXT)
    DUPLICATE_IMAGE = "duplicate_image"  # pHash near an accepted image
    DUPLICATE_CAPTION = "duplicate_caption"  # caption of an accepted sample
    REFUSED = "refused"  # the backend refused the prompt (moderation)
    FAILED = "failed"  # the call failed, or its bytes are not an image


@dataclass(frozen=True)
class VisionSettings:
    """The knobs the vision chain reads, taken from the configuration once."""

    min_faces: int = 1
    max_faces: int = 3
    min_prob: float = 0.80
    min_side_px: int = 110
    max_eye_tilt_deg: float = 20.0
    post_w: int = 400
    post_h: int = 256
    jpeg_quality: int = 92
    strict_no_text: bool = False
    text_conf_thresh: float = 60
    ocr_scale: int = 2
    ocr_max_passes: int = 1
    detect_size: int | None = 512
    device: str = "auto"  # MTCNN's device: the GPU when there is one (DEVICE knob)

    @classmethod
    def from_config(cls, cfg: Config) -> VisionSettings:
        return cls(
            min_faces=cfg.MIN_FACES,
            max_faces=cfg.MAX_FACES,
            min_prob=cfg.min_prob,
            min_side_px=cfg.min_side_px,
            max_eye_tilt_deg=cfg.MAX_EYE_TILT_DEG,
            post_w=cfg.POST_W,
            post_h=cfg.POST_H,
            jpeg_quality=cfg.JPEG_QUALITY,
            strict_no_text=cfg.STRICT_NO_TEXT,
            text_conf_thresh=cfg.TEXT_CONF_THRESH,
            ocr_scale=cfg.OCR_SCALE,
            ocr_max_passes=cfg.OCR_MAX_PASSES,
            detect_size=cfg.DETECT_SIZE,
            device=cfg.DEVICE,
        )


@dataclass(frozen=True)
class Candidate:
    """An image that passed the gate, crop and scrub: the stored JPEG and what the record needs."""

    jpeg: bytes
    boxes: list[list[int]]  # face boxes in the stored image's pixels
    probs: list[float]  # MTCNN probabilities of the counted faces, rounded to 5 places
    phash: int  # 64-bit pHash of the cropped (scrubbed) image


@dataclass(frozen=True)
class Reject:
    """The vision chain's verdict on an image it does not accept."""

    reason: RejectReason


def gate_faces(img: Image.Image, detector: FaceDetector, s: VisionSettings) -> GateResult:
    """MTCNN on ``img`` and the face gate with the run's knobs (the one place they are applied)."""
    return face_gate(
        detector.detect(img),
        img.size,
        min_faces=s.min_faces,
        max_faces=s.max_faces,
        min_prob=s.min_prob,
        min_side_px=s.min_side_px,
        max_eye_tilt_deg=s.max_eye_tilt_deg,
    )


def process(
    data: bytes, shot: str, detector: FaceDetector, s: VisionSettings
) -> Candidate | Reject:
    """Backend bytes -> a :class:`Candidate`, or the :class:`Reject` that says why not."""
    try:
        img = decode_rgb(data)
    except Exception:  # noqa: BLE001 - undecodable bytes are a failed call
        return Reject(RejectReason.FAILED)
    gate = gate_faces(img, detector, s)
    if not gate.ok:
        return Reject(RejectReason(gate.reason or RejectReason.FACES))
    kept = gate.faces
    cropped, boxes = crop_for_shot(img, [f.box for f in kept], shot, s.post_w, s.post_h)
    if s.strict_no_text:
        scrubbed = scrub_stored(cropped, boxes, s)
        if scrubbed is None:
            return Reject(RejectReason.OCR)
        cropped, jpeg = scrubbed
    else:
        jpeg = encode_jpeg(cropped, s.jpeg_quality)
    return Candidate(
        jpeg=jpeg,
        boxes=[list(map(int, b)) for b in boxes],
        probs=[round(float(f.prob), 5) for f in kept],
        phash=phash64(cropped),
    )


def scrub_stored(
    img: Image.Image, face_boxes: Sequence[tuple[int, int, int, int]], s: VisionSettings
) -> tuple[Image.Image, bytes] | None:
    """Blur readable text outside the faces until the *stored JPEG* reads clean.

    The promise is about the stored file (Tesseract can read a word in the JPEG that it missed
    before compression), so each check reads the JPEG as it will be read back: encode, decode,
    OCR. A clean image costs one OCR run; each blur pass (at most ``ocr_max_passes``) one more.
    Returns the (scrubbed) image and its JPEG, or None when words stay readable.
    """
    from generator.vision.ocr import blur_boxes, readable_words

    def stored_words(im: Image.Image) -> tuple[bytes, list[tuple[int, int, int, int]]]:
        data = encode_jpeg(im, s.jpeg_quality)
        words = readable_words(
            decode_rgb(data), face_boxes, conf_thresh=s.text_conf_thresh, scale=s.ocr_scale
        )
        return data, [box for _, box in words]

    jpeg, found = stored_words(img)
    passes = 0
    while found and passes < s.ocr_max_passes:
        img = blur_boxes(img, found)
        passes += 1
        jpeg, found = stored_words(img)
    return None if found else (img, jpeg)


class Vision:
    """The vision chain for the worker threads: the settings and one shared MTCNN detector.

    The detector is built once, under a lock, by whichever thread asks first: normally
    :meth:`warm_up`, which the pipeline starts as soon as the run starts, so that importing
    torch and building MTCNN overlap the first requests instead of following their answers.
    One detector serves every thread: the cascade changes no state of the model. ``cascade``:
    the networks to run, when they live elsewhere (a detector process started with the run).
    """

    def __init__(self, settings: VisionSettings, cascade: CascadeLike | None = None) -> None:
        self.settings = settings
        self._cascade = cascade
        self._lock = threading.Lock()
        self._det: FaceDetector | None = None

    def detector(self) -> FaceDetector:
        with self._lock:  # the first caller builds it; the others wait for that one
            if self._det is None:
                s = self.settings
                self._det = FaceDetector(
                    detect_size=s.detect_size,
                    min_face_px=s.min_side_px,
                    device=s.device,
                    cascade=self._cascade,
                )
            return self._det

    def warm_up(self) -> None:
        """Pay the first-call costs before the first image arrives: the pHash (its first call
        imports scipy's FFT, about 0.1 s) and OCR libraries first, as they run in this process
        while it waits for the API, then the detector (built here, or waited for in its own
        process) and torch's first operations."""
        grey = Image.new("RGB", (64, 64), (127, 127, 127))
        phash64(grey)
        if self.settings.strict_no_text:
            import pytesseract  # noqa: F401 - imported for its import cost
        self.detector().detect(grey)

    def process(self, data: bytes, shot: str) -> Candidate | Reject:
        return process(data, shot, self.detector(), self.settings)
