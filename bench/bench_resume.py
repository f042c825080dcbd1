"""Resume start-up with a large store: Store.open + the Pipeline's indexes, broken down.

Run from the repository root:

    .venv/bin/python bench/bench_resume.py [--records 100000] [--rejected 15000]
        [--tmp /tmp] [--keep]

Build (not timed as the result): a tiny real composite run (3 samples, one per bucket) gives one
real record per bucket; ``--records`` records are made from them with distinct ids, plan keys,
image paths, captions and pHashes, written to metadata.jsonl, plus ``--rejected`` entries in
rejected.jsonl and one small valid 400x256 JPEG per record (the same bytes each time), and a
fresh metadata.json snapshot, as a cleanly stopped run leaves them.  Everything lives in a
temporary folder under ``--tmp`` and is deleted at the end (unless ``--keep``).

Timed, twice (run 1: the three ledgers are first dropped from the page cache with
posix_fadvise, the image inodes stay cached; run 2: everything warm, the usual resume), on the
code as it is in the working tree:

* ``Store.open(root, cfg)``: inside it, ``read_jsonl`` (read + parse) and ``_image_ok`` (image
  checks) are timed through wrappers around the module's own functions (the number of calls is
  reported); the rest of the recovery (listing / orphan scan / record checks) is the remainder;
* ``Pipeline(cfg, backend, budget, store, cities, progress=False)`` with a CompositeBackend,
  which rebuilds the pHash and caption indexes from metadata;
* ``store.used_keys()`` (the first thing ``Pipeline.run`` does);
* ``store.snapshot()`` (rewrites metadata.json with every record: at the end of every run,
  every SNAP_EVERY accepted samples, and in Store.open when the snapshot is stale).

Then the building blocks, each timed alone on the same store (warm), so the breakdown can be
read whatever Store.open does inside: parsing with the cyclic GC on and off, a stat / a
``Path.resolve()`` per image, an ``iterdir`` + ``resolve`` orphan scan vs one ``os.scandir``
per folder, the pHash and caption indexes, ``json.dumps`` with and without ``indent``.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchutil import ROOT, code_line, machine_line, save, table  # noqa: E402

sys.path.insert(0, str(ROOT))


class Timer:
    """Accumulates wall and CPU seconds over several ``with`` blocks."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self.calls = 0

    def __enter__(self) -> Timer:
        self._w, self._c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall += time.perf_counter() - self._w
        self.cpu += time.process_time() - self._c
        self.calls += 1


def tiny_real_records(tmp: Path, seed: int) -> dict:
    """One real accepted record per bucket, from a 3-sample composite run."""
    from generator.config import BUCKETS, load_config
    from generator.pipeline import fill_store
    from generator.store import load_records

    cfg = load_config(
        cli={
            "BACKEND": "composite",
            "OUT_ROOT": str(tmp / "tiny" / "DGM4"),
            "SEED": seed,
            "TARGET_LITERAL": 1,
            "TARGET_INV_EMO": 1,
            "TARGET_IRRELEV": 1,
            "CONCURRENCY": 3,
        },
        env={},
    )
    fill_store(cfg, progress=False)
    records = load_records(cfg.OUT_ROOT)
    by_bucket = {s.fake_cls: s for s in records}
    missing = [b for b in BUCKETS if b not in by_bucket]
    if missing:
        raise SystemExit(f"the tiny composite run accepted nothing for {missing}")
    shutil.rmtree(tmp / "tiny", ignore_errors=True)
    return by_bucket


def small_jpeg(w: int, h: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (w, h), (118, 128, 140)).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def build_store(root: Path, cfg, templates: dict, n: int, n_rejected: int, seed: int) -> dict:
    import dataclasses

    from generator.config import BUCKETS
    from generator.store import METADATA_JSONL, REJECTED_JSONL, Store, record_id

    t0 = time.perf_counter()
    store, _ = Store.open(root, cfg)  # creates the folders and store.json, as a first run does
    rng = random.Random(seed)
    buckets = list(BUCKETS)
    jpeg = small_jpeg(cfg.POST_W, cfg.POST_H)
    per_bucket = -(-n // 3)
    records = []
    for i in range(n):
        bucket, k = buckets[i % 3], i // 3
        rid = record_id(cfg, bucket, k)
        records.append(
            dataclasses.replace(
                templates[bucket],
                id=rid,
                image=store.relative_image(bucket, rid),
                plan_key=f"{bucket}/{k}",
                text=f"{templates[bucket].text} (no. {i})",
                phash=f"{rng.getrandbits(64):016x}",
            )
        )
    with open(root / METADATA_JSONL, "w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r.to_json(), ensure_ascii=False) + "\n")
    with open(root / REJECTED_JSONL, "w", encoding="utf-8") as fh:
        for j in range(n_rejected):
            bucket = buckets[j % 3]
            fh.write(
                json.dumps(
                    {
                        "plan_key": f"{bucket}/{per_bucket + j // 3}",
                        "fake_cls": bucket,
                        "reason": "faces",
                        "attempt_reasons": ["faces", "faces"],
                        "calls": 2,
                        "backend": "openai",
                    }
                )
                + "\n"
            )
    ledgers = time.perf_counter() - t0
    t1 = time.perf_counter()
    for r in records:
        with open(root.parent / r.image, "wb") as fh:
            fh.write(jpeg)
    images = time.perf_counter() - t1
    store.records = records
    t2 = time.perf_counter()
    store.snapshot()  # the snapshot a cleanly stopped run leaves (newer than metadata.jsonl)
    snapshot = time.perf_counter() - t2
    return {
        "ledgers": ledgers,
        "images": images,
        "snapshot": snapshot,
        "jsonl_mb": (root / METADATA_JSONL).stat().st_size / 2**20,
        "json_mb": (root / "metadata.json").stat().st_size / 2**20,
        "jpeg_bytes": len(jpeg),
    }


def drop_from_cache(paths: list[Path]) -> bool:
    ok = hasattr(os, "posix_fadvise")
    for p in paths:
        if not p.exists() or not ok:
            continue
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return ok


def timed_resume(root: Path, cfg, cities) -> dict[str, Timer]:
    """Store.open + Pipeline(...) + used_keys, with the store's own helpers timed inside."""
    import generator.store as store_mod
    from generator.backends.base import CallBudget
    from generator.backends.composite import CompositeBackend
    from generator.pipeline import Pipeline

    t = {k: Timer() for k in ("open", "read_jsonl", "image_ok", "pipeline", "used_keys", "total")}
    real_read, real_ok = store_mod.read_jsonl, store_mod._image_ok

    def read_jsonl(*a, **k):
        with t["read_jsonl"]:
            return real_read(*a, **k)

    def image_ok(*a, **k):
        with t["image_ok"]:
            return real_ok(*a, **k)

    store_mod.read_jsonl, store_mod._image_ok = read_jsonl, image_ok
    try:
        with t["total"]:
            with t["open"]:
                store, rec = store_mod.Store.open(root, cfg)
            budget = CallBudget(None)
            backend = CompositeBackend(budget)
            with t["pipeline"]:
                pipe = Pipeline(cfg, backend, budget, store, cities, progress=False)
            with t["used_keys"]:
                store.used_keys()
    finally:
        store_mod.read_jsonl, store_mod._image_ok = real_read, real_ok
    pipe.pool.shutdown()
    if rec.lines:
        raise SystemExit(
            "Store.open repaired the benchmark store (it should be clean): "
            + "; ".join(rec.lines[:3])
        )
    return t


def primitives(root: Path, cfg) -> dict[str, Timer]:
    """The building blocks of a resume, each timed alone on the same (warm) store."""
    import gc

    from generator.config import BUCKETS
    from generator.schema import Sample, SampleRules
    from generator.store import METADATA_JSONL, Store, load_records
    from generator.vision.dedup import CaptionIndex, PHashIndex

    store = Store(root, cfg)
    records = load_records(root)
    names = (
        "parse_gc_on", "parse_gc_off", "identity", "trusted", "to_json", "stat", "resolve", "iterdir_scan", "scandir_scan",
        "phash", "captions", "counts", "dumps_indent", "dumps_plain",
    )  # fmt: skip
    t = {k: Timer() for k in names}
    data = (root / METADATA_JSONL).read_bytes()
    for key, enabled in (("parse_gc_on", True), ("parse_gc_off", False)):
        was = gc.isenabled()
        (gc.enable if enabled else gc.disable)()
        try:
            with t[key]:
                parsed = [json.loads(line) for line in data.split(b"\n") if line]
        finally:
            (gc.enable if was else gc.disable)()
        if enabled:
            del parsed
    # what Store.open does with the parsed lines (GC off, as there): check the identity of each
    # (before) / check it and build the Sample in one pass (now)
    rules = SampleRules.from_config(cfg, root.name)
    meta = root / METADATA_JSONL
    gc.disable()
    try:
        with t["identity"]:
            for i, obj in enumerate(parsed):
                Sample.check_identity(obj, where=(meta, i + 1), rules=rules)
        with t["trusted"]:
            for i, obj in enumerate(parsed):
                Sample.from_json_trusted(obj, where=(meta, i + 1), rules=rules)
        with t["to_json"]:
            rows = [r.to_json() for r in records]
    finally:
        gc.enable()
    del parsed
    with t["stat"]:
        for r in records:
            store.image_path(r).stat()
    with t["resolve"]:
        referenced = {store.image_path(r).resolve() for r in records}
    with t["iterdir_scan"]:
        stray = 0
        for bucket in BUCKETS:
            for p in sorted(store.bucket_dir(bucket).iterdir()):
                if p.is_file() and p.resolve() not in referenced:
                    stray += 1
    del referenced
    with t["scandir_scan"]:
        present = {}
        for bucket in BUCKETS:
            with os.scandir(store.bucket_dir(bucket)) as it:
                present[bucket] = {e.name for e in it if e.is_file()}
        missing = sum(1 for r in records if r.image.rpartition("/")[2] not in present[r.fake_cls])
        wanted: dict[str, set[str]] = {b: set() for b in BUCKETS}
        for r in records:
            wanted[r.fake_cls].add(r.image.rpartition("/")[2])
        orphans = sum(len(present[b] - wanted[b]) for b in BUCKETS)
    if stray or missing or orphans:
        raise SystemExit(f"store not clean: {stray} / {orphans} orphans, {missing} missing")
    with t["phash"]:
        index = PHashIndex(cfg.PHASH_DISTANCE_MAX)
        index.add_many([int(r.phash, 16) for r in records], [r.plan_key for r in records])
    with t["captions"]:
        captions = CaptionIndex()
        for r in records:
            captions.add(r.text, r.plan_key)
    store.records = records
    with t["counts"]:
        store.accepted_count()
    del index, captions
    with t["dumps_indent"]:
        json.dumps(rows, ensure_ascii=False, indent=1)
    with t["dumps_plain"]:
        json.dumps(rows, ensure_ascii=False)
    return t


def frozen_resume(root: Path, cfg, cities) -> dict[str, Timer]:
    """What-if: the same resume with ``gc.freeze()`` right after Store.open, so the cyclic GC
    never traverses the loaded records again (the objects stay freeable by refcount)."""
    import gc

    from generator.backends.base import CallBudget
    from generator.backends.composite import CompositeBackend
    from generator.pipeline import Pipeline
    from generator.store import Store

    gc.collect()
    t = {"frozen_open": Timer(), "frozen_pipeline": Timer()}
    with t["frozen_open"]:
        store, _ = Store.open(root, cfg)
    gc.freeze()
    try:
        budget = CallBudget(None)
        with t["frozen_pipeline"]:
            pipe = Pipeline(cfg, CompositeBackend(budget), budget, store, cities, progress=False)
        pipe.pool.shutdown()
    finally:
        gc.unfreeze()
    return t


def ms(x: float) -> str:
    return f"{x * 1000:,.0f}"


def run(args: argparse.Namespace) -> str:
    from generator.config import load_config
    from generator.store import (
        METADATA_JSON,
        METADATA_JSONL,
        REJECTED_JSONL,
        Store,
        load_records,
    )
    from generator.text.datelines import load_cities

    base = Path(tempfile.mkdtemp(prefix="dgm4plus-bench-resume-", dir=args.tmp))
    try:
        templates = tiny_real_records(base, args.seed)
        root = base / "DGM4"
        cfg = load_config(
            cli={"BACKEND": "composite", "OUT_ROOT": str(root), "SEED": args.seed}, env={}
        )
        built = build_store(root, cfg, templates, args.records, args.rejected, args.seed)
        print(
            f"built {args.records:,} records in {built['ledgers'] + built['images']:.0f} s",
            file=sys.stderr,
        )
        cities = load_cities(None)

        runs = []
        dropped = False
        for i in range(2):
            if i == 0:
                dropped = drop_from_cache(
                    [root / METADATA_JSONL, root / METADATA_JSON, root / REJECTED_JSONL]
                )
            runs.append(timed_resume(root, cfg, cities))
            print(f"resume run {i + 1}: {runs[-1]['total'].wall:.2f} s", file=sys.stderr)
        store = Store(root, cfg)
        store.records = load_records(root)
        snap = Timer()
        with snap:
            store.snapshot()
        # The next snapshot of a run: SNAP_EVERY more records (copies with new ids).
        last = store.records[-1]
        store.records.extend(
            dataclasses.replace(last, id=last.id + 1 + j) for j in range(cfg.SNAP_EVERY)
        )
        snap_next = Timer()
        with snap_next:
            store.snapshot()
        del store.records[-cfg.SNAP_EVERY :]  # back to the ledger (untimed), for what follows
        store.snapshot()
        del store
        steps = primitives(root, cfg)
        steps.update(frozen_resume(root, cfg, cities))
    finally:
        if args.keep:
            print(f"kept {base}", file=sys.stderr)
        else:
            t = time.perf_counter()
            shutil.rmtree(base, ignore_errors=True)
            print(f"deleted {base} in {time.perf_counter() - t:.0f} s", file=sys.stderr)

    rows = []

    def row(name: str, get, note: str = "") -> None:
        rows.append([name, *(f"{ms(get(r).wall)} / {ms(get(r).cpu)}" for r in runs), note])

    row("**total: Store.open + Pipeline(...) + used_keys()**", lambda r: r["total"], "goal <= 5 s")
    row("Store.open", lambda r: r["open"], "")
    row(
        "  read_jsonl: read + parse metadata.jsonl and rejected.jsonl",
        lambda r: r["read_jsonl"],
        f"{built['jsonl_mb']:.0f} MiB of metadata.jsonl",
    )
    row(
        "  _image_ok (image checks)",
        lambda r: r["image_ok"],
        f"{runs[1]['image_ok'].calls:,} calls",
    )
    row(
        "  rest of the recovery (remainder: listing, orphan scan, record checks, snapshot if "
        "stale)",
        lambda r: _sub(r["open"], r["read_jsonl"], r["image_ok"]),
        "",
    )
    row("Pipeline(...)", lambda r: r["pipeline"], "pHash + caption indexes from metadata")
    row("store.used_keys()", lambda r: r["used_keys"], "first step of Pipeline.run")

    def prim(key: str, what: str, note: str = "") -> list[str]:
        return [what, f"{ms(steps[key].wall)}", f"{ms(steps[key].cpu)}", note]

    n = f"{args.records:,}"
    prim_rows = [
        prim("parse_gc_on", f"json.loads of {n} metadata lines, cyclic GC on"),
        prim("parse_gc_off", "the same, GC off", "what `gc.disable()` around parsing saves"),
        prim("identity", f"`Sample.check_identity` of {n} parsed lines", "GC off"),
        prim(
            "trusted",
            f"`Sample.from_json_trusted` of {n} parsed lines",
            "identity checks + the Sample, one pass (what Store.open does); GC off",
        ),
        prim("to_json", f"`Sample.to_json` of {n} samples", "the first half of a snapshot"),
        prim("stat", f"`Path.stat()` of {n} image paths", "a stat per record"),
        prim("resolve", f"`Path.resolve()` of {n} image paths", "an lstat per path component"),
        prim(
            "iterdir_scan",
            "orphan scan: sorted `iterdir()` + `is_file()` + `resolve()` per file",
            "needs the resolved set above too",
        ),
        prim(
            "scandir_scan",
            "one `os.scandir` per image folder + name sets (existence and orphans)",
            "no per-file syscall",
        ),
        prim("phash", "pHash: parse hex + `PHashIndex.add_many`"),
        prim("captions", "caption index (`CaptionIndex.add` per record)"),
        prim("counts", "`store.accepted_count()`"),
        prim(
            "frozen_pipeline",
            "`Pipeline(...)` with `gc.freeze()` right after `Store.open` (what-if)",
            f"compare with Pipeline(...) above; that Store.open took {ms(steps['frozen_open'].wall)} ms",
        ),
        prim("dumps_indent", f"`json.dumps` of {n} records, indent=1", "pure-Python encoder"),
        prim("dumps_plain", "the same, no indent", "C encoder"),
    ]
    lines = [
        "# Resume start-up with a large store",
        "",
        f"{n} accepted records (shape of real composite records, distinct ids, "
        f"keys, captions, pHashes) + {args.rejected:,} rejected entries; {n} "
        f"image files of {built['jpeg_bytes']:,} bytes (a valid {cfg.POST_W}x{cfg.POST_H} "
        f"JPEG) under {args.tmp}; metadata.jsonl {built['jsonl_mb']:.0f} MiB, metadata.json "
        f"{built['json_mb']:.0f} MiB. Build: ledgers {built['ledgers']:.1f} s, images "
        f"{built['images']:.1f} s (not part of the result). {machine_line()}; {code_line()}.",
        "",
        "Run 1: the three ledgers dropped from the page cache first (posix_fadvise DONTNEED"
        + ("" if dropped else ": not available here, so warm too")
        + "; image inodes and folder entries stay cached, as they are after a recent run). "
        "Run 2: all warm, the usual resume. Cells: wall ms / CPU ms.",
        "",
        table(["step", "run 1", "run 2", "note"], rows, "lrrl"),
        "",
        f"`store.snapshot()` with {n} records (metadata.json with fsync): "
        f"**{ms(snap.wall)} ms** wall, {ms(snap.cpu)} ms CPU. It runs at the end of every run, "
        f"in Store.open when the snapshot is stale (after a crash), and every "
        f"SNAP_EVERY={cfg.SNAP_EVERY} accepted samples on the commit path: "
        f"{ms(snap.wall / cfg.SNAP_EVERY)} ms per accepted sample at this size, were every "
        f"snapshot to serialise every record. The records' JSON is kept between snapshots, so "
        f"the next one, {cfg.SNAP_EVERY} records later, takes **{ms(snap_next.wall)} ms** wall "
        f"({ms(snap_next.cpu)} ms CPU): {ms(snap_next.wall / cfg.SNAP_EVERY)} ms per accepted "
        "sample.",
        "",
        "## Building blocks, each timed alone on the same store (warm)",
        "",
        table(["step", "wall ms", "CPU ms", "note"], prim_rows, "lrrl"),
        "",
    ]
    return "\n".join(lines)


def _sub(a: Timer, *bs: Timer) -> Timer:
    out = Timer()
    out.wall = a.wall - sum(b.wall for b in bs)
    out.cpu = a.cpu - sum(b.cpu for b in bs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rejected", type=int, default=15_000)
    parser.add_argument("--seed", type=int, default=99)
    parser.add_argument("--tmp", default="/tmp", help="folder for the temporary store")
    parser.add_argument("--keep", action="store_true", help="do not delete the store")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    save("resume", run(args), args.out)


if __name__ == "__main__":
    main()
