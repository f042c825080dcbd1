"""Export a store in the DGM4 layout that HAMMER's loader reads.

Layout (``<out>`` is HAMMER's ``datasets/`` folder as it is: its configs read
``datasets/DGM4/metadata/{train,val,test}.json`` and join ``image`` onto ``datasets/``)::

    <out>/
      DGM4/metadata/train.json                     JSON lists of records (DGM4 splits:
      DGM4/metadata/val.json                        train / val / test), ASCII-escaped so
      DGM4/metadata/test.json                       they read under any locale
      DGM4/origin/generated/<id>.jpg               images, hard-linked from the store
      DGM4/manipulation/text_attribute/<id>.jpg    (copied when a link is impossible,
      DGM4/manipulation/text_swap/<id>.jpg          e.g. across file systems)

Each record holds DGM4's keys: ``id``, ``image`` (always starting with ``DGM4/``, whatever the
store folder is called), ``text``, ``fake_cls`` (a string), ``fake_image_box``, ``fake_text_pos``
and ``mtcnn_boxes``. A sample is in the same split as in the ``datasets`` builder (the split is a
function of its id). HAMMER joins ``image`` onto its data root, so point it at ``<out>``.
HAMMER opens the JSON with ``open(f, 'r')``, i.e. in the locale's encoding: the files are pure
ASCII (``\\uXXXX`` escapes), so they load the same under a Windows code page as under UTF-8.

Before anything is written every record is checked the way HAMMER will use it: each
``fake_text_pos`` index must name a word of ``pre_caption(text, 50)`` and ``fake_image_box`` must
be ``[]`` or lie inside the image (``generator.schema.Sample``), and each image must decode whole
at the store's size. The tree is built in a
temporary sibling folder and renamed into place.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generator.errors import UsageError
from generator.release.export import check_out_folder
from generator.release.replace import install_folder, sweep, work_folder
from generator.schema import (
    DEFAULT_FAKE_IMAGE_BOX,
    DGM4_KEYS,
    FAKE_IMAGE_BOX_CHOICES,
    Sample,
    SampleRules,
    released_image_box,
)
from generator.split_check import warn_empty_splits
from generator.splits import DGM4_SPLIT_FILES, SPLITS, check_ratios, split_of
from generator.store_reader import (
    image_path,
    load_samples,
    resolve_store,
    store_rules,
    verify_image,
)

MARKER = ".dgm4plus-dgm4-export.json"
DGM4_ROOT = "DGM4"
#: The split files' folder inside ``<out>``: HAMMER's configs name ``DGM4/metadata/<split>.json``.
METADATA_DIR = f"{DGM4_ROOT}/metadata"


def _check_out(out: Path, root: Path) -> None:
    check_out_folder(out, root, "export-dgm4", (out / MARKER).is_file(), "DGM4 export")


def _link_or_copy(src: Path, dst: Path) -> str:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
        return "link"
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EACCES):
            raise
    shutil.copy2(src, dst)
    return "copy"


def dgm4_record(
    root: Path,
    sample: Sample,
    rules: SampleRules,
    origin_as: str = "origin",
    fake_image_box: str = DEFAULT_FAKE_IMAGE_BOX,
) -> dict[str, Any]:
    """The DGM4 form of a stored sample (the schema checked its spans and boxes against the
    store's POST_W x POST_H; the image is checked here to decode whole at that size)."""
    verify_image(root, sample, rules)
    rel = image_path(root, sample).relative_to(root).as_posix()
    fake_cls = origin_as if sample.fake_cls == "origin" else sample.fake_cls
    box = released_image_box(sample, fake_image_box, rules)
    return sample.to_dgm4(f"{DGM4_ROOT}/{rel}", fake_cls, box)


def export_dgm4(
    data_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    split_ratios: tuple[float, float, float] | None = None,
    origin_as: str = "origin",
    fake_image_box: str = DEFAULT_FAKE_IMAGE_BOX,
) -> Path:
    """Write the DGM4-layout tree of the store at ``data_dir`` to ``out``; return ``out``.

    ``origin_as="orig"`` writes DGM4's own name for the literal class, for tools that treat
    ``orig`` as "not manipulated" (DGM4+ keeps ``origin``: its images are manipulated scenes).
    """
    if origin_as not in ("origin", "orig"):
        raise UsageError(f"export-dgm4: origin_as must be 'origin' or 'orig', got {origin_as!r}")
    if fake_image_box not in FAKE_IMAGE_BOX_CHOICES:
        raise UsageError(
            f"export-dgm4: fake_image_box must be one of {', '.join(FAKE_IMAGE_BOX_CHOICES)}, "
            f"got {fake_image_box!r}"
        )
    ratios = check_ratios(split_ratios)
    root = resolve_store(data_dir)
    rules = store_rules(root)
    samples = load_samples(root, rules)
    out_path = Path(out).expanduser()
    out_path = out_path if out_path.is_absolute() else Path.cwd() / out_path
    sweep(out_path)  # an interrupted export: its old folder back in place, its work folders gone
    _check_out(out_path, root)

    converted = [  # all checks first
        (s, dgm4_record(root, s, rules, origin_as, fake_image_box)) for s in samples
    ]
    by_split: dict[str, list[dict[str, Any]]] = {name: [] for name in SPLITS}
    for sample, row in converted:
        by_split[split_of(sample.id, ratios)].append(row)
    warn_empty_splits(((s.fake_cls, s.id) for s in samples), ratios, "export-dgm4")

    tmp = work_folder(out_path)
    try:
        modes = {"link": 0, "copy": 0}
        for sample, row in converted:
            modes[_link_or_copy(image_path(root, sample), tmp / row["image"])] += 1
        meta = tmp / METADATA_DIR
        meta.mkdir(parents=True)
        for split, rows in by_split.items():
            body = json.dumps(rows, ensure_ascii=True, indent=1)
            (meta / DGM4_SPLIT_FILES[split]).write_text(body + "\n", encoding="ascii")
        marker = {
            "format": 2,  # 2: metadata/ inside DGM4/ (HAMMER's datasets/ layout)
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "store": root.name,
            "split_ratios": list(ratios),
            "counts": {split: len(rows) for split, rows in by_split.items()},
            "images": modes,
            "origin_as": origin_as,
            "fake_image_box": fake_image_box,
        }
        (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        install_folder(tmp, out_path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_path


__all__ = ["DGM4_KEYS", "MARKER", "METADATA_DIR", "dgm4_record", "export_dgm4"]
