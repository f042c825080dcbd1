"""`dgm4plus repair DIR`: rebuild a lost or damaged ledger from the snapshot and the images.

``generate`` refuses a store whose ``metadata.jsonl`` is missing, empty or shorter than
``metadata.json`` (treating it as the truth would orphan and pay again for every sample it
lost). ``repair`` takes the writer lock and rebuilds the ledger: every record of
``metadata.jsonl`` (its order kept), then every record that only ``metadata.json`` still lists,
each kept only if its image is in the store. Both files are then written atomically. Images
that neither lists are left where they are: the next ``generate`` adopts them (their records
are derived from the plan and the image is checked again) or moves them to ``quarantine/``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from generator.errors import DataFileError, UsageError
from generator.lock import StoreLock
from generator.store import MANIFEST, METADATA_JSON, METADATA_JSONL, read_jsonl, write_atomic


def _snapshot(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, RecursionError):
        raise DataFileError(path, None, "not valid JSON, so it cannot restore the ledger") from None
    if not isinstance(data, list):
        raise DataFileError(path, None, "must hold a JSON list of records")
    return [r for r in data if isinstance(r, dict)]


def repair_store(root: Path) -> list[str]:
    """Rebuild ``metadata.jsonl`` (and the snapshot) of the store at ``root``; one line each."""
    root = Path(root)
    meta, snap = root / METADATA_JSONL, root / METADATA_JSON
    if not root.is_dir() or not any(
        (root / n).exists() for n in (MANIFEST, METADATA_JSON, METADATA_JSONL)
    ):
        raise UsageError(
            f"{root}: not a dgm4plus store (no {MANIFEST}, {METADATA_JSON} or {METADATA_JSONL})"
        )
    with StoreLock(root, purpose="repair", create=False):
        # Raw lines: repair keeps every record with its image, whether or not it validates.
        ledger, torn = (
            read_jsonl(meta, repair=False) if meta.exists() or meta.is_dir() else ([], False)
        )
        merged: dict[Any, tuple[dict[str, Any], bool]] = {}
        for r in ledger:
            merged.setdefault(r.get("id"), (r, False))
        for r in _snapshot(snap):
            merged.setdefault(r.get("id"), (r, True))
        kept: list[dict[str, Any]] = []
        missing = restored = 0
        for r, from_snapshot in merged.values():
            image = r.get("image")
            if isinstance(image, str) and (root.parent / image).is_file():
                kept.append(r)
                restored += from_snapshot
            else:
                missing += 1
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept)
        write_atomic(meta, body.encode())
        write_atomic(snap, (json.dumps(kept, ensure_ascii=False) + "\n").encode())
    lines = [
        f"{meta}: rebuilt with {len(kept)} records ({len(kept) - restored} "
        f"from the ledger, {restored} restored from {METADATA_JSON})"
    ]
    if torn:
        lines.append(f"{meta}: its torn last line was left out")
    if missing:
        lines.append(
            f"{missing} listed record(s) whose image is not in the store were left out "
            "(their plan items are built again)"
        )
    lines.append(
        "images without a record are adopted (checked again) by the next `dgm4plus generate`"
    )
    return lines


def repair_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("data_dir", type=Path, metavar="DIR", help="the store to repair (e.g. DGM4)")


def cmd_repair(ns: argparse.Namespace) -> int:
    for line in repair_store(ns.data_dir):
        print(f"dgm4plus: {line}")
    return 0
