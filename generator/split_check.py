"""Warnings for splits that come out empty, and the smallest sizes that give all three.

A sample's split is a fixed function of its id (:mod:`generator.splits`), and ids are
``ID_OFFSET + bucket index x 10^8 + k`` (:func:`generator.store.record_id`). A small store can
therefore leave a split of a config empty: with the default ids and ratios the first origin
test sample is k = 29, so a store of 29 origin samples has no origin test split, and HAMMER's
``test.py`` (or any evaluation) has nothing to read. These pure functions say so; ``generate``, ``export``, ``export-dgm4``
and the release card print their lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from generator.config import BUCKETS
from generator.splits import SPLITS, active_splits, check_ratios, split_of

__all__ = [
    "ALL",
    "empty_split_warnings",
    "smallest_complete_sizes",
    "split_counts",
    "store_split_warnings",
    "warn_empty_splits",
]

#: The pseudo-config holding every class (the DGM4 export's split files, the builder's ``all``).
ALL = "all"


def split_counts(
    samples: Iterable[tuple[str, int]], ratios: Sequence[float] | None = None
) -> dict[str, dict[str, int]]:
    """``{config: {split: count}}`` for ``(fake_cls, id)`` pairs, every config and split listed,
    plus :data:`ALL` for the classes together."""
    values = check_ratios(ratios)
    counts = {name: dict.fromkeys(SPLITS, 0) for name in (*BUCKETS, ALL)}
    for fake_cls, sample_id in samples:
        split = split_of(sample_id, values)
        counts.setdefault(fake_cls, dict.fromkeys(SPLITS, 0))[split] += 1
        counts[ALL][split] += 1
    return counts


def empty_split_warnings(
    counts: Mapping[str, Mapping[str, int]], ratios: Sequence[float] | None = None
) -> list[str]:
    """One line per config that holds samples but leaves a split (with a ratio above 0) empty.

    A config with no samples at all is not reported (it was not asked for)."""
    active = active_splits(ratios)
    lines = []
    for config, by_split in counts.items():
        total = sum(by_split.values())
        empty = [s for s in active if by_split.get(s, 0) == 0]
        if total and empty:
            held = ", ".join(f"{by_split.get(s, 0)} {s}" for s in active)
            what = "every class" if config == ALL else config
            lines.append(
                f"{what}: the {' and '.join(empty)} split{'s are' if len(empty) > 1 else ' is'} "
                f"empty ({held}); HAMMER's train.py and test.py read train, val and test. "
                "Generate more (README, 'Labels and HAMMER': smallest sizes for three splits)"
            )
    return lines


def smallest_complete_sizes(
    id_offset: int, ratios: Sequence[float] | None = None, limit: int = 100_000
) -> dict[str, int]:
    """Per config, the smallest target ``n`` whose ids (k = 0 .. n-1, every plan item accepted)
    fall in every active split; ``limit`` bounds the search (a split with a tiny ratio)."""
    from generator.store import BUCKET_INDEX, ID_STRIDE

    values = check_ratios(ratios)
    want = set(active_splits(values))
    out: dict[str, int] = {}
    for bucket in BUCKETS:
        seen: set[str] = set()
        for k in range(limit):
            seen.add(split_of(id_offset + BUCKET_INDEX[bucket] * ID_STRIDE + k, values))
            if seen >= want:
                out[bucket] = k + 1
                break
    return out


def store_split_warnings(root: str | Path, ratios: Sequence[float] | None = None) -> list[str]:
    """:func:`empty_split_warnings` for the store at ``root`` (reads ``metadata.jsonl`` only;
    a line that does not parse is skipped: ``validate`` reports those)."""
    path = Path(root) / "metadata.jsonl"
    # Raw lines: a warning needs only (class, id) and must not fail on a record validate reports.
    pairs: list[tuple[str, int]] = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    record = json.loads(line)
                    pairs.append((str(record["fake_cls"]), int(record["id"])))
                except (ValueError, KeyError, TypeError):
                    continue
    except FileNotFoundError:
        return []
    return empty_split_warnings(split_counts(pairs, ratios), ratios)


def warn_empty_splits(
    samples: Iterable[tuple[str, int]], ratios: Sequence[float] | None, command: str
) -> list[str]:
    """Write :func:`empty_split_warnings` for ``(fake_cls, id)`` pairs to the user's console as
    ``"<command>: ..."`` warnings, and return the lines."""
    from generator import console

    lines = empty_split_warnings(split_counts(samples, ratios), ratios)
    for line in lines:
        console.warn(f"{command}: {line}")
    return lines
