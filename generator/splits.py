"""Deterministic train / validation / test assignment from a sample's id.

A sample's split depends only on its id and the ratios: the id is hashed (SHA-256) to a number
in [0, 1) and compared with the cumulative ratios. Growing the dataset therefore never moves an
existing sample to another split, and every tool (the builder, the Parquet export, the DGM4
export) agrees on the assignment without sharing state.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence

from generator.errors import UsageError

#: Split names as the ``datasets`` library spells them, in order.
SPLITS: tuple[str, str, str] = ("train", "validation", "test")

#: The DGM4 metadata file of each split (DGM4 spells validation ``val``).
DGM4_SPLIT_FILES: dict[str, str] = {
    "train": "train.json",
    "validation": "val.json",
    "test": "test.json",
}

DEFAULT_RATIOS: tuple[float, float, float] = (0.8, 0.1, 0.1)

# Salt so that the split hash is unrelated to any other use of the id.
_SALT = b"dgm4plus-split-v1:"


def check_ratios(ratios: Sequence[float] | None) -> tuple[float, float, float]:
    """Validate ``(train, validation, test)`` ratios: three numbers >= 0 that sum to 1."""
    if ratios is None:
        return DEFAULT_RATIOS
    try:
        values = tuple(float(r) for r in ratios)
    except (TypeError, ValueError):
        raise UsageError(
            f"split ratios: expected three numbers (train, validation, test), got {ratios!r}"
        ) from None
    if len(values) != 3:
        raise UsageError(
            f"split ratios: expected three numbers (train, validation, test), got {len(values)}"
        )
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise UsageError(f"split ratios: every ratio must be a finite number >= 0, got {values}")
    if abs(sum(values) - 1.0) > 1e-6:
        raise UsageError(f"split ratios: must sum to 1, got {values} (sum {sum(values):g})")
    return (values[0], values[1], values[2])


def unit_position(sample_id: int) -> float:
    """The id's fixed position in [0, 1): the first 8 bytes of a salted SHA-256, over 2**64."""
    digest = hashlib.sha256(_SALT + str(int(sample_id)).encode("ascii")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_of(sample_id: int, ratios: Sequence[float] | None = None) -> str:
    """The split (``train``, ``validation`` or ``test``) that ``sample_id`` belongs to."""
    values = check_ratios(ratios)
    u = unit_position(sample_id)
    edge = 0.0
    last = SPLITS[0]
    for name, ratio in zip(SPLITS, values, strict=True):
        if ratio <= 0:
            continue
        last = name
        edge += ratio
        if u < edge:
            return name
    # Rounding can leave a sliver just under 1.0 past the last edge: it joins the last split.
    return last


def active_splits(ratios: Sequence[float] | None = None) -> list[str]:
    """The splits with a ratio above zero, in order."""
    values = check_ratios(ratios)
    return [name for name, r in zip(SPLITS, values, strict=True) if r > 0]


def assign(ids: Iterable[int], ratios: Sequence[float] | None = None) -> dict[str, list[int]]:
    """Group ids by split (every split present, possibly empty), keeping the input order."""
    values = check_ratios(ratios)
    out: dict[str, list[int]] = {name: [] for name in SPLITS}
    for sample_id in ids:
        out[split_of(sample_id, values)].append(sample_id)
    return out


__all__ = [
    "DEFAULT_RATIOS",
    "DGM4_SPLIT_FILES",
    "SPLITS",
    "active_splits",
    "assign",
    "check_ratios",
    "split_of",
    "unit_position",
]
