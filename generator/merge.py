"""``dgm4plus merge STORE... --out DGM4``: unite shard stores into one store.

Every decision is a pure function of the shards' contents, never of the order they are given
in: records are taken in plan order ((k, bucket) ascending, as one unsharded run commits them),
ids come from plan keys (the same in every shard), splits from ids, and a near-duplicate or
repeated caption across shards keeps the record that comes first in plan order (the one an
unsharded run would have kept). Each bucket keeps at most its target. The stores must share
the seed and every knob that shapes the data, and be distinct shards of one I/N split.

Crash safety: the merged store is written into a hidden sibling folder, flushed, and renamed
onto ``--out`` in one step, so a kill leaves either no output or a whole, valid store. A
previous merge at ``--out`` is replaced the same way (moved aside first, removed after).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.config import BUCKETS
from generator.errors import UsageError
from generator.reviews import REVIEWS_JSONL, Review, load_reviews
from generator.schema import Rejection, Sample
from generator.shards import parse_shard
from generator.store import (
    MANIFEST,
    METADATA_JSON,
    METADATA_JSONL,
    REJECTED_JSONL,
    RUNS_JSONL,
    read_jsonl,
    read_rejections,
    split_key,
    write_atomic,
)
from generator.vision.dedup import CaptionIndex, PHashIndex

#: Knobs that change how a run goes, not what it makes: shards may differ in them.
OPERATIONAL_KNOBS = frozenset(
    {
        "OUT_ROOT",
        "SHARD",
        "CONCURRENCY",
        "MAX_IMAGE_CALLS",
        "MAX_COST",
        "MAX_RETRIES",
        "REQUEST_TIMEOUT",
        "SNAP_EVERY",
        "RAY",
        "RAY_SHARDS",
        "IMAGES_PER_MINUTE",
        "DEVICE",
        "BATCH_SIZE",
        "KEEP_REJECTED",
        "CITY_DATA_PATH",
    }
)
BOUND = ("SEED", "ID_OFFSET", "POST_W", "POST_H")
BUCKET_ORDER = {b: i for i, b in enumerate(BUCKETS)}


@dataclass
class ShardStore:
    root: Path
    manifest: dict[str, Any]
    records: list[Sample]
    rejected: list[Rejection]  # every rejected.jsonl line: verdicts, attempts, earlier drops
    runs: list[dict[str, Any]]

    @property
    def knobs(self) -> dict[str, Any]:
        for run in reversed(self.runs):
            if isinstance(run.get("config"), dict):
                return dict(run["config"])
        return {}


@dataclass
class MergeReport:
    out: Path
    counts: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> records left out
    missing_shards: list[int] = field(default_factory=list)

    def line(self) -> str:
        held = ", ".join(f"{b} {n}" for b, n in self.counts.items())
        extra = "; ".join(f"{n} {r}" for r, n in self.dropped.items() if n)
        miss = (
            f"; shards missing: {', '.join(map(str, self.missing_shards))}"
            if self.missing_shards
            else ""
        )
        return f"merged into {self.out}: {held}" + (f" (left out: {extra})" if extra else "") + miss


def read_store(root: Path) -> ShardStore:
    from generator.lock import writer_of

    root = Path(root)
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise UsageError(
            f"{root}: not a dgm4plus store (no {MANIFEST}); pass shard stores made by "
            "`dgm4plus generate --shard I/N`"
        )
    holder = writer_of(root)
    if holder is not None:
        raise UsageError(
            f"{root} is being written ({holder.describe()}); merge it once that run ends"
        )
    try:
        manifest = json.loads(manifest_path.read_text())
    except (ValueError, OSError):
        raise UsageError(f"{manifest_path}: not valid JSON") from None
    # Every record through the one schema, with the shard's own settings (one line on a bad one).
    from generator.store_reader import parse_samples, store_rules

    records: list[Sample] = []
    lines = parse_samples(root, store_rules(root)) if (root / METADATA_JSONL).exists() else []
    for _, sample in lines:
        if isinstance(sample, Exception):
            raise sample
        records.append(sample)
    rejected, _ = read_rejections(root / REJECTED_JSONL)
    runs, _ = read_jsonl(root / RUNS_JSONL, repair=False)
    return ShardStore(root, manifest, records, rejected, runs)


def _check_compatible(stores: Sequence[ShardStore]) -> tuple[int, dict[str, Any]]:
    """The shards' N and shared knobs; a UsageError naming the store and knob otherwise."""
    first = stores[0]
    counts: dict[int, Path] = {}
    seen: dict[int, Path] = {}
    for s in stores:
        for key in BOUND:
            if s.manifest.get(key) != first.manifest.get(key):
                raise UsageError(
                    f"{s.root} was made with {key}={s.manifest.get(key)}, {first.root} with "
                    f"{key}={first.manifest.get(key)}: shards of one run only"
                )
        spec = s.manifest.get("SHARD")
        if not spec:
            raise UsageError(
                f"{s.root} is not a shard (its {MANIFEST} has no SHARD); make shards with "
                "`dgm4plus generate --shard I/N`"
            )
        shard = parse_shard(str(spec), knob=f"{s.root / MANIFEST}: SHARD")
        counts.setdefault(shard.count, s.root)
        if shard.index in seen:
            raise UsageError(
                f"{s.root} and {seen[shard.index]} are both shard {shard}: pass each shard once"
            )
        seen[shard.index] = s.root
    if len(counts) > 1:
        raise UsageError(
            f"shards of different splits: {', '.join(f'{p} (of {n})' for n, p in counts.items())}"
        )
    ref = first.knobs
    for s in stores[1:]:
        mine = s.knobs
        for key in sorted((set(ref) | set(mine)) - OPERATIONAL_KNOBS):
            if ref.get(key) != mine.get(key):
                raise UsageError(
                    f"{s.root} was made with {key}={mine.get(key)!r}, {first.root} with "
                    f"{key}={ref.get(key)!r}: shards must share every knob that shapes the data"
                )
    n = next(iter(counts))
    return n, ref


def _plan_order(record: Sample) -> tuple[int, int]:
    bucket, k = split_key(record.plan_key)
    return k, BUCKET_ORDER[bucket]


def select(
    stores: Sequence[ShardStore], targets: dict[str, int] | None, phash_max: int
) -> tuple[list[tuple[ShardStore, Sample]], list[Rejection]]:
    """The records the merged store keeps, in plan order, and rejection lines for the rest."""
    pool = sorted(((s, r) for s in stores for r in s.records), key=lambda sr: _plan_order(sr[1]))
    phashes = PHashIndex(phash_max)
    captions = CaptionIndex()
    kept: list[tuple[ShardStore, Sample]] = []
    dropped: list[Rejection] = []
    per_bucket = dict.fromkeys(BUCKETS, 0)
    for store, rec in pool:
        bucket = rec.fake_cls
        reason = None
        if targets is not None and per_bucket[bucket] >= targets.get(bucket, 0):
            reason = "over_target"
        elif captions.find(rec.text) is not None:
            reason = "duplicate_caption"
        elif phashes.find(int(rec.phash, 16)):
            reason = "duplicate_image"
        if reason is not None:
            if reason != "over_target":
                dropped.append(
                    Rejection(
                        plan_key=rec.plan_key,
                        fake_cls=bucket,
                        reason=reason,
                        attempt_reasons=(),
                        calls=0,
                        backend=rec.backend,
                        merged_from=str(store.root),
                    )
                )
            continue
        phashes.add(int(rec.phash, 16), rec.plan_key)
        captions.add(rec.text, rec.plan_key)
        per_bucket[bucket] += 1
        kept.append((store, rec))
    return kept, dropped


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _write_lines(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())


def merge_stores(inputs: Sequence[Path], out: Path) -> MergeReport:
    if not inputs:
        raise UsageError("merge: give at least one shard store")
    out = Path(out)
    _recover_leftovers(out)
    resolved = [Path(p).resolve() for p in inputs]
    if out.resolve() in resolved:
        raise UsageError(f"--out {out} is one of the inputs; merge into a new folder")
    # Inputs in a canonical order (by shard index), so nothing below depends on argument order.
    stores = sorted(
        (read_store(p) for p in inputs),
        key=lambda s: parse_shard(str(s.manifest.get("SHARD") or "0/1")).index,
    )
    n, knobs = _check_compatible(stores)
    if out.exists() and not (out.is_dir() and (not any(out.iterdir()) or _is_merged(out))):
        raise UsageError(f"--out {out} exists and is not an earlier merge; pick a new folder")
    if out.is_dir() and _is_merged(out):
        _check_nothing_added(out, stores)
    targets = None
    if all(k in knobs for k in ("TARGET_LITERAL", "TARGET_INV_EMO", "TARGET_IRRELEV")):
        targets = {b: int(knobs[knob]) for b, (knob, _) in BUCKETS.items()}
    kept, dropped = select(stores, targets, int(knobs.get("PHASH_DISTANCE_MAX", 3)))
    report = MergeReport(out=out)
    report.missing_shards = sorted(
        set(range(n)) - {parse_shard(str(s.manifest["SHARD"])).index for s in stores}
    )
    for row in dropped:
        report.dropped[row.reason] = report.dropped.get(row.reason, 0) + 1
    over = sum(len(s.records) for s in stores) - len(kept) - len(dropped)
    if over:
        report.dropped["over_target"] = over

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.merge-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        earlier = out if out.is_dir() and _is_merged(out) else None
        _write_merged(tmp, out.name, stores, kept, dropped, n, merged_reviews(earlier, stores))
        _swap_into_place(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    report.counts = dict.fromkeys(BUCKETS, 0)
    for _, rec in kept:
        report.counts[rec.fake_cls] += 1
    return report


def merged_reviews(earlier: Path | None, stores: Sequence[ShardStore]) -> list[Review]:
    """The review ledger of a merge: every decision made in a shard or in an earlier merge at
    ``earlier`` (which this merge replaces), none lost and none counted twice.

    An earlier merge carried a prefix of each shard's append-only ledger, so the shard lines it
    already holds are skipped (as a multiset: a decision repeated on purpose stays repeated).
    The rest is ordered by time, then by source (the earlier merge, then the shards by index)
    and line, so the replay gives each id the decision made last, whatever the inputs' order.
    """
    carried: dict[Review, int] = {}
    rows: list[tuple[str, int, int, Review]] = []
    for i, r in enumerate(load_reviews(earlier) if earlier is not None else []):
        carried[r] = carried.get(r, 0) + 1
        rows.append((r.time, 0, i, r))
    for rank, store in enumerate(stores, start=1):
        for i, r in enumerate(load_reviews(store.root)):
            if carried.get(r, 0):
                carried[r] -= 1
                continue
            rows.append((r.time, rank, i, r))
    return [r for *_, r in sorted(rows, key=lambda row: row[:3])]


def _check_nothing_added(out: Path, stores: Sequence[ShardStore]) -> None:
    """An earlier merge may be replaced only if it holds nothing the shards lack (a top-up run
    on the merged store writes samples that exist nowhere else)."""
    from generator.store_reader import parse_samples, store_rules

    have = {r.plan_key for s in stores for r in s.records}
    extra = []
    if (out / METADATA_JSONL).exists():
        for _, sample in parse_samples(out, store_rules(out)):
            if isinstance(sample, Exception):
                raise sample
            if sample.plan_key not in have:
                extra.append(sample.plan_key)
    if extra:
        raise UsageError(
            f"--out {out} holds {len(extra)} sample(s) that no shard has (e.g. {extra[0]}, "
            "from a run on the merged store); merge into a new folder instead"
        )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _recover_leftovers(out: Path) -> None:
    """After a killed merge: an earlier merge moved aside goes back to ``out`` if nothing took
    its place; half-written folders of dead merges are removed."""
    for kind in ("replaced", "merge"):
        for path in sorted(out.parent.glob(f".{out.name}.{kind}-*")):
            pid = path.name.rpartition("-")[2]
            if not pid.isdigit() or _pid_alive(int(pid)):
                continue
            if kind == "replaced" and not out.exists():
                os.rename(path, out)
            else:
                shutil.rmtree(path, ignore_errors=True)


def _is_merged(root: Path) -> bool:
    try:
        return "merged_from" in json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return False


def _write_merged(
    tmp: Path,
    name: str,
    stores: Sequence[ShardStore],
    kept: Sequence[tuple[ShardStore, Sample]],
    dropped: list[Rejection],
    n: int,
    reviews: Sequence[Review] = (),
) -> None:
    for _, folder in BUCKETS.values():
        (tmp / folder).mkdir(parents=True, exist_ok=True)
    records = []
    for store, rec in kept:
        bucket = rec.fake_cls
        file_name = rec.image.rpartition("/")[2]
        src = store.root.parent / rec.image
        if not src.is_file():
            src = (
                store.root / BUCKETS[bucket][1] / file_name
            )  # a shard folder renamed after its run
        if not src.is_file():
            raise UsageError(
                f"{store.root}: image of {rec.plan_key} is missing ({rec.image}); "
                f"resume that shard (`dgm4plus generate --shard ... --out {store.root}`) first"
            )
        _link_or_copy(src, tmp / BUCKETS[bucket][1] / file_name)
        moved = dataclasses.replace(rec, image=f"{name}/{BUCKETS[bucket][1]}/{file_name}")
        records.append(moved.to_json())
    rejected = sorted(
        (r for s in stores for r in s.rejected),
        key=lambda r: (r.plan_key, json.dumps(r.to_json(), sort_keys=True)),
    )
    _write_lines(tmp / METADATA_JSONL, records)
    write_atomic(tmp / METADATA_JSON, (json.dumps(records, ensure_ascii=False) + "\n").encode())
    _write_lines(tmp / REJECTED_JSONL, [r.to_json() for r in (*rejected, *dropped)])
    if reviews:
        body = "".join(r.to_json() + "\n" for r in reviews)
        write_atomic(tmp / REVIEWS_JSONL, body.encode())
    runs = [{**run, "shard": s.manifest.get("SHARD")} for s in stores for run in s.runs]
    _write_lines(tmp / RUNS_JSONL, runs)
    manifest = {k: stores[0].manifest.get(k) for k in BOUND}
    manifest.update(
        {
            "SHARD": None,
            "format": stores[0].manifest.get("format", 1),
            "merged_from": [f"{s.manifest.get('SHARD')}" for s in stores],
            "shards": n,
        }
    )
    write_atomic(tmp / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished folder onto ``out`` (an earlier merge there is moved aside first)."""
    for folder in [tmp, *(tmp / f for _, f in BUCKETS.values())]:
        _fsync_dir(folder)
    old = None
    if out.exists():
        from generator.lock import StoreLock

        with StoreLock(out, purpose="merge", create=False):
            old = out.parent / f".{out.name}.replaced-{os.getpid()}"
            if any(out.iterdir()):
                os.rename(out, old)
            else:
                out.rmdir()
    os.rename(tmp, out)
    _fsync_dir(out.parent)
    if old is not None and old.exists():
        shutil.rmtree(old, ignore_errors=True)


def run_merge(inputs: Sequence[Path], out: Path) -> int:
    from generator import console

    report = merge_stores(inputs, out)
    console.notice(report.line())
    return 0
