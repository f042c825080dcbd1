"""CPU milliseconds per image of every pipeline stage, on composite images.

Run from the repository root:

    .venv/bin/python bench/bench_stages.py [--images 20] [--repeats 2]
        [--detect-sizes none 768 512 384 320 256]
        [--tuned 320@0.8 256@0.8 256@0.8f0.6 256f0.6t0.7,0.8 256@0.8f0.6t0.7,0.8 ...]

Images: ``--images`` composites drawn by ``CompositeBackend`` (fault_rate 0, so 1-3 people, as
the plan asks) for the first plan items of a composite config.  Every stage is timed with the
calling thread's CPU clock (``time.thread_time``; for OCR the tesseract child's CPU is added),
torch on one thread, the same way the pipeline's worker threads run it.  MTCNN settings are
interleaved image by image (each image goes through every setting before the next image), and
each image is timed ``--repeats`` times per setting keeping the fastest, so a shared machine's
drift hits every setting alike.

MTCNN settings are ``SIZE[@MARGIN][fFACTOR][tP,R[,O]]``: ``FaceDetector(detect_size=SIZE)``
(``none`` = full resolution) with ``MIN_FACE_MARGIN`` = MARGIN (default: the class's own, 0.6),
MTCNN's pyramid factor FACTOR (default: facenet's 0.709) and its P-Net / R-Net / O-Net score
thresholds (default 0.6, 0.7, 0.7).  The pyramid's
first level is ``detection side x 12 / min_face_size``: with the default margin it is the same
size at every detect_size, which is why detect_size alone barely changes the cost.
"""

from __future__ import annotations

import argparse
import base64
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchutil import (  # noqa: E402
    SETTING_HELP,
    ThreadCPU,
    code_line,
    machine_line,
    make_detector,
    median,
    parse_setting,
    percentile,
    pyramid,
    save,
    table,
)


def stats_row(name: str, secs: list[float], note: str = "") -> list[object]:
    ms = [s * 1000 for s in secs]
    return [name, f"{median(ms):.1f}", f"{percentile(ms, 90):.1f}", len(ms), note]


def run(args: argparse.Namespace) -> str:
    import torch
    from PIL import Image

    torch.set_num_threads(1)

    from generator.backends.base import CallBudget, ImageRequest
    from generator.backends.composite import CompositeBackend, encode_png
    from generator.backends.openai_backend import _decode_image
    from generator.config import BUCKETS, load_config
    from generator.imaging import encode_jpeg
    from generator.plan import plan_item
    from generator.text.datelines import load_cities
    from generator.vision.crop import crop_for_shot
    from generator.vision.dedup import phash64
    from generator.vision.faces import face_gate
    from generator.vision.ocr import scrub_text

    cfg = load_config(cli={"BACKEND": "composite", "SEED": args.seed}, env={})
    cities = load_cities(None)
    backend = CompositeBackend(CallBudget(None), fault_rate=0.0, signage_rate=args.signage_rate)
    buckets = list(BUCKETS)
    items = [plan_item(cfg, cities, buckets[i % 3], i // 3) for i in range(args.images)]

    def request(item) -> ImageRequest:
        return ImageRequest(
            prompt=item.prompt,
            plan_key=item.plan_key,
            seed=cfg.SEED,
            attempt=0,
            num_people=item.num_people,
            backdrop=item.backdrop,
            backdrop_kind=item.backdrop_kind,
        )

    backend.render(request(items[0]))  # warm-up: decodes the source photos once (cached)

    settings = []
    for text in [*args.detect_sizes, *args.tuned, "none", "512"]:
        s = parse_setting(text)
        if s.label not in {x.label for x in settings}:
            settings.append(s)
    detectors = {s.label: make_detector(s) for s in settings}
    full_label, fast_label = "none", "512"

    t: dict[str, list[float]] = {
        k: [] for k in ("draw", "png0", "png1", "b64", "gate", "crop", "ocr", "phash", "jpeg")
    }
    det_t: dict[str, list[float]] = {s.label: [] for s in settings}
    decisions: dict[str, list[tuple]] = {s.label: [] for s in settings}
    ocr_wall: list[float] = []
    decoded: list = []
    size = None
    for n, item in enumerate(items):
        req = request(item)
        with ThreadCPU() as c:
            pic = backend.render(req)
        t["draw"].append(c.seconds)
        if n == 0:  # warm-up of the lazily imported stages (imagehash, pytesseract)
            phash64(Image.new("RGB", (400, 256)))
        png1 = encode_png(Image.open(io.BytesIO(pic.png)).convert("RGB"), 1)
        b64 = base64.b64encode(png1).decode()
        for key, data in (("png0", pic.png), ("png1", png1)):
            best = float("inf")
            for _ in range(args.repeats):
                with ThreadCPU() as c, Image.open(io.BytesIO(data)) as im:
                    img = im.convert("RGB")
                best = min(best, c.seconds)
            t[key].append(best)
        best = float("inf")
        for _ in range(args.repeats):
            with ThreadCPU() as c:
                _decode_image(b64)
            best = min(best, c.seconds)
        t["b64"].append(best)
        size = img.size
        decoded.append(img)

        faces_by = {}
        for s in settings:  # interleaved: every setting on this image before the next image
            det = detectors[s.label]
            if n == 0:
                det.detect(img)  # warm-up (first call allocates)
            best = float("inf")
            for _ in range(args.repeats):
                with ThreadCPU() as c:
                    faces = det.detect(img)
                best = min(best, c.seconds)
            det_t[s.label].append(best)
            faces_by[s.label] = faces
            g = face_gate(
                faces,
                img.size,
                min_faces=cfg.MIN_FACES,
                max_faces=cfg.MAX_FACES,
                min_prob=cfg.min_prob,
                min_side_px=cfg.min_side_px,
                max_eye_tilt_deg=cfg.MAX_EYE_TILT_DEG,
            )
            decisions[s.label].append((g.ok, g.reason, len(g.faces)))

        faces = faces_by[fast_label]
        with ThreadCPU() as c:
            gate = face_gate(
                faces,
                img.size,
                min_faces=cfg.MIN_FACES,
                max_faces=cfg.MAX_FACES,
                min_prob=cfg.min_prob,
                min_side_px=cfg.min_side_px,
                max_eye_tilt_deg=cfg.MAX_EYE_TILT_DEG,
            )
        t["gate"].append(c.seconds)
        boxes = [f.box for f in (gate.faces or faces)]
        with ThreadCPU() as c:
            cropped, cboxes = crop_for_shot(img, boxes, item.shot, cfg.POST_W, cfg.POST_H)
        t["crop"].append(c.seconds)
        with ThreadCPU() as c:
            scrub_text(cropped, cboxes, conf_thresh=cfg.TEXT_CONF_THRESH, scale=2, max_passes=1)
        t["ocr"].append(c.seconds)
        ocr_wall.append(c.wall)
        with ThreadCPU() as c:
            phash64(cropped)
        t["phash"].append(c.seconds)
        with ThreadCPU() as c:
            encode_jpeg(cropped, 92)
        t["jpeg"].append(c.seconds)
        print(f"image {n + 1}/{len(items)} done", file=sys.stderr)

    split = mtcnn_split([s for s in settings if s.label in args.split], detectors, decoded)

    # -- per-stage table -------------------------------------------------------------------
    rows = [
        stats_row(
            "composite drawing (render_composite, incl. PNG level-0 encode)",
            t["draw"],
            "offline backend only; the fake server draws with png_level=1",
        ),
        stats_row(
            "PNG decode, level 0 (composite backend's bytes)",
            t["png0"],
            "Image.open + convert('RGB'), 1024x1024",
        ),
        stats_row("PNG decode, level 1 (fake server's bytes)", t["png1"], "ditto"),
        stats_row(
            "OpenAI backend: base64 decode + full PIL verify",
            t["b64"],
            "_decode_image, per call, before the pipeline decodes again",
        ),
        stats_row(f"MTCNN fast (detect_size={fast_label})", det_t[fast_label], "FaceDetector(512)"),
        stats_row(
            "MTCNN full resolution (detect_size=None)", det_t[full_label], "FaceDetector(None)"
        ),
        stats_row("face_gate", t["gate"], "default knobs"),
        stats_row("crop_for_shot (LANCZOS to 400x256)", t["crop"], "plan's shot"),
        stats_row(
            "OCR scrub_text (scale 2, tesseract psm 11)",
            t["ocr"],
            f"own CPU + tesseract child CPU; wall median {median(ocr_wall) * 1000:.0f} ms; "
            "only with STRICT_NO_TEXT",
        ),
        stats_row("pHash (phash64 on 400x256)", t["phash"], ""),
        stats_row("JPEG encode q92 optimize (400x256)", t["jpeg"], "encode_jpeg"),
    ]
    pipeline_keys = ("png1", "b64", "gate", "crop", "phash", "jpeg")
    per_image = sum(median(t[k]) for k in pipeline_keys) + median(det_t[fast_label])
    per_image_ocr = per_image + median(t["ocr"])
    speedup = median(det_t[full_label]) / median(det_t[fast_label])

    # -- MTCNN sweep -------------------------------------------------------------------------
    full_med = median(det_t[full_label])
    sweep = []
    for s in settings:
        det = detectors[s.label]
        first, levels = pyramid(det, size)
        same = sum(a == b for a, b in zip(decisions[s.label], decisions[full_label], strict=True))
        same_ok = sum(
            a[0] == b[0] for a, b in zip(decisions[s.label], decisions[full_label], strict=True)
        )
        ms = [x * 1000 for x in det_t[s.label]]
        sweep.append(
            [
                s.label,
                "full" if s.detect_size is None else s.detect_size,
                f"{det.MIN_FACE_MARGIN:g}",
                f"{det.factor:g}",
                ",".join(f"{x:g}" for x in det.thresholds),
                f"{det.min_face_size(size):.1f}",
                f"{first} px / {levels}",
                f"{median(ms):.1f}",
                f"{percentile(ms, 90):.1f}",
                f"{full_med * 1000 / median(ms):.2f}x",
                f"{same_ok}/{len(items)}",
                f"{same}/{len(items)}",
            ]
        )

    accepted = sum(d[0] for d in decisions[full_label])
    lines = [
        "# CPU time per image, stage by stage (composite images)",
        "",
        f"{len(items)} composite images, 1024x1024, 1-3 people (CompositeBackend, fault_rate 0, "
        f"signage_rate {args.signage_rate}), plan seed {args.seed}; thread CPU time, torch 1 "
        f"thread, fastest of {args.repeats} per image for the decode and MTCNN rows. "
        f"{machine_line()}; {code_line()}.",
        "",
        table(["stage", "median ms", "p90 ms", "n", "note"], rows, "lrrrl"),
        "",
        f"**MTCNN speed-up, detect_size=512 vs full resolution: {speedup:.2f}x** (goal >= 3x).",
        "",
        f"Pipeline CPU per image (openai backend, OCR off: b64 verify + PNG decode + MTCNN "
        f"512 + gate + crop + pHash + JPEG, sum of medians): **{per_image * 1000:.0f} ms**; "
        f"with the OCR scrub on: {per_image_ocr * 1000:.0f} ms. On 2 cores that caps the "
        f"pipeline near {2 / per_image:.1f} images/s ({2 / per_image_ocr:.1f} with OCR).",
        "",
        "## MTCNN settings",
        "",
        "`SIZE@MARGINfFACTORtP,R` = `FaceDetector(detect_size=SIZE)` with "
        "`MIN_FACE_MARGIN=MARGIN` (min_face_size = 110 x scale x margin, floor 12), MTCNN's "
        "pyramid factor FACTOR (default 0.709) and P-Net / R-Net thresholds (default 0.6 / "
        "0.7; O-Net stays 0.7). First level = the P-Net pyramid's largest image side, levels = "
        "pyramid depth. Decisions: the face gate "
        f"(default knobs) on the same images vs full resolution ({accepted}/{len(items)} "
        "accepted at full resolution); 'all equal' also compares the reason and the face count. "
        "A small sample: bench_gate_agreement.py checks 200 images with faults.",
        "",
        table(
            [
                "setting",
                "detect_size",
                "margin",
                "factor",
                "thresholds",
                "min_face_size (det px)",
                "first level / levels",
                "median ms",
                "p90 ms",
                "speed-up vs full",
                "accept/reject equal",
                "all equal",
            ],
            sweep,
        ),
        "",
        "## Where MTCNN's time goes",
        "",
        "One more pass over the same images, with the thread CPU of facenet's `imresample` "
        "(every pyramid level is resampled from the detection image, and every R-Net / O-Net "
        "crop too), P-Net, R-Net and O-Net accumulated per image (median of the per-image sums; "
        "'candidates' = boxes sent to R-Net / O-Net, mean per image). detect_size only shrinks "
        "the resampling: the pyramid, and with it P-Net, R-Net and O-Net, stay the same size "
        "unless min_face_size (margin) or the pyramid factor change.",
        "",
        table(
            [
                "setting",
                "total ms",
                "resample ms",
                "P-Net ms",
                "R-Net ms (candidates)",
                "O-Net ms (candidates)",
                "other ms (NMS, Python)",
            ],
            split,
        ),
        "",
    ]
    return "\n".join(lines)


def mtcnn_split(settings, detectors, images) -> list[list[object]]:
    """Per-setting split of MTCNN's CPU time into resampling, P-Net, R-Net, O-Net, rest."""
    import generator.vision.mtcnn as dfm

    rows = []
    real_resample = dfm._resample
    for s in settings:
        det = detectors[s.label]
        net = det._cascade
        acc: dict[str, float] = {}

        def timed(name, fn, acc=acc):
            def wrapper(*a, **kw):
                t = time.thread_time()
                try:
                    return fn(*a, **kw)
                finally:
                    acc[name] = acc.get(name, 0.0) + time.thread_time() - t
                    if name in ("rnet", "onet"):
                        acc[name + "_n"] = acc.get(name + "_n", 0) + a[0].shape[0]

            return wrapper

        per: dict[str, list[float]] = {
            k: [] for k in ("total", "resample", "pnet", "rnet", "onet", "other")
        }
        cands = {"rnet": 0, "onet": 0}
        dfm._resample = timed("resample", real_resample)
        for name in ("pnet", "rnet", "onet"):
            module = getattr(net, name)
            module.forward = timed(name, module.forward)
        try:
            for img in images:
                acc.clear()
                t = time.thread_time()
                det.detect(img)
                total = time.thread_time() - t
                per["total"].append(total)
                for k in ("resample", "pnet", "rnet", "onet"):
                    per[k].append(acc.get(k, 0.0))
                per["other"].append(
                    total - sum(acc.get(k, 0.0) for k in ("resample", "pnet", "rnet", "onet"))
                )
                for k in cands:
                    cands[k] += acc.get(k + "_n", 0)
        finally:
            dfm._resample = real_resample
            for name in ("pnet", "rnet", "onet"):
                del getattr(net, name).forward  # back to the class's forward
        n = max(1, len(images))
        rows.append(
            [
                s.label,
                f"{median(per['total']) * 1000:.0f}",
                f"{median(per['resample']) * 1000:.0f}",
                f"{median(per['pnet']) * 1000:.0f}",
                f"{median(per['rnet']) * 1000:.0f} ({cands['rnet'] / n:.0f})",
                f"{median(per['onet']) * 1000:.0f} ({cands['onet'] / n:.0f})",
                f"{median(per['other']) * 1000:.0f}",
            ]
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--signage-rate", type=float, default=0.0)
    parser.add_argument(
        "--detect-sizes", nargs="+", default=["none", "768", "512", "384", "320", "256"]
    )
    parser.add_argument(
        "--tuned",
        nargs="*",
        default=[
            "320@0.8",
            "256@0.8",
            "256@0.8f0.6",
            "256f0.6t0.7,0.8",
            "256@0.8f0.6t0.7,0.8",
            "256@1.0f0.6t0.7,0.7",
            "256@0.8f0.6t0.8,0.9",
        ],
        help="extra settings, " + SETTING_HELP,
    )
    parser.add_argument(
        "--split",
        nargs="*",
        default=["none", "512", "256", "256@0.8f0.6", "256@0.8f0.6t0.7,0.8"],
        help="settings whose MTCNN time is split into its parts",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    save("stages", run(args), args.out)


if __name__ == "__main__":
    main()
