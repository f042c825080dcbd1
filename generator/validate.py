"""`dgm4plus validate DIR`: read-only audit of a store. Returns one line per problem."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from PIL import Image

from generator.config import BUCKETS
from generator.errors import UsageError
from generator.store import (
    MANIFEST,
    METADATA_JSON,
    METADATA_JSONL,
    load_runs,
    read_jsonl,
)
from generator.text.grammar import headline_problems
from generator.text.tokenize import dgm4_words, hammer_span_problems
from generator.vision.dedup import PHashIndex, phash64

MAX_LISTED = 200


def _image_size(root: Path) -> tuple[int, int]:
    try:
        manifest = json.loads((root / MANIFEST).read_text())
        return int(manifest["POST_W"]), int(manifest["POST_H"])
    except (OSError, ValueError, KeyError):
        return 400, 256


def _phash_distance(root: Path) -> int:
    runs = load_runs(root)
    if runs:
        return int(runs[-1].get("config", {}).get("PHASH_DISTANCE_MAX", 3))
    return 3


def _check_span(r: dict[str, Any]) -> str | None:
    pos = r.get("fake_text_pos")
    if not isinstance(pos, list) or not all(isinstance(i, int) for i in pos):
        return "fake_text_pos is not a list of integers"
    n = len(dgm4_words(r["text"]))
    if pos != sorted(set(pos)):
        return f"fake_text_pos {pos} is not strictly increasing"
    if any(i < 0 or i >= min(n, 50) for i in pos):
        return f"fake_text_pos {pos} points past the caption's {n} DGM4 words"
    if r["fake_cls"] == "origin" and pos:
        return "an origin caption must have no fake_text_pos"
    if r["fake_cls"] != "origin" and not pos:
        return f"a {r['fake_cls']} caption needs fake_text_pos"
    return None


def _headline_body(r: dict[str, Any]) -> str:
    """The caption without its dateline and separator."""
    text, dateline = r["text"], r.get("dateline") or ""
    for sep in (" — ", ": "):
        if dateline and text.startswith(dateline + sep):
            return text[len(dateline) + len(sep):]
    return text


def _box_inside(box: Any, w: int, h: int) -> bool:
    return (isinstance(box, list) and len(box) == 4 and all(isinstance(v, int) for v in box)
            and 0 <= box[0] < box[2] <= w and 0 <= box[1] < box[3] <= h)


def validate_store(root: Path) -> list[str]:
    root = Path(root)
    meta = root / METADATA_JSONL
    if not meta.exists():
        raise UsageError(f"{root}: no {METADATA_JSONL} (not a dgm4plus store)")
    problems: list[str] = []
    records, torn = read_jsonl(meta, repair=False)
    if torn:
        problems.append(f"{meta}: torn last line (a run crashed mid-write; `generate` repairs it)")
    w, h = _image_size(root)
    referenced: set[Path] = set()
    index = PHashIndex(_phash_distance(root))
    ids: Counter = Counter(r.get("id") for r in records)
    texts: Counter = Counter(r.get("text") for r in records)
    for r in records:
        key = r.get("plan_key", f"id {r.get('id')}")
        image = r.get("image", "")
        rel = Path(image)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts or rel.parts[0] != root.name:
            problems.append(f"{key}: image path {image!r} must start with {root.name}/ and stay inside it")
            continue
        if r.get("fake_cls") not in BUCKETS:
            problems.append(f"{key}: fake_cls {r.get('fake_cls')!r} unknown")
            continue
        if rel.parts[1:-1] != tuple(BUCKETS[r["fake_cls"]][1].split("/")):
            problems.append(f"{key}: image {image} is not in the {r['fake_cls']} folder")
        path = root.parent / rel
        referenced.add(path.resolve())
        try:
            with Image.open(path) as im:
                im.load()
                if im.size != (w, h):
                    problems.append(f"{key}: image is {im.size[0]}x{im.size[1]}, expected {w}x{h}")
                hsh = phash64(im.convert("RGB"))
        except FileNotFoundError:
            problems.append(f"{key}: image {image} is missing")
            continue
        except Exception as exc:  # noqa: BLE001 - any decode error is a broken image
            problems.append(f"{key}: image {image} does not decode ({type(exc).__name__})")
            continue
        for other, dist in index.find(hsh):
            problems.append(f"{key}: image within pHash distance {dist} of {other}")
        index.add(hsh, key)
        if ids[r.get("id")] > 1:
            problems.append(f"{key}: id {r.get('id')} is not unique")
        if texts[r.get("text")] > 1:
            problems.append(f"{key}: caption is not unique: {r.get('text')!r}")
        span = _check_span(r)
        if span:
            problems.append(f"{key}: {span}")
        else:  # token level: the labels HAMMER's BERT tokenizer will really see
            problems.extend(f"{key}: HAMMER tokens: {p}" for p in hammer_span_problems(r["text"], r["fake_text_pos"]))
        body = _headline_body(r)
        for problem in headline_problems(body):
            problems.append(f"{key}: caption {problem}: {r['text']!r}")
        if r.get("fake_image_box") != [0, 0, w, h] and not _box_inside(r.get("fake_image_box"), w, h):
            problems.append(f"{key}: fake_image_box {r.get('fake_image_box')} is not inside the image")
        boxes = r.get("mtcnn_boxes")
        if not isinstance(boxes, list) or not all(_box_inside(b, w, h) for b in boxes):
            problems.append(f"{key}: mtcnn_boxes {boxes} not inside the image")
    for bucket, (_, folder) in BUCKETS.items():
        d = root / folder
        if d.is_dir():
            for p in sorted(d.iterdir()):
                if p.resolve() not in referenced:
                    problems.append(f"{p}: orphan file ({bucket}) with no record")
    snap = root / METADATA_JSON
    try:
        snapshot = json.loads(snap.read_text())
        if snapshot != records:
            problems.append(f"{snap}: differs from {METADATA_JSONL} ({len(snapshot)} vs {len(records)} records)")
    except FileNotFoundError:
        problems.append(f"{snap}: missing")
    except json.JSONDecodeError as exc:
        problems.append(f"{snap}: not valid JSON ({exc.msg})")
    if len(problems) > MAX_LISTED:
        problems = [*problems[:MAX_LISTED], f"... and {len(problems) - MAX_LISTED} more"]
    return problems
