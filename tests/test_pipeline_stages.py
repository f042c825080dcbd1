"""The pipeline's pure stages on their own: plan sequence, vision chain, decision, records."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from generator.backends.composite import render_composite
from generator.config import BUCKETS, load_config
from generator.pipeline import (
    MAX_REJECTS_IN_A_ROW,
    REASONS,
    Action,
    Outcome,
    build_record,
    decide,
    plan_sequence,
    rejection_entry,
)
from generator.plan import plan_item
from generator.text.datelines import load_cities
from generator.vision.dedup import CaptionIndex, PHashIndex
from generator.vision.faces import FaceDetector
from generator.vision.process import Candidate, Reject, RejectReason, VisionSettings, process


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(detect_size=512, min_face_px=110)


@pytest.fixture(scope="module")
def item():
    cfg = load_config(cli={"BACKEND": "composite", "SEED": 5}, env={})
    return plan_item(cfg, load_cities(None), "origin", 0)


def test_reject_reasons_keep_their_stored_strings():
    assert REASONS == (
        "faces",
        "quality",
        "ocr",
        "duplicate_image",
        "duplicate_caption",
        "refused",
        "failed",
    )
    assert [str(r) for r in RejectReason] == list(REASONS)
    assert RejectReason("ocr") is RejectReason.OCR


def test_plan_sequence_fills_gaps_first_and_follows_the_live_counts():
    targets = {"origin": 2, "text_attribute": 1, "text_swap": 0}
    accepted = dict.fromkeys(BUCKETS, 0)
    used = {b: set() for b in BUCKETS}
    used["origin"].add(0)
    seq = plan_sequence(targets, accepted, used)
    assert next(seq) == ("text_attribute", 0)  # origin/0 is used, text_swap needs nothing
    accepted["text_attribute"] = 1  # the sequence reads the counts as they change
    assert next(seq) == ("origin", 1)
    assert next(seq) == ("origin", 2)
    accepted["origin"] = 2
    assert next(seq, None) is None


def _candidate(phash: int) -> Candidate:
    return Candidate(jpeg=b"x", boxes=[[1, 2, 3, 4]], probs=[0.99], phash=phash)


def test_decide_accepts_rejects_duplicates_and_skips_unfinished(item):
    captions, images = CaptionIndex(), PHashIndex(3)
    fresh = Outcome(item, candidate=_candidate(0xF0F0))
    assert decide(fresh, captions, images, 0).action is Action.ACCEPT
    images.add(0xF0F1, "origin/9")  # one bit away: a near duplicate
    v = decide(fresh, captions, images, 0)
    assert (v.action, v.reason, v.stop) == (Action.REJECT, RejectReason.DUPLICATE_IMAGE, None)
    captions.add(item.text, "text_swap/3")  # the caption wins over the image
    assert decide(fresh, captions, images, 0).reason is RejectReason.DUPLICATE_CAPTION
    unfinished = Outcome(item, budget_stop=True)
    assert decide(unfinished, captions, images, 0).action is Action.SKIP
    # a candidate finished before the budget ran out is still judged
    done = Outcome(item, candidate=_candidate(0x1), budget_stop=True)
    assert decide(done, CaptionIndex(), PHashIndex(3), 0).action is Action.ACCEPT
    refused = Outcome(item, reason=RejectReason.REFUSED)
    assert decide(refused, captions, images, 0).reason is RejectReason.REFUSED
    assert decide(Outcome(item), captions, images, 0).reason is RejectReason.FAILED


def test_decide_stops_the_run_at_the_rejection_limit(item):
    out = Outcome(item, reason=RejectReason.FACES)
    assert decide(out, CaptionIndex(), PHashIndex(3), MAX_REJECTS_IN_A_ROW - 2).stop is None
    stop = decide(out, CaptionIndex(), PHashIndex(3), MAX_REJECTS_IN_A_ROW - 1).stop
    assert stop is not None and str(MAX_REJECTS_IN_A_ROW) in stop


def test_records_carry_the_item_and_the_candidate(item):
    cfg = load_config(cli={"BACKEND": "composite", "SEED": 5}, env={})
    sample = build_record(
        cfg, item, _candidate(0xAB), 2, "composite", "DGM4/origin/generated/0.jpg"
    )
    rec = sample.to_json()
    assert rec["plan_key"] == item.plan_key and rec["text"] == item.text
    assert rec["phash"] == "00000000000000ab" and rec["attempt"] == 2
    assert rec["fake_image_box"] == []  # DGM4's convention: no region edited
    out = Outcome(item, calls=2, attempt_reasons=[RejectReason.FACES, RejectReason.QUALITY])
    entry = rejection_entry(out, RejectReason.QUALITY, "composite").to_json()
    assert entry["reason"] == "quality" and entry["attempt_reasons"] == ["faces", "quality"]
    assert type(entry["reason"]) is str


def test_process_accepts_a_person_and_rejects_bad_bytes_and_no_face(detector):
    s = VisionSettings()
    good = render_composite(3, "origin/0", 0, 1, "a lava lake under two suns", fault_rate=0.0)
    cand = process(good.png, "medium shot", detector, s)
    assert isinstance(cand, Candidate), cand
    with Image.open(io.BytesIO(cand.jpeg)) as im:
        assert im.format == "JPEG" and im.size == (s.post_w, s.post_h)
    assert 1 <= len(cand.boxes) <= 3 and cand.probs[0] >= s.min_prob
    assert process(b"not an image", "medium shot", detector, s) == Reject(RejectReason.FAILED)
    buf = io.BytesIO()
    Image.new("RGB", (1024, 1024), (40, 90, 160)).save(buf, format="PNG")
    assert process(buf.getvalue(), "wide shot", detector, s) == Reject(RejectReason.FACES)


def test_process_is_deterministic(detector):
    img = render_composite(4, "origin/1", 0, 2, "the surface of the moon", fault_rate=0.0).png
    a = process(img, "wide shot", detector, VisionSettings())
    b = process(img, "wide shot", detector, VisionSettings())
    assert a == b


def _count_ocr(monkeypatch) -> list[int]:
    """Wrap the real readable_words to count its runs."""
    from generator.vision import ocr

    calls: list[int] = []
    real = ocr.readable_words

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ocr, "readable_words", counted)
    return calls


def test_strict_mode_reads_a_clean_image_once(detector, monkeypatch):
    calls = _count_ocr(monkeypatch)
    img = render_composite(3, "origin/0", 0, 1, "a lava lake under two suns", fault_rate=0.0).png
    cand = process(img, "medium shot", detector, VisionSettings(strict_no_text=True))
    assert isinstance(cand, Candidate)
    assert len(calls) == 1
    # the one check read the stored JPEG: it is the same file the candidate carries
    plain = process(img, "medium shot", detector, VisionSettings())
    assert isinstance(plain, Candidate) and cand.jpeg == plain.jpeg and cand.phash == plain.phash


def test_strict_mode_blurs_a_sign_until_the_stored_jpeg_reads_clean(detector, monkeypatch):
    from generator.vision.ocr import readable_words

    s = VisionSettings(strict_no_text=True, ocr_max_passes=2)
    signed = [
        render_composite(
            11, f"origin/{k}", 0, 1, "a snowy glacier", fault_rate=0.0, signage_rate=1.0
        ).png
        for k in range(6)
    ]
    results = [process(png, "wide shot", detector, s) for png in signed]
    blurred = 0
    for png, res in zip(signed, results, strict=True):
        if isinstance(res, Reject):
            assert res.reason is RejectReason.OCR
            continue
        with Image.open(io.BytesIO(res.jpeg)) as im:
            assert readable_words(im.convert("RGB"), res.boxes, conf_thresh=60, scale=2) == []
        plain = process(png, "wide shot", detector, VisionSettings())
        blurred += isinstance(plain, Candidate) and plain.jpeg != res.jpeg
    assert blurred >= 1  # at least one sign was readable, blurred, and re-checked clean
    calls = _count_ocr(monkeypatch)
    process(signed[0], "wide shot", detector, VisionSettings(strict_no_text=True, ocr_max_passes=0))
    assert len(calls) == 1  # no blur pass allowed: one check, no re-check


def test_vision_shares_one_detector_built_by_warm_up():
    import threading

    from generator.vision.process import Vision

    vision = Vision(VisionSettings())
    vision.warm_up()
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(vision.detector())) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 3 and all(d is seen[0] for d in seen)
