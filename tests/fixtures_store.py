"""Build small, real DGM4+ stores for tests and benchmarks.

``make_store(parent, per_bucket=N)`` writes ``parent/<name>/`` the way the generator does: JPEG
images (400x256, drawn with Pillow) in ``origin/generated/``, ``manipulation/text_attribute/`` and
``manipulation/text_swap/``, ``metadata.jsonl`` (one record a line), ``metadata.json`` (the same
records as a list) and ``runs.jsonl`` (one run with every knob). Captions are assembled from parts
whose word positions are computed with a reference copy of HAMMER's ``pre_caption``, so every
record's ``fake_text_pos`` is known to mark exactly the words listed in ``FixtureStore.marked``.
Some captions carry hyphens (which HAMMER splits into two words) and colon datelines, so code
that tokenizes differently from HAMMER gets caught.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from generator.config import BUCKETS, Config
from generator.schema import Sample, SampleRules

WIDTH, HEIGHT = 400, 256
ID_OFFSET = 1_000_000_000
RUN_SEED = 123456789

CITIES = [
    ("NAIROBI", "Kenya"),
    ("LAGOS", "Nigeria"),
    ("OSLO", "Norway"),
    ("LIMA", "Peru"),
    ("HANOI", "Vietnam"),
    ("PORTO", "Portugal"),
    ("CUSCO", "Peru"),
]
ROLES = ["nurse", "referee", "politician", "firefighter", "chef", "teacher", "mayor"]
EVENTS = ["holds a briefing", "signs an agreement", "answers questions", "greets supporters"]
ABSURD = [
    "a corridor of suspended stardust",
    "a mid-air library of floating books",
    "a desert of melting clocks",
    "a cathedral made of ice cream",
    "an ocean of paper lanterns",
]
REALISTIC = ["a hospital corridor", "a city council chamber", "a stadium tunnel"]
ADDONS = [
    "looking visibly anxious",
    "appearing deeply ashamed",
    "seemingly furious",
    "visibly over-the-moon",
]
SWAPS = [
    "Two beekeepers inspect hives at a mountain apiary",
    "Fishermen haul nets onto a storm-battered pier",
    "A choir rehearses inside an empty subway station",
    "Volunteers plant saplings along a dry riverbed",
]
SHOTS = ["wide shot", "medium shot", "close-up"]
LIGHTING = ["overcast daylight", "golden hour", "harsh noon sun", "studio softbox"]


def pre_caption(caption: str, max_words: int = 50) -> str:
    """HAMMER's caption normalisation (reference copy for tests)."""
    caption = re.sub(r"([,.'!?\"()*#:;~])", "", caption.lower())
    caption = caption.replace("-", " ").replace("/", " ")
    caption = re.sub(r"\s{2,}", " ", caption)
    caption = caption.rstrip("\n").strip(" ")
    words = caption.split(" ")
    if len(words) > max_words:
        caption = " ".join(words[:max_words])
    return caption


def hammer_words(caption: str) -> list[str]:
    text = pre_caption(caption)
    return text.split(" ") if text else []


@dataclass
class FixtureStore:
    root: Path
    records: list[dict]
    #: id -> the HAMMER words that ``fake_text_pos`` is meant to mark
    marked: dict[int, list[str]] = field(default_factory=dict)

    def by_bucket(self, bucket: str) -> list[dict]:
        return [r for r in self.records if r["fake_cls"] == bucket]


def _compose(parts: list[tuple[str, bool]]) -> tuple[str, list[int], list[str]]:
    """Join caption parts; return the text, the HAMMER indices of marked parts and their words."""
    text = ""
    positions: list[int] = []
    for part, marked in parts:
        before = len(hammer_words(text))
        text += part
        after = len(hammer_words(text))
        if marked:
            positions.extend(range(before, after))
    words = hammer_words(text)
    return text, positions, [words[i] for i in positions]


def _draw_image(path: Path, rng: np.random.Generator, faces: int) -> list[list[int]]:
    """A gradient backdrop with a few shapes and ``faces`` face-like ovals; returns their boxes."""
    top = rng.integers(0, 256, size=3)
    bottom = rng.integers(0, 256, size=3)
    t = np.linspace(0.0, 1.0, HEIGHT)[:, None, None]
    grad = (top[None, None, :] * (1 - t) + bottom[None, None, :] * t).astype(np.uint8)
    img = Image.fromarray(np.repeat(grad, WIDTH, axis=1), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x, y = int(rng.integers(0, WIDTH - 40)), int(rng.integers(0, HEIGHT - 40))
        w, h = int(rng.integers(20, 120)), int(rng.integers(20, 90))
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        draw.rectangle([x, y, min(WIDTH - 1, x + w), min(HEIGHT - 1, y + h)], fill=colour)
    boxes = []
    slot = WIDTH // faces
    for i in range(faces):
        fw = int(rng.integers(40, min(90, slot - 10)))
        fh = int(fw * 1.25)
        x1 = i * slot + int(rng.integers(0, slot - fw))
        y1 = int(rng.integers(10, HEIGHT - fh - 10))
        box = [x1, y1, x1 + fw, y1 + fh]
        draw.ellipse(box, fill=(226, 190, 160), outline=(90, 60, 40), width=2)
        ex = fw // 4
        draw.ellipse([x1 + ex, y1 + fh // 3, x1 + ex + 6, y1 + fh // 3 + 6], fill=(30, 30, 30))
        draw.ellipse(
            [x1 + fw - ex - 6, y1 + fh // 3, x1 + fw - ex, y1 + fh // 3 + 6], fill=(30, 30, 30)
        )
        draw.arc(
            [x1 + ex, y1 + fh // 2, x1 + fw - ex, y1 + fh - 8], 20, 160, fill=(120, 40, 40), width=2
        )
        boxes.append(box)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=88)
    return boxes


def _record(bucket_index: int, bucket: str, k: int, name: str, folder: str, base: Path, seed: int):
    sample_id = ID_OFFSET + bucket_index * 100_000_000 + k
    rng = np.random.default_rng([seed, bucket_index, k])
    city, country = CITIES[int(rng.integers(len(CITIES)))]
    sep = " — " if rng.random() < 0.7 else ": "
    dateline = f"{city}, {country}"
    role = ROLES[int(rng.integers(len(ROLES)))]
    event = EVENTS[int(rng.integers(len(EVENTS)))]
    absurd = rng.random() < 0.85
    backdrop = (ABSURD if absurd else REALISTIC)[
        int(rng.integers(len(ABSURD if absurd else REALISTIC)))
    ]
    shot = SHOTS[int(rng.integers(len(SHOTS)))]
    lighting = LIGHTING[int(rng.integers(len(LIGHTING)))]
    num_people = int(rng.integers(1, 4))
    literal = f"{dateline}{sep}A {role} {event} in {backdrop}."
    if bucket == "origin":
        text, positions, words = _compose([(literal, False)])
    elif bucket == "text_attribute":
        addon = ADDONS[int(rng.integers(len(ADDONS)))]
        text, positions, words = _compose(
            [
                (f"{dateline}{sep}A {role} {event} in {backdrop}", False),
                (f", {addon}", True),
                (".", False),
            ]
        )
    else:
        swap = SWAPS[int(rng.integers(len(SWAPS)))]
        text, positions, words = _compose([(f"{dateline}{sep}", False), (swap, True), (".", False)])
    rel = f"{name}/{folder}/{sample_id}.jpg"
    boxes = _draw_image(base / rel, rng, num_people)
    digest = hashlib.sha256(str(sample_id).encode()).hexdigest()
    sample = Sample(
        id=sample_id,
        image=rel,
        text=text,
        fake_cls=bucket,
        fake_image_box=(),  # DGM4's convention: no image region was edited
        fake_text_pos=tuple(positions),
        mtcnn_boxes=tuple((b[0], b[1], b[2], b[3]) for b in boxes),
        plan_key=f"{bucket}/{k}",
        literal_text=literal,
        backdrop=backdrop,
        backdrop_kind="absurd" if absurd else "realistic",
        shot=shot,
        lighting=lighting,
        dateline=dateline,
        role=role,
        event=event,
        num_people=num_people,
        prompt=(
            f"A news photograph of {num_people} {role}(s) who {event} in {backdrop}; {shot}, "
            f"{lighting}; clear faces, photojournalism style, no readable text."
        ),
        phash=digest[:16],
        face_probs=tuple(round(0.95 + 0.01 * i, 3) for i in range(num_people)),
        backend="composite",
        model="composite",  # what the composite backend records (see CompositeBackend.model)
        quality="low",
        seed=RUN_SEED,
        attempt=int(k % 2),
    )
    # Through the schema's own parser: a fixture record is a valid stored record by construction.
    rules = SampleRules(store_name=name)
    return Sample.from_json(sample.to_json(), where=("fixture", k), rules=rules).to_json(), words


def make_store(
    parent: Path, per_bucket: int = 4, name: str = "DGM4", seed: int = 7
) -> FixtureStore:
    """Write a store with ``per_bucket`` samples in each of the three buckets under ``parent``."""
    parent = Path(parent)
    root = parent / name
    root.mkdir(parents=True, exist_ok=True)
    records: list[dict] = []
    marked: dict[int, list[str]] = {}
    # Interleave buckets, as a concurrent run would append them.
    for k in range(per_bucket):
        for bucket_index, (bucket, (_, folder)) in enumerate(BUCKETS.items()):
            record, words = _record(bucket_index, bucket, k, name, folder, parent, seed)
            records.append(record)
            marked[record["id"]] = words
    with open(root / "metadata.jsonl", "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    (root / "metadata.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    cfg = Config(
        OUT_ROOT=root,
        SEED=RUN_SEED,
        TARGET_LITERAL=per_bucket,
        TARGET_INV_EMO=per_bucket,
        TARGET_IRRELEV=per_bucket,
        BACKEND="composite",
    )
    run = {
        "finished": "2025-01-01T00:05:00+00:00",
        "seconds": 300.0,
        "backend": "composite",
        "calls": 3 * per_bucket + 2,
        "accepted": 3 * per_bucket,
        "rejected": {"faces": 2, "quality": 0, "ocr": 0},
        "regenerations": 2,
        "estimated_cost_usd": 0.0,
        "stopped_by": None,
        "config": cfg.public_dict(),
    }
    (root / "runs.jsonl").write_text(json.dumps(run) + "\n", encoding="utf-8")
    manifest = {
        "SEED": RUN_SEED,
        "ID_OFFSET": ID_OFFSET,
        "POST_W": WIDTH,
        "POST_H": HEIGHT,
        "format": 1,
    }
    (root / "store.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return FixtureStore(root=root, records=records, marked=marked)


def write_records(root: Path, records: list[dict]) -> None:
    """Rewrite ``metadata.jsonl`` and ``metadata.json`` of a store with ``records``."""
    with open(root / "metadata.jsonl", "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    (root / "metadata.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
