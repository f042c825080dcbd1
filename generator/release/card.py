"""The dataset card (README.md) of a DGM4+ release, generated from the data.

The YAML front matter is what the Hugging Face Hub and ``datasets`` read: licence, task
categories, size category, ``configs`` (Parquet files per split per config; ``all`` is the
default) and ``dataset_info`` (features and split sizes per config, written by ``datasets`` itself
so that ``load_dataset`` restores the exact features). The body explains the dataset to someone
who has never seen the project; every number in it is computed from the exported rows and from the
last generation run in ``runs.jsonl``.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import datasets
import yaml
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCardData

from generator.errors import UsageError
from generator.meta import CLASS_NAMES, CONFIG_NAMES, DEFAULT_CONFIG
from generator.schema import dgm4plus_features
from generator.splits import SPLITS
from generator.text.tokenize import DGM4_MAX_WORDS, dgm4_words

DEFAULT_LICENSE = "cc-by-nc-4.0"
PRETTY_NAME = "DGM4+ (DGM4 extension for global scene inconsistency)"
# Task ids from the Hub's fixed list; kept to long-standing ones that validate-yaml accepts.
TASK_CATEGORIES = ["image-classification", "text-classification", "zero-shot-image-classification"]
TAGS = [
    "multimodal",
    "misinformation",
    "media-manipulation",
    "manipulation-detection",
    "dgm4",
    "hammer",
    "synthetic",
    "news",
]
CONTACT_SHEET = "images/contact_sheet.jpg"

_LICENSE_RE = re.compile(r"^[a-z0-9][a-z0-9.\-+]*$")

#: Every builder feature, explained. A test checks that no feature goes undocumented.
FIELD_DOCS: dict[str, str] = {
    "id": "Sample id: `ID_OFFSET + class index × 10^8 + k` (k = plan index), so ids never collide "
    "with DGM⁴'s own. The split is a pure function of it.",
    "image": "The news photo: JPEG bytes embedded in the Parquet files (400×256 by default), "
    "decoded to a PIL image on access.",
    "text": "The caption shown with the image: a news-style headline with a dateline.",
    "fake_cls": "Class label: `origin`, `text_attribute` or `text_swap` (see the taxonomy).",
    "fake_text_pos": "Indices of the manipulated caption words, in HAMMER's tokenization (see "
    "below). Empty for `origin`.",
    "fake_image_box": "Manipulated image region `[x1, y1, x2, y2]` in pixels, DGM⁴'s convention: "
    "`[]` when no region was edited, as in every DGM⁴+ class (the inconsistency is global, person "
    "vs. backdrop; HAMMER then uses a zero box). A release exported with `--fake-image-box full` "
    "carries the whole frame `[0, 0, W, H]` instead, for global grounding.",
    "mtcnn_boxes": "Face boxes `[x1, y1, x2, y2]` (pixels, in the final image) found by MTCNN.",
    "plan_key": "`<class>/<k>`: the plan item that produced the sample. With `seed` it "
    "reproduces the scene, prompt and caption exactly.",
    "literal_text": "The literal caption of the scene the image was generated for. Equal to "
    "`text` for `origin`; the un-manipulated caption for the other two classes.",
    "backdrop": "The backdrop requested in the prompt (e.g. *a corridor of suspended stardust*).",
    "backdrop_kind": "`absurd` (an impossible place, the point of the dataset) or `realistic` "
    "(a place that fits the role and event; only when `MISPLACED_BG_RATE` < 1).",
    "shot": "Shot type requested: wide shot, medium shot or close-up (it also steers the crop).",
    "lighting": "Lighting requested in the prompt.",
    "dateline": "`CITY, Country` of the caption's dateline. A made-up reporting location: "
    "nothing happened there.",
    "role": "The person's role (nurse, referee, politician, ...).",
    "event": "What the person is doing (a newsworthy action).",
    "prompt": "The full prompt sent to the image model.",
    "num_people": "Number of people asked for (1–3). The image can differ; `mtcnn_boxes` is "
    "what was detected.",
    "phash": "64-bit perceptual hash of the image (16 hex digits), used to drop near-duplicates.",
    "face_probs": "MTCNN probability of each face, in the order of `mtcnn_boxes`.",
    "backend": "`openai` (the image model below) or `composite` (offline test backend).",
    "model": "Image model, e.g. `gpt-image-1`.",
    "quality": "Image quality setting of the model (`low`, `medium`, `high`).",
    "seed": "Run seed. Every random choice of a sample is drawn from (seed, class, k).",
}

TAXONOMY = [
    (
        "origin",
        "orig",
        "a realistic person in an absurd (mismatched) backdrop",
        "literal headline describing the scene, backdrop clause included",
        "empty",
    ),
    (
        "text_attribute",
        "(new class)",
        "same kind of image",
        'literal headline + an affective add-on ("…, looking visibly anxious")',
        "the add-on words",
    ),
    (
        "text_swap",
        "(new class)",
        "same kind of image",
        "an unrelated headline (another subject, action or place)",
        "the swapped words",
    ),
]

WORKED_EXAMPLES = [
    "NAIROBI, Kenya — Two beekeepers inspect hives at a mountain apiary.",
    "HANOI, Vietnam: A mayor greets supporters in a mid-air library, looking visibly anxious.",
]


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` bucket for ``n`` examples."""
    bounds = [
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
        (100_000_000, "10M<n<100M"),
        (1_000_000_000, "100M<n<1B"),
    ]
    for upper, label in bounds:
        if n < upper:
            return label
    return "n>1T" if n >= 10**12 else "1B<n<10B"


def check_license(license: str) -> str:
    if not isinstance(license, str) or not _LICENSE_RE.match(license):
        raise UsageError(
            f"license: expected a Hub licence id such as cc-by-nc-4.0, got {license!r}"
        )
    return license


@dataclass
class CardInputs:
    """Everything the card is computed from."""

    #: config -> split -> number of rows (only non-empty splits)
    split_counts: dict[str, dict[str, int]]
    #: config -> DatasetInfo of the exported Parquet (features, split sizes, download size)
    infos: dict[str, datasets.DatasetInfo]
    #: columns of every row of the ``all`` config (``image`` left out)
    columns: dict[str, list[Any]]
    #: the runs of ``runs.jsonl`` summed up (:func:`summarize_runs`; ``None`` if there is none)
    run: dict[str, Any] | None
    #: the contact sheet's examples, in the order drawn
    picks: list[dict[str, Any]] = field(default_factory=list)
    license: str = DEFAULT_LICENSE
    pretty_name: str = PRETTY_NAME
    repo_id: str | None = None
    split_ratios: Sequence[float] = (0.8, 0.1, 0.1)
    runs_count: int = 0


def summarize_runs(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Statistics of every generate run added up; knobs and stop reason of the last run."""
    if not runs:
        return None
    total: dict[str, Any] = dict(runs[-1])
    for key in ("calls", "accepted", "regenerations", "estimated_cost_usd", "seconds"):
        total[key] = sum(r.get(key) or 0 for r in runs)
    if isinstance(total.get("estimated_cost_usd"), float):
        total["estimated_cost_usd"] = round(total["estimated_cost_usd"], 4)
    for key in ("rejected", "attempts_rejected"):
        merged: dict[str, int] = {}
        for r in runs:
            for reason, n in (r.get(key) or {}).items():
                merged[reason] = merged.get(reason, 0) + int(n)
        total[key] = merged
    return total


# ----------------------------------------------------------------------------------------------
# Front matter


def front_matter(inp: CardInputs) -> dict[str, Any]:
    total = sum(inp.split_counts.get(DEFAULT_CONFIG, {}).values())
    configs = []
    for name in CONFIG_NAMES:
        splits = inp.split_counts.get(name, {})
        if not splits:
            continue
        entry: dict[str, Any] = {"config_name": name}
        if name == DEFAULT_CONFIG:
            entry["default"] = True
        entry["data_files"] = [
            {"split": split, "path": f"data/{name}/{split}-*.parquet"}
            for split in SPLITS
            if splits.get(split)
        ]
        configs.append(entry)
    card_data = DatasetCardData()
    DatasetInfosDict(
        {name: inp.infos[name] for name in CONFIG_NAMES if name in inp.infos}
    ).to_dataset_card_data(card_data)
    info_yaml = card_data.to_dict()["dataset_info"]
    return {
        "license": inp.license,
        "language": ["en"],
        "pretty_name": inp.pretty_name,
        "task_categories": list(TASK_CATEGORIES),
        "tags": list(TAGS),
        "size_categories": [size_category(total)],
        "annotations_creators": ["machine-generated"],
        "language_creators": ["machine-generated"],
        "multilinguality": ["monolingual"],
        "source_datasets": ["original"],
        "configs": configs,
        "dataset_info": info_yaml,
    }


# ----------------------------------------------------------------------------------------------
# Body helpers


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def feature_type(feature: Any) -> str:
    """A short, human type name for a ``datasets`` feature."""
    if isinstance(feature, datasets.Value):
        return feature.dtype
    if isinstance(feature, datasets.Image):
        return "image"
    if isinstance(feature, datasets.ClassLabel):
        return "class label (" + ", ".join(f"{i} = {n}" for i, n in enumerate(feature.names)) + ")"
    if isinstance(feature, datasets.List):
        inner = feature_type(feature.feature)
        return f"list[{inner}; {feature.length}]" if feature.length != -1 else f"list[{inner}]"
    return type(feature).__name__


def _pct(n: int, total: int) -> str:
    return f"{100.0 * n / total:.1f}%" if total else "–"


def _counter_rows(counter: Counter, total: int) -> list[list[Any]]:
    return [
        [k if k is not None else "(missing)", n, _pct(n, total)] for k, n in counter.most_common()
    ]


def compute_stats(columns: Mapping[str, list[Any]]) -> dict[str, Any]:
    """Statistics of the ``all`` rows: classes, shots, backdrops, faces, caption lengths."""
    names = dgm4plus_features()["fake_cls"].names
    classes = [names[c] if isinstance(c, int) else c for c in columns.get("fake_cls", [])]
    lengths = [len(dgm4_words(t)) for t in columns.get("text", [])]
    raw_lengths = [len(str(t).split()) for t in columns.get("text", [])]
    faces = [len(b or []) for b in columns.get("mtcnn_boxes", [])]
    boxes = Counter(tuple(b) for b in columns.get("fake_image_box", []) if b)
    return {
        "total": len(classes),
        "classes": Counter(classes),
        "shot": Counter(columns.get("shot", [])),
        "backdrop_kind": Counter(columns.get("backdrop_kind", [])),
        "faces": Counter(faces),
        "num_people": Counter(columns.get("num_people", [])),
        "backend": Counter(columns.get("backend", [])),
        "model": Counter(columns.get("model", [])),
        "quality": Counter(columns.get("quality", [])),
        "caption_words": (
            (min(lengths), statistics.fmean(lengths), max(lengths)) if lengths else (0, 0.0, 0)
        ),
        "caption_tokens": (
            (min(raw_lengths), statistics.fmean(raw_lengths), max(raw_lengths))
            if raw_lengths
            else (0, 0.0, 0)
        ),
        "over_limit": sum(1 for n in lengths if n >= DGM4_MAX_WORDS),
        "image_boxes": boxes,
    }


def _public_knob(name: str, value: Any) -> Any:
    """A knob as the card shows it: paths reduced to their last part (no local folders)."""
    if name in ("OUT_ROOT", "CITY_DATA_PATH") and isinstance(value, str) and value:
        return value.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return value


def _worked_example(text: str) -> str:
    words = dgm4_words(text)
    header = ["index"] + [str(i) for i in range(len(words))]
    row = ["word"] + [f"`{w}`" for w in words]
    return f"Caption: *{text}*\n\n" + _table(header, [row])


# ----------------------------------------------------------------------------------------------
# The card


def render_card(inp: CardInputs) -> str:
    check_license(inp.license)
    fm = yaml.safe_dump(front_matter(inp), sort_keys=False, allow_unicode=True, width=1000)
    stats = compute_stats(inp.columns)
    features = dgm4plus_features()
    total = stats["total"]
    counts = inp.split_counts
    repo = inp.repo_id or "<org>/<name>"
    parts: list[str] = ["---", fm.rstrip("\n"), "---", ""]
    add = parts.append

    add("# DGM⁴+: people in impossible places, under news captions\n")
    add(
        "DGM⁴+ is a benchmark for **detecting and grounding multimodal news manipulation**. Each "
        "sample pairs a photo-realistic news picture with a news-style caption. The pictures show "
        "realistic people (politicians, nurses, referees, ...) doing something newsworthy, but "
        "standing in *absurd, impossible backdrops*: a corridor of suspended stardust, a desert of "
        "melting clocks. This **global scene inconsistency** is what DGM⁴+ adds to DGM⁴ "
        "(Shao et al., CVPR 2023), whose manipulations are local (a swapped face, an edited "
        "attribute). The captions are either literal, or manipulated in the DGM⁴ way, and every "
        "sample carries DGM⁴'s labels (`fake_cls`, `fake_image_box`, `fake_text_pos`, "
        "`mtcnn_boxes`), so detectors built for DGM⁴, HAMMER first among them, run on it "
        "unchanged.\n"
    )
    add(
        f"This release holds **{total:,} samples** in three classes, offered as four "
        "configurations (`origin`, `text_attribute`, `text_swap`, and `all`, the default) with "
        "train / validation / test splits. Every image is synthetic, and so is every person "
        "in it.\n"
    )
    if stats["backend"].get("composite"):
        add(
            "> **Warning: test data.** "
            f"{stats['backend']['composite']:,} of these samples were made by the offline "
            "`composite` backend (pasted cut-outs on drawn backdrops). They exist to test the "
            "pipeline and tools, and are not research data.\n"
        )

    add("## Quick start\n")
    add(
        "```python\nfrom datasets import load_dataset\n\n"
        f'ds = load_dataset("{repo}", "text_swap")          # from the Hub\n'
        '# ds = load_dataset("path/to/this/folder", "text_swap")  # from a local copy\n'
        'row = ds["train"][0]\n'
        'row["image"]          # PIL image\n'
        'row["text"]           # caption\n'
        'row["fake_text_pos"]  # indices of the manipulated words (see below)\n'
        'ds["train"].features["fake_cls"].int2str(row["fake_cls"])  # "text_swap"\n```\n'
    )
    add(
        "No code of ours runs when you load it: the data are plain Parquet files and this card "
        "declares their features.\n"
    )

    add("## Taxonomy\n")
    add(
        _table(
            ["config / `fake_cls`", "DGM⁴ name", "image", "caption", "`fake_text_pos` marks"],
            [[f"`{a}`", b, c, d, e] for a, b, c, d, e in TAXONOMY],
        )
        + "\n"
    )
    add(
        "The image is manipulated in **every** class: the person does not belong in the backdrop. "
        "What varies is the caption. `origin` describes the scene literally (backdrop included), "
        "so "
        "the inconsistency is visible only in the picture; `text_attribute` adds an emotional "
        "claim the picture does not support; `text_swap` replaces the headline with one about "
        "something else entirely. The `all` configuration holds the three classes together.\n"
    )

    add("## Configurations and splits\n")
    rows = []
    for name in CONFIG_NAMES:
        per = counts.get(name, {})
        rows.append(
            [f"`{name}`"] + [f"{per.get(s, 0):,}" for s in SPLITS] + [f"{sum(per.values()):,}"]
        )
    add(_table(["config", *SPLITS, "total"], rows) + "\n")
    ratios = ", ".join(f"{s} {r:g}" for s, r in zip(SPLITS, inp.split_ratios, strict=True))
    add(
        f"Splits are assigned from the sample id alone ({ratios}): the id is hashed with SHA-256, "
        "mapped to a number in [0, 1) and compared with the cumulative ratios. A sample therefore "
        "keeps its split when the dataset grows, and the same id is in the same split in every "
        "configuration and in the DGM⁴-format export.\n"
    )

    add("## Fields\n")
    add(
        _table(
            ["field", "type", "meaning"],
            [[f"`{n}`", feature_type(f), FIELD_DOCS.get(n, "")] for n, f in features.items()],
        )
        + "\n"
    )

    add("### How `fake_text_pos` counts words\n")
    add(
        "`fake_text_pos` does **not** index `text.split()`. It indexes the words of HAMMER's "
        "`pre_caption(text, max_words=50)`, the normalisation DGM⁴'s reference detector applies "
        "before it reads a caption:\n\n"
        "1. lowercase;\n"
        "2. delete the characters `, . ' ! ? \" ( ) * # : ; ~`;\n"
        "3. replace `-` and `/` by a space (so *mid-air* is two words);\n"
        "4. collapse runs of spaces, strip the ends, split on spaces;\n"
        f"5. keep the first {DGM4_MAX_WORDS} words.\n\n"
        "Characters outside that list stay, so the em dash after a dateline is a word of its own. "
        "A `text_swap` example, whose `fake_text_pos` is `[3, 4, 5, 6, 7, 8, 9, 10]` (the whole "
        "swapped headline after the dateline):\n"
    )
    add(_worked_example(WORKED_EXAMPLES[0]) + "\n")
    ex2 = WORKED_EXAMPLES[1]
    words2 = dgm4_words(ex2)
    addon = [i for i, w in enumerate(words2) if w in ("looking", "visibly", "anxious")]
    add(
        "A `text_attribute` example with a colon dateline (deleted) and a hyphen (split). Its "
        f"add-on *looking visibly anxious* is `fake_text_pos = {addon}`; a plain whitespace split "
        "would be off by one here:\n"
    )
    add(_worked_example(ex2) + "\n")
    add(
        f"In this release every index is below {DGM4_MAX_WORDS} and captions have "
        f"{stats['caption_words'][0]}–{stats['caption_words'][2]} words; "
        f"{stats['over_limit']} caption(s) reach the {DGM4_MAX_WORDS}-word limit.\n"
    )

    add("### Relation to DGM⁴\n")
    add(
        "The fields `id`, `image`, `text`, `fake_cls`, `fake_image_box`, `fake_text_pos` and "
        "`mtcnn_boxes` follow DGM⁴'s metadata. Two differences matter:\n\n"
        "* **`origin` ↔ `orig`.** DGM⁴ spells its pristine class `orig`, and HAMMER treats any "
        "other `fake_cls` as fake. DGM⁴+ keeps the name `origin` because its `origin` images are "
        "*not* pristine: the caption is literal, but the scene itself is a foreground–background "
        "mismatch. Map `origin` to `orig` if you want HAMMER's binary label to mean \"caption is "
        'faithful"; keep it as its own class if you want the scene inconsistency detected.\n'
        "* **`fake_image_box`** is DGM⁴'s `[]` (no region edited) in every class, because the "
        "manipulation is global: no region is the edited one (DGM⁴'s boxes mark a swapped face "
        "or an edited attribute); a release exported with `--fake-image-box full` carries the "
        "whole frame `[0, 0, W, H]` instead.\n\n"
        "Sample ids start at 10⁹ so they never collide with DGM⁴'s ids. The generator can also "
        "write a DGM⁴-layout tree (`metadata/train.json`, `val.json`, `test.json` and images under "
        "`DGM4/...`) with the same splits, which HAMMER's loader reads as is.\n"
    )

    add("## Statistics\n")
    add("Computed from the rows of this release (configuration `all`, every split).\n")
    add("**Samples per class and split**\n")
    rows = []
    for name in CLASS_NAMES:
        per = counts.get(name, {})
        n = sum(per.values())
        rows.append(
            [f"`{name}`"] + [f"{per.get(s, 0):,}" for s in SPLITS] + [f"{n:,}", _pct(n, total)]
        )
    add(_table(["class", *SPLITS, "total", "share"], rows) + "\n")
    add("**Shot types**\n")
    add(_table(["shot", "samples", "share"], _counter_rows(stats["shot"], total)) + "\n")
    add("**Backdrop kinds**\n")
    add(
        _table(["backdrop", "samples", "share"], _counter_rows(stats["backdrop_kind"], total))
        + "\n"
    )
    add("**Faces per image** (MTCNN detections, `len(mtcnn_boxes)`)\n")
    face_rows = [[k, n, _pct(n, total)] for k, n in sorted(stats["faces"].items())]
    add(_table(["faces", "samples", "share"], face_rows) + "\n")
    lo, mean, hi = stats["caption_words"]
    tlo, tmean, thi = stats["caption_tokens"]
    add("**Caption length**\n")
    add(
        _table(
            ["counted as", "min", "mean", "max"],
            [
                ["HAMMER words (`pre_caption`)", lo, f"{mean:.1f}", hi],
                ["whitespace tokens", tlo, f"{tmean:.1f}", thi],
            ],
        )
        + "\n"
    )
    add("**Image sources**\n")
    add(_table(["backend", "samples", "share"], _counter_rows(stats["backend"], total)) + "\n")
    add(
        "Models: "
        + ", ".join(f"`{m}` ({n:,})" for m, n in stats["model"].most_common())
        + "; quality: "
        + ", ".join(f"`{q}` ({n:,})" for q, n in stats["quality"].most_common())
        + ".\n"
    )
    if stats["image_boxes"]:
        ((box, _),) = stats["image_boxes"].most_common(1)
        add(f"Images are {box[2]}×{box[3]} pixels (the size `fake_image_box` spans).\n")

    add("## Examples\n")
    add(f"![Contact sheet: three examples of each class]({CONTACT_SHEET})\n")
    if inp.picks:
        add("One row per class, left to right; red words are the ones `fake_text_pos` marks.\n")
        ex_rows = []
        for p in inp.picks:
            marked = [
                w
                for i, w in enumerate(dgm4_words(p["text"]))
                if i in set(p.get("fake_text_pos") or [])
            ]
            ex_rows.append(
                [f"`{p['fake_cls']}`", p["id"], p["text"], " ".join(marked) if marked else "–"]
            )
        add(_table(["class", "id", "caption", "marked words"], ex_rows) + "\n")

    add("## How it was generated\n")
    run = inp.run or {}
    knobs = {k: _public_knob(k, v) for k, v in (run.get("config") or {}).items()}
    gen_size = knobs.get("GEN_SIZE", "1024x1024").replace("x", "×")
    post = f"{knobs.get('POST_W', 400)}×{knobs.get('POST_H', 256)}"
    add(
        "For each sample a planner, seeded by (run seed, class, k), picks a role, an event, a "
        "backdrop (absurd with probability `MISPLACED_BG_RATE`), a shot type and lighting, and "
        "writes a prompt asking for 1–3 people with clear faces in a photojournalistic style with "
        f"no readable text. The image model renders it at {gen_size}. MTCNN face detection gates "
        "the result (number of faces, confidence, face size, level eyes) and a failed image is "
        "regenerated up to `MAX_REGEN_ATTEMPTS` times. The image is cropped around the faces, "
        f"according to the shot type, to {post}; optionally readable text is blurred away (OCR). "
        "Near-duplicate images (pHash) and duplicate captions are dropped. Captions are written "
        "locally (no language model): a dateline, then a headline built from the plan, then the "
        "class-specific manipulation, with its word positions computed on HAMMER's "
        "tokenization.\n"
    )
    if knobs:
        add(
            f"Generation ran {inp.runs_count} time(s) (`runs.jsonl`: a run stopped or "
            "interrupted is resumed by the next); the statistics below add up every run, the "
            f"knobs are those of the last: model **{knobs.get('GEN_MODEL')}**, quality "
            f"**{knobs.get('GEN_QUALITY')}**, backend **{knobs.get('BACKEND')}**, seed "
            f"**{knobs.get('SEED')}**.\n"
        )
        summary = []
        for key in ("calls", "accepted", "regenerations", "estimated_cost_usd", "stopped_by"):
            if key in run:
                summary.append([key, "–" if run[key] is None else run[key]])
        if isinstance(run.get("rejected"), Mapping):
            for reason, n in run["rejected"].items():
                summary.append([f"rejected: {reason}", n])
        if summary:
            add(_table(["run statistic", "value"], summary) + "\n")
        add("Every knob of that run:\n")
        add(
            _table(
                ["knob", "value"],
                [[f"`{k}`", f"`{v}`" if v is not None else "–"] for k, v in knobs.items()],
            )
            + "\n"
        )
    else:
        add("The store holds no run record (`runs.jsonl`), so its parameters are not listed.\n")

    add("## Limitations and ethics\n")
    add(
        "* **Synthetic people, no real names.** Every person is generated by an image model; "
        'captions name roles ("a nurse"), never real people. Any resemblance to a real person is '
        "accidental. Datelines are real city names used as decoration: nothing shown happened "
        "there.\n"
        "* **Absurd by design.** The backdrops are meant to be impossible. A detector trained here "
        "learns scene inconsistency; it does not learn what real news photos look like, nor what "
        "real manipulation campaigns do.\n"
        "* **Generated text is templated.** Captions come from a small grammar; their vocabulary "
        "and "
        "structure are narrower than real headlines, and models can exploit that.\n"
        "* **Model biases.** The image model's notions of who is a nurse or a politician carry its "
        "training biases (gender, age, ethnicity, dress); the dataset inherits them.\n"
        "* **Automatic labels.** Face boxes come from MTCNN and can miss or invent faces; the OCR "
        "scrub (when on) can miss text.\n"
        "* **`composite`-backend samples are for testing only.** They are cut-outs pasted on drawn "
        "backdrops, made offline to exercise the pipeline; do not train or report on them.\n"
        "* **Intended use:** research on detecting and grounding multimodal manipulation. Not for "
        "making misleading media."
        + (" The licence does not allow commercial use." if "-nc" in inp.license else "")
        + "\n"
    )

    add("## License\n")
    add(
        f"Released under `{inp.license}`. Images were generated with the model named in `model`; "
        "its provider's terms apply to their use as well.\n"
    )

    add("## Citation\n")
    add("If you use DGM⁴+, cite DGM⁴ and DGM⁴+:\n")
    add(
        "```bibtex\n"
        "@inproceedings{shao2023dgm4,\n"
        "  title={Detecting and Grounding Multi-Modal Media Manipulation},\n"
        "  author={Shao, Rui and Wu, Tianxing and Liu, Ziwei},\n"
        "  booktitle={Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern "
        "Recognition (CVPR)},\n"
        "  year={2023}\n"
        "}\n\n"
        "@inproceedings{2025dgm4plus,\n"
        "  title={DGM$^4$+: A Dataset Extension for Global Scene Inconsistency},\n"
        "  booktitle={},\n"
        "  year={2025}\n"
        "}\n"
        "```\n"
    )
    return "\n".join(parts)


__all__ = [
    "DEFAULT_LICENSE",
    "FIELD_DOCS",
    "CardInputs",
    "check_license",
    "compute_stats",
    "front_matter",
    "render_card",
    "size_category",
]
