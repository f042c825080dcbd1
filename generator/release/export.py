"""Export a store as a self-describing Parquet folder: ``load_dataset(folder, config)`` reads it.

Layout of the export::

    <out>/
      README.md                                   the dataset card (YAML: configs, dataset_info)
      data/<config>/<split>-00000-of-00001.parquet  for config in origin, text_attribute,
                                                    text_swap, all (image bytes embedded)
      images/contact_sheet.jpg                    three examples of each class
      .dgm4plus-export.json                       marks the folder as ours (safe to replace)

Rows are produced by the ``DGM4Plus`` builder (the one definition of the schema) and written
with ``Dataset.to_parquet``; the builder already embeds each JPEG's bytes, so the Parquet files
are self-contained. Everything is written into a temporary sibling folder and renamed into place
at the end: a failure never leaves half an export, and a previous export is replaced only once
the new one is complete.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import datasets

from dgm4plus import DGM4Plus
from generator.errors import UsageError
from generator.meta import CONFIG_NAMES
from generator.release.card import (
    CONTACT_SHEET,
    DEFAULT_LICENSE,
    PRETTY_NAME,
    CardInputs,
    check_license,
    render_card,
    summarize_runs,
)
from generator.release.contact_sheet import make_contact_sheet
from generator.release.replace import install_folder, sweep, temp_folder, work_folder
from generator.schema import DEFAULT_FAKE_IMAGE_BOX, Sample, dgm4plus_features
from generator.split_check import warn_empty_splits
from generator.splits import SPLITS, check_ratios
from generator.store import load_runs
from generator.store_reader import load_samples, resolve_store

MARKER = ".dgm4plus-export.json"
DEFAULT_MAX_SHARD_BYTES = 500 * 1024 * 1024
#: Columns the card's statistics read (images are not needed).
STAT_COLUMNS = (
    "id",
    "fake_cls",
    "text",
    "shot",
    "backdrop_kind",
    "mtcnn_boxes",
    "fake_image_box",
    "num_people",
    "backend",
    "model",
    "quality",
)


def is_export(folder: Path) -> bool:
    """Whether ``folder`` is an export written by this module (and so may be replaced)."""
    return (folder / MARKER).is_file()


def check_out_folder(out: Path, root: Path, command: str, previous: bool, kind: str) -> None:
    """Refuse an --out that is a file, a non-empty folder that is not a previous export of this
    ``kind`` (``previous``), the store itself, a folder around it, or a folder inside it."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{command}: {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not previous:
        raise UsageError(
            f"{command}: {out} is not empty and is not a previous {kind}; "
            "choose another --out or empty it"
        )
    real_out, real_root = out.resolve(), root.resolve()
    if real_root == real_out or real_root.is_relative_to(real_out):
        raise UsageError(f"{command}: {out} would contain the store {root}; choose another --out")
    if real_out.is_relative_to(real_root):
        raise UsageError(f"{command}: {out} is inside the store {root}; choose a folder outside it")


def _check_out(out: Path, root: Path) -> None:
    check_out_folder(out, root, "export", out.is_dir() and is_export(out), "DGM4+ export")


def _write_split(ds: datasets.Dataset, folder: Path, split: str, max_shard_bytes: int) -> int:
    """Write ``ds`` as ``<split>-NNNNN-of-MMMMM.parquet`` shards; return the bytes written."""
    folder.mkdir(parents=True, exist_ok=True)
    num_shards = max(1, math.ceil(ds.data.nbytes / max_shard_bytes))
    size = 0
    for index in range(num_shards):
        shard = ds.shard(num_shards=num_shards, index=index, contiguous=True)
        path = folder / f"{split}-{index:05d}-of-{num_shards:05d}.parquet"
        shard.to_parquet(str(path))
        size += path.stat().st_size
    return size


def _review_counts(root: Path, ids: Sequence[int]) -> dict[str, Any] | None:
    """The review ledger's counts over the released ids and the samples of the store that a
    reviewer rejected (left out of the release, so not among ``ids``); None when nobody reviewed."""
    from generator.reviews import rejected_ids, review_summary
    from generator.store_reader import METADATA_JSONL, read_lines

    released = set(ids)
    # Raw lines: only the stored ids (the released ones were parsed by the builder already).
    stored = {o.get("id") for _, o in read_lines(root / METADATA_JSONL)[0] if isinstance(o, dict)}
    summary = review_summary(root, [*released, *sorted((rejected_ids(root) & stored) - released)])
    return summary.as_dict() if summary.reviewed else None


def _build_into(
    tmp: Path,
    root: Path,
    records: list[Sample],
    ratios: tuple[float, float, float],
    cache_dir: str,
    license: str,
    repo_id: str | None,
    pretty_name: str,
    max_shard_bytes: int,
    fake_image_box: str = DEFAULT_FAKE_IMAGE_BOX,
) -> dict[str, dict[str, int]]:
    features = dgm4plus_features()
    counts: dict[str, dict[str, int]] = {}
    infos: dict[str, datasets.DatasetInfo] = {}
    columns: dict[str, list[Any]] = {c: [] for c in STAT_COLUMNS}
    for name in CONFIG_NAMES:
        builder = DGM4Plus(
            config_name=name,
            data_dir=str(root),
            split_ratios=ratios,
            cache_dir=cache_dir,
            fake_image_box=fake_image_box,
        )
        builder.download_and_prepare()
        split_dict = datasets.SplitDict()
        per: dict[str, int] = {}
        parquet_bytes = 0
        for split in SPLITS:
            if split not in builder.info.splits or not builder.info.splits[split].num_examples:
                continue
            ds = builder.as_dataset(split=split)
            if ds.features != features:  # the builder is the schema; never drift from it
                raise AssertionError(f"{name}/{split}: builder features differ from the schema")
            parquet_bytes += _write_split(ds, tmp / "data" / name, split, max_shard_bytes)
            per[split] = len(ds)
            split_dict.add(
                datasets.SplitInfo(name=split, num_bytes=ds.data.nbytes, num_examples=len(ds))
            )
            if name == "all":
                part = ds.select_columns(list(STAT_COLUMNS)).to_dict()
                for col in STAT_COLUMNS:
                    columns[col].extend(part[col])
        counts[name] = per
        infos[name] = datasets.DatasetInfo(
            features=features,
            splits=split_dict,
            download_size=parquet_bytes,
            dataset_size=sum(s.num_bytes for s in split_dict.values()),
        )
    picks = make_contact_sheet(root, records, tmp / CONTACT_SHEET)
    runs = load_runs(root)
    card = render_card(
        CardInputs(
            split_counts=counts,
            infos=infos,
            columns=columns,
            run=summarize_runs(runs),
            picks=picks,
            license=license,
            pretty_name=pretty_name,
            repo_id=repo_id,
            split_ratios=ratios,
            runs_count=len(runs),
            reviews=_review_counts(root, columns["id"]),
        )
    )
    (tmp / "README.md").write_text(card, encoding="utf-8")
    marker = {
        "format": 1,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "store": root.name,
        "license": license,
        "split_ratios": list(ratios),
        "counts": counts,
    }
    (tmp / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    return counts


def export_dataset(
    data_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    license: str = DEFAULT_LICENSE,
    *,
    repo_id: str | None = None,
    split_ratios: Sequence[float] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    pretty_name: str = PRETTY_NAME,
    max_shard_bytes: int = DEFAULT_MAX_SHARD_BYTES,
    fake_image_box: str = DEFAULT_FAKE_IMAGE_BOX,
) -> Path:
    """Export the store at ``data_dir`` to the folder ``out``; return ``out`` (absolute).

    ``fake_image_box``: ``none`` (DGM4's ``[]``, default) or ``full`` (the whole frame).

    ``repo_id`` only changes the card's quick-start snippet. ``cache_dir`` keeps the builder's
    Arrow cache between exports (a temporary one is used and removed otherwise). ``out`` may be
    missing, empty, or a previous export (which is replaced once the new one is complete).
    """
    check_license(license)
    ratios = check_ratios(split_ratios)
    if max_shard_bytes <= 0:
        raise UsageError(f"export: max_shard_bytes must be positive, got {max_shard_bytes}")
    root = resolve_store(data_dir)
    # Checked Samples (the builder checks them again, each config on its own); the contact
    # sheet and the card pick their examples from them.
    records = load_samples(root)
    warn_empty_splits(((s.fake_cls, s.id) for s in records), ratios, "export")
    out_path = Path(out).expanduser()
    out_path = out_path if out_path.is_absolute() else Path.cwd() / out_path
    sweep(out_path)  # an interrupted export: its old folder back in place, its work folders gone
    _check_out(out_path, root)
    tmp = work_folder(out_path)
    try:
        if cache_dir is not None:
            _build_into(
                tmp,
                root,
                records,
                ratios,
                str(cache_dir),
                license,
                repo_id,
                pretty_name,
                max_shard_bytes,
                fake_image_box,
            )
        else:
            with temp_folder("dgm4plus-cache-") as cache:
                _build_into(
                    tmp,
                    root,
                    records,
                    ratios,
                    str(cache),
                    license,
                    repo_id,
                    pretty_name,
                    max_shard_bytes,
                    fake_image_box,
                )
        install_folder(tmp, out_path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_path


__all__ = ["MARKER", "export_dataset", "is_export"]
