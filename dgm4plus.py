"""DGM4+ as a Hugging Face ``datasets`` builder.

DGM4+ extends DGM4 (Shao et al., CVPR 2023) with *global scene inconsistency*: realistic people,
photographed in a news style, standing in absurd backdrops, under news-style captions. The builder
reads a store written by the generator (``DGM4/`` by default: JPEG images plus
``metadata.jsonl``) and emits typed Arrow features. Four configurations exist:

* ``origin`` -- literal captions (DGM4's ``orig`` class; the image is still a composed scene);
* ``text_attribute`` -- literal caption plus an affective add-on marked by ``fake_text_pos``;
* ``text_swap`` -- an unrelated headline, the swapped words marked by ``fake_text_pos``;
* ``all`` -- the three together (the default).

Usage (``datasets`` 4+ no longer runs loading scripts through ``load_dataset``, so the builder is
used directly; a Parquet export made by ``generator.release.export`` loads with plain
``load_dataset(folder, config)``)::

    from dgm4plus import DGM4Plus

    builder = DGM4Plus(config_name="text_swap", data_dir="DGM4")
    builder.download_and_prepare()
    train = builder.as_dataset(split="train")

``generate=True`` first lets the generation pipeline fill the store up to its targets (it resumes
where it stopped): ``DGM4Plus(config_name="all", generate=True, generator_knobs={...})``.

Splits (train / validation / test) are a pure function of each sample's id, so a sample never
changes split when the dataset grows (see ``generator.release.splits``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import datasets

from generator import __version__
from generator.errors import UsageError
from generator.release.splits import DEFAULT_RATIOS, SPLITS, active_splits, check_ratios, split_of
from generator.store import load_records
from generator.text.tokenize import dgm4_words

#: The project's one version (generator/__init__.py); pyproject and --version read it too.
_VERSION = __version__
#: Bump when the rows the builder emits change for the same store (it invalidates old caches).
_SCHEMA_REVISION = "1"

#: ``fake_cls`` names, in ClassLabel order.
CLASS_NAMES: list[str] = ["origin", "text_attribute", "text_swap"]

#: Builder configuration -> the ``fake_cls`` classes it holds.
CONFIG_CLASSES: dict[str, tuple[str, ...]] = {
    "origin": ("origin",),
    "text_attribute": ("text_attribute",),
    "text_swap": ("text_swap",),
    "all": tuple(CLASS_NAMES),
}
CONFIG_NAMES: list[str] = list(CONFIG_CLASSES)
DEFAULT_CONFIG = "all"
DEFAULT_DATA_DIR = "DGM4"

#: Provenance strings copied from the store as they are (missing ones become null).
PROVENANCE_STRINGS = (
    "plan_key",
    "literal_text",
    "backdrop",
    "backdrop_kind",
    "shot",
    "lighting",
    "dateline",
    "role",
    "event",
    "prompt",
)
TRAILING_STRINGS = ("backend", "model", "quality")

_DESCRIPTION = (
    "DGM4+: multimodal news manipulation with global scene inconsistency. Realistic people in "
    "absurd backdrops under news-style captions, in the DGM4 format (fake_cls, fake_image_box, "
    "fake_text_pos, mtcnn_boxes) with generation provenance."
)
_CITATION = """\
@inproceedings{shao2023dgm4,
  title={Detecting and Grounding Multi-Modal Media Manipulation},
  author={Shao, Rui and Wu, Tianxing and Liu, Ziwei},
  booktitle={IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year={2023}
}
@inproceedings{2025dgm4plus,
  title={DGM$^4$+: A Dataset Extension for Global Scene Inconsistency},
  booktitle={},
  year={2025}
}
"""

_CONFIG_DESCRIPTIONS = {
    "origin": "Literal captions that describe the scene (DGM4 'orig'); the image is still absurd.",
    "text_attribute": "Literal caption plus an affective add-on; fake_text_pos marks the add-on.",
    "text_swap": "An unrelated news headline; fake_text_pos marks the swapped words.",
    "all": "All three classes together.",
}


def dgm4plus_features() -> datasets.Features:
    """The one definition of the DGM4+ schema (the export and the card read it from here)."""
    string = datasets.Value("string")
    int32 = datasets.Value("int32")
    box = datasets.List(int32, length=4)
    spec: dict[str, Any] = {
        "id": datasets.Value("int64"),
        "image": datasets.Image(),
        "text": string,
        "fake_cls": datasets.ClassLabel(names=CLASS_NAMES),
        "fake_text_pos": datasets.List(int32),
        "fake_image_box": box,
        "mtcnn_boxes": datasets.List(box),
    }
    for name in PROVENANCE_STRINGS:
        spec[name] = string
    spec["num_people"] = int32
    spec["phash"] = string
    spec["face_probs"] = datasets.List(datasets.Value("float32"))
    for name in TRAILING_STRINGS:
        spec[name] = string
    spec["seed"] = datasets.Value("int64")
    return datasets.Features(spec)


# ----------------------------------------------------------------------------------------------
# Reading the store


def resolve_store(data_dir: str | os.PathLike[str] | None) -> Path:
    """The store folder as an absolute path (a relative one is taken from the current folder)."""
    raw = Path(data_dir if data_dir else DEFAULT_DATA_DIR).expanduser()
    return raw if raw.is_absolute() else Path.cwd() / raw


def store_fingerprint(data_dir: str | os.PathLike[str] | None) -> str:
    """A short hash of where the store is and of its metadata's size and time.

    It keys the ``datasets`` cache, so a store that grew (or another store under the same
    relative name) is never served from an old cache.
    """
    root = resolve_store(data_dir)
    h = hashlib.sha256(f"{_SCHEMA_REVISION}\0{root}\0".encode())
    try:
        st = (root / "metadata.jsonl").stat()
        h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    except OSError:
        h.update(b"no-metadata")
    return h.hexdigest()[:16]


def image_path(root: Path, record: Mapping[str, Any]) -> Path:
    """Where a record's image lies: ``root.parent / record["image"]``, checked to stay in the store.

    ``image`` must be relative and start with the store's own folder name
    (``DGM4/manipulation/text_swap/1200000017.jpg`` for a store named ``DGM4``); an absolute path,
    a ``..`` or a path into another folder is refused.
    """
    raw = record.get("image")
    ident = record.get("id")
    if not isinstance(raw, str) or not raw:
        raise UsageError(f"{root}/metadata.jsonl: record {ident}: 'image' must be a relative path")
    rel = PurePosixPath(raw.replace("\\", "/"))
    if rel.is_absolute() or raw.startswith(("/", "\\")) or (len(raw) > 1 and raw[1] == ":"):
        raise UsageError(
            f"{root}/metadata.jsonl: record {ident}: image path {raw!r} is absolute; "
            f"expected {root.name}/<folder>/<file>"
        )
    if ".." in rel.parts or len(rel.parts) < 2 or rel.parts[0] != root.name:
        raise UsageError(
            f"{root}/metadata.jsonl: record {ident}: image path {raw!r} leaves the store; "
            f"expected {root.name}/<folder>/<file>"
        )
    return root.parent.joinpath(*rel.parts)


def _int_list(value: Any, length: int | None = None) -> bool:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        return False
    return all(isinstance(v, int) and not isinstance(v, bool) for v in value)


def check_record(root: Path, record: dict) -> None:
    """Refuse a record the schema cannot hold, naming the store, the id and the field."""
    where = f"{root}/metadata.jsonl: record {record.get('id')}"
    ident = record.get("id")
    if not isinstance(ident, int) or isinstance(ident, bool):
        raise UsageError(f"{where}: 'id' must be an integer")
    if record.get("fake_cls") not in CLASS_NAMES:
        raise UsageError(
            f"{where}: 'fake_cls' must be one of {', '.join(CLASS_NAMES)}, "
            f"got {record.get('fake_cls')!r}"
        )
    if not isinstance(record.get("text"), str):
        raise UsageError(f"{where}: 'text' must be a string")
    if not _int_list(record.get("fake_text_pos")):
        raise UsageError(f"{where}: 'fake_text_pos' must be a list of integers")
    words = dgm4_words(record["text"])  # what fake_text_pos indexes (HAMMER's pre_caption)
    for i in record["fake_text_pos"]:
        if not 0 <= i < len(words):
            raise UsageError(
                f"{where}: fake_text_pos index {i} is outside the caption's {len(words)} DGM4 words"
            )
    if not _int_list(record.get("fake_image_box"), 4):
        raise UsageError(f"{where}: 'fake_image_box' must be [x1, y1, x2, y2]")
    boxes = record.get("mtcnn_boxes", [])
    if not isinstance(boxes, list) or not all(_int_list(b, 4) for b in boxes):
        raise UsageError(f"{where}: 'mtcnn_boxes' must be a list of [x1, y1, x2, y2]")
    image_path(root, record)


def load_store(root: Path) -> list[dict]:
    """Every record of the store at ``root``, checked, sorted by id (one clear error otherwise)."""
    records = load_records(root)
    if not records:
        raise UsageError(
            f"DGM4+ store {root} has no samples yet (metadata.jsonl is empty); generate some first"
        )
    seen: set[int] = set()
    for record in records:
        check_record(root, record)
        if record["id"] in seen:
            raise UsageError(f"{root}/metadata.jsonl: id {record['id']} appears twice")
        seen.add(record["id"])
    records.sort(key=lambda r: r["id"])
    return records


def to_example(record: Mapping[str, Any], image_bytes: bytes) -> dict[str, Any]:
    """One builder row from one store record, the JPEG's bytes embedded.

    The image is given as bytes alone: ``datasets`` drops the bytes of an image whose ``path``
    names an existing file (relative to the current folder), which would leave rows pointing at
    the store instead of holding the picture.
    """
    example: dict[str, Any] = {
        "id": int(record["id"]),
        "image": image_bytes,
        "text": record["text"],
        "fake_cls": record["fake_cls"],
        "fake_text_pos": list(record["fake_text_pos"]),
        "fake_image_box": list(record["fake_image_box"]),
        "mtcnn_boxes": [list(b) for b in record.get("mtcnn_boxes") or []],
    }
    for name in PROVENANCE_STRINGS:
        example[name] = _opt_str(record.get(name))
    example["num_people"] = record.get("num_people")
    example["phash"] = _opt_str(record.get("phash"))
    example["face_probs"] = [float(p) for p in record.get("face_probs") or []]
    for name in TRAILING_STRINGS:
        example[name] = _opt_str(record.get(name))
    example["seed"] = record.get("seed")
    return example


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


# ----------------------------------------------------------------------------------------------
# The builder


@dataclass
class DGM4PlusConfig(datasets.BuilderConfig):
    """A DGM4+ configuration.

    Attributes:
        data_dir: the store folder (``DGM4``; relative paths are taken from the current folder).
        split_ratios: (train, validation, test) shares; a sample's split follows from its id.
        generate: fill the store with the generation pipeline (resumable) before reading it.
        generator_knobs: generator knobs for ``generate`` (``{"TARGET_IRRELEV": 500, ...}``, the
            names of ``generator.config.Config``); ``OUT_ROOT`` is always ``data_dir``.
        generator_config: a TOML file of knobs for ``generate`` (knobs above override it).
        classes: the ``fake_cls`` classes this configuration holds.
    """

    data_dir: str | None = DEFAULT_DATA_DIR
    split_ratios: tuple[float, float, float] = DEFAULT_RATIOS
    generate: bool = False
    generator_knobs: dict[str, Any] | None = None
    generator_config: str | None = None
    classes: tuple[str, ...] = tuple(CLASS_NAMES)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.split_ratios = check_ratios(self.split_ratios)
        unknown = [c for c in self.classes if c not in CLASS_NAMES]
        if unknown:
            raise UsageError(
                f"classes: unknown class {unknown[0]!r}; known: {', '.join(CLASS_NAMES)}"
            )


class DGM4Plus(datasets.GeneratorBasedBuilder):
    """DGM4+ builder: one store, four configurations, three deterministic splits."""

    VERSION = datasets.Version(_VERSION)
    BUILDER_CONFIG_CLASS = DGM4PlusConfig
    BUILDER_CONFIGS = [
        DGM4PlusConfig(
            name=name,
            version=datasets.Version(_VERSION),
            description=_CONFIG_DESCRIPTIONS[name],
            classes=classes,
        )
        for name, classes in CONFIG_CLASSES.items()
    ]
    DEFAULT_CONFIG_NAME = DEFAULT_CONFIG
    # Rows carry ~20-60 kB of JPEG each: keep Arrow record batches moderate.
    DEFAULT_WRITER_BATCH_SIZE = 100

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The cache is keyed by the store's fingerprint as well as the config, so a store that
        # grew is rebuilt instead of served stale.
        if kwargs.get("hash") is None:
            kwargs["hash"] = store_fingerprint(kwargs.get("data_dir") or DEFAULT_DATA_DIR)
        super().__init__(*args, **kwargs)

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=_DESCRIPTION,
            features=dgm4plus_features(),
            citation=_CITATION,
            license="cc-by-nc-4.0",
        )

    # -- splits ---------------------------------------------------------------------------
    def _store_root(self, dl_manager: Any) -> Path:
        manual = getattr(dl_manager, "manual_dir", None) if dl_manager is not None else None
        return resolve_store(manual or self.config.data_dir)

    def _fill_store(self, root: Path) -> None:
        from generator.config import knob_names, load_config
        from generator.pipeline import fill_store

        by_lower = {name.lower(): name for name in knob_names()}
        knobs: dict[str, Any] = {}
        for key, value in (self.config.generator_knobs or {}).items():
            name = by_lower.get(str(key).lower())
            if name is None:
                raise UsageError(f"generator_knobs: unknown knob {key!r}")
            knobs[name] = value
        if "OUT_ROOT" in knobs and resolve_store(knobs["OUT_ROOT"]) != root:
            raise UsageError(
                f"generator_knobs: OUT_ROOT {knobs['OUT_ROOT']!r} differs from "
                f"data_dir {str(root)!r}"
            )
        knobs["OUT_ROOT"] = str(root)
        cfg = load_config(cli=knobs, env=os.environ, toml_path=self.config.generator_config)
        fill_store(cfg)

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        root = self._store_root(dl_manager)
        if self.config.generate:
            self._fill_store(root)
        ratios = check_ratios(self.config.split_ratios)
        wanted = set(self.config.classes)
        by_split: dict[str, list[dict]] = {name: [] for name in SPLITS}
        for record in load_store(root):
            if record["fake_cls"] in wanted:
                by_split[split_of(record["id"], ratios)].append(record)
        for records in by_split.values():
            for record in records:
                if not image_path(root, record).is_file():
                    raise UsageError(
                        f"{root}/metadata.jsonl: record {record['id']}: image "
                        f"{record['image']!r} is missing"
                    )
        # Only splits that hold samples: `as_dataset()` refuses a declared split with no data,
        # and a small store may leave validation or test empty.
        names = [name for name in active_splits(ratios) if by_split[name]]
        if not names:
            raise UsageError(
                f"{root}: no samples of {', '.join(sorted(wanted))} in the store "
                f"(config {self.config.name!r})"
            )
        return [
            datasets.SplitGenerator(
                name=name, gen_kwargs={"root": str(root), "records": tuple(by_split[name])}
            )
            for name in names
        ]

    def _generate_examples(
        self, root: str, records: tuple[dict, ...]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        store = Path(root)
        for record in records:
            path = image_path(store, record)
            yield int(record["id"]), to_example(record, path.read_bytes())


__all__ = [
    "CLASS_NAMES",
    "CONFIG_CLASSES",
    "CONFIG_NAMES",
    "DGM4Plus",
    "DGM4PlusConfig",
    "dgm4plus_features",
    "image_path",
    "load_store",
    "resolve_store",
    "store_fingerprint",
    "to_example",
]
