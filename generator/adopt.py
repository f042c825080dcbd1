"""Adoption: an image of ours that a crash left without its record becomes a sample again.

An image is written (fsynced, renamed) before its record is appended, so a crash between the
two leaves ``<id>.jpg`` without a record: a paid image. Its id names its plan key
(:func:`generator.store.record_id`), so its record can be derived again from the plan; the
stored image is checked again the way the run checked it (decodes, POST_W x POST_H, the MTCNN
face gate on the stored pixels, the OCR check under STRICT_NO_TEXT, and the de-duplication
against what is already accepted) before the record is appended. An image that fails a check
goes to ``quarantine/`` with the reason; nothing is deleted.
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image

from generator.config import Config
from generator.plan import plan_item
from generator.schema import Sample
from generator.store import Orphan, Store
from generator.text.datelines import CityTable
from generator.vision.dedup import CaptionIndex, PHashIndex, phash64
from generator.vision.faces import CascadeLike, FaceDetector
from generator.vision.process import Candidate, VisionSettings, gate_faces

#: Builds the stored record of an accepted item: (cfg, item, candidate, attempt, backend, image).
RecordBuilder = Callable[..., Sample]


def check_stored(path: str, s: VisionSettings, detector: FaceDetector) -> Candidate | str:
    """The checks of the vision chain, on an image as stored: a candidate, or why not."""
    try:
        with Image.open(path) as im:
            im.load()
            img = im.convert("RGB")
    except Exception as exc:  # noqa: BLE001 - any decode failure is a broken image
        return f"does not decode ({type(exc).__name__})"
    if img.size != (s.post_w, s.post_h):
        return f"is {img.size[0]}x{img.size[1]}, not {s.post_w}x{s.post_h}"
    gate = gate_faces(img, detector, s)
    if not gate.ok:
        return f"fails the face gate ({gate.reason})"
    boxes = [list(map(int, f.box)) for f in gate.faces]
    if s.strict_no_text:
        from generator.vision.ocr import readable_words

        face_boxes = [(float(a), float(b), float(c), float(d)) for a, b, c, d in boxes]
        if readable_words(img, face_boxes, conf_thresh=s.text_conf_thresh, scale=s.ocr_scale):
            return "has readable text (STRICT_NO_TEXT)"
    with open(path, "rb") as fh:
        jpeg = fh.read()
    return Candidate(
        jpeg=jpeg,
        boxes=boxes,
        probs=[round(float(f.prob), 5) for f in gate.faces],
        phash=phash64(img),
    )


def adopt_orphans(
    store: Store,
    cfg: Config,
    cities: CityTable,
    backend: str,
    build_record: RecordBuilder,
    cascade: CascadeLike | None = None,
) -> list[str]:
    """Adopt or quarantine every orphan :meth:`Store.open` found; one line per image.
    ``cascade``: the run's detector process, when it has one."""
    lines: list[str] = []
    todo: list[Orphan] = []
    if not store.orphans:
        return lines
    used = store.used_keys()
    spooled = store.spool.keys()
    for o in store.orphans:
        if o.k in used[o.bucket]:
            store.quarantine(
                o.path,
                f"plan item {o.bucket}/{o.k} is already decided (its record or "
                "rejection is on file)",
            )
            lines.append(f"{o.path}: plan item already decided; moved to quarantine/")
        elif (o.bucket, o.k) not in spooled:  # a spooled item is rebuilt from its delivered bytes
            todo.append(o)
    if not todo:
        return lines
    s = VisionSettings.from_config(cfg)
    detector = FaceDetector(
        detect_size=s.detect_size, min_face_px=s.min_side_px, device=s.device, cascade=cascade
    )
    images = PHashIndex(cfg.PHASH_DISTANCE_MAX)
    images.add_many([int(r.phash, 16) for r in store.records], [r.plan_key for r in store.records])
    captions = CaptionIndex()
    for r in store.records:
        captions.add(r.text, r.plan_key)
    for o in todo:
        item = plan_item(cfg, cities, o.bucket, o.k)
        verdict = check_stored(str(o.path), s, detector)
        if isinstance(verdict, Candidate):
            if captions.find(item.text) is not None:
                verdict = "repeats an accepted caption"
            elif images.find(verdict.phash):
                verdict = "is a near duplicate of an accepted image"
        if isinstance(verdict, str):
            store.quarantine(o.path, f"not adopted: the image {verdict}")
            lines.append(f"{o.path}: not adopted (the image {verdict}); moved to quarantine/")
            continue
        record = build_record(
            cfg, item, verdict, None, backend, store.relative_image_name(o.bucket, o.path.name)
        )
        store.append_record(record)
        images.add(verdict.phash, item.plan_key)
        captions.add(item.text, item.plan_key)
        lines.append(f"{o.path}: image without a record adopted as {item.plan_key} (checked again)")
    store.orphans = []
    return lines
