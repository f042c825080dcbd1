"""The dataset store: the DGM4 tree under OUT_ROOT and its crash-safe ledgers.

Layout::

    OUT_ROOT/
      origin/generated/<id>.jpg            manipulation/text_attribute/<id>.jpg   ...
      metadata.jsonl     one accepted record per line (DGM4 keys + provenance), fsynced
      metadata.json      atomic snapshot of the same list
      rejected.jsonl     plan items that were rejected or refused, so a resume never pays again
      runs.jsonl         statistics of every generate run
      store.json         the knobs a store is tied to (seed, id offset, image size)

Write order makes every crash recoverable: an image goes to a temporary name, is flushed and
renamed, and only then is its record appended and fsynced. On open, a torn last line is cut back,
an image without a record is removed, and a record whose image is missing or broken is dropped
(its plan item is built again).
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from generator.config import BUCKETS, Config
from generator.errors import DataFileError, UsageError

METADATA_JSONL = "metadata.jsonl"
METADATA_JSON = "metadata.json"
REJECTED_JSONL = "rejected.jsonl"
RUNS_JSONL = "runs.jsonl"
MANIFEST = "store.json"
TMP_SUFFIX = ".tmp"
#: Images of the newest records are fully decoded on open; older ones are only stat-ed.
VERIFY_TAIL = 64
#: Knobs a store is tied to: resuming with other values would mix two datasets.
BOUND_KNOBS = ("SEED", "ID_OFFSET", "POST_W", "POST_H")
BUCKET_INDEX = {b: i for i, b in enumerate(BUCKETS)}
ID_STRIDE = 100_000_000


def record_id(cfg: Config, bucket: str, k: int) -> int:
    """Stable id from the plan key: ID_OFFSET + bucket index x 10^8 + k."""
    return cfg.ID_OFFSET + BUCKET_INDEX[bucket] * ID_STRIDE + k


def split_key(plan_key: str) -> tuple[str, int]:
    bucket, _, k = plan_key.rpartition("/")
    if bucket not in BUCKETS or not k.isdigit():
        raise ValueError(f"bad plan_key {plan_key!r}")
    return bucket, int(k)


# ----------------------------------------------------------------------------------------
# Small durable-write helpers


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + TMP_SUFFIX)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _append_line(path: Path, obj: dict[str, Any]) -> None:
    line = json.dumps(obj, ensure_ascii=False) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def read_jsonl(path: Path, repair: bool) -> tuple[list[dict[str, Any]], bool]:
    """Parse a JSONL ledger. A torn last line (no newline, or not JSON) is cut off the file
    (``repair``) or ignored; a bad line elsewhere is a :class:`DataFileError` naming the line.
    Returns (rows, was_torn)."""
    if not path.exists():
        return [], False
    with _no_gc():
        return _read_jsonl(path, repair)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Parsing 100k records allocates millions of objects that all survive: the cyclic GC
    would traverse them again and again (a 5x slower parse, measured) for nothing. They are
    then frozen (moved out of the GC's sight; refcounting still frees them), or the next
    collections would scan them all again."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was:
            gc.enable()


def _read_jsonl(path: Path, repair: bool) -> tuple[list[dict[str, Any]], bool]:
    parts = path.read_bytes().split(b"\n")
    torn = parts.pop() != b""  # bytes after the last newline: a line cut short
    rows: list[dict[str, Any]] = []
    good_end = offset = 0
    for lineno, raw in enumerate(parts, start=1):
        offset += len(raw) + 1
        if raw.strip():
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                obj = None
            if not isinstance(obj, dict):
                if lineno == len(parts) and not torn:
                    torn = True  # garbage in the last line: also a torn write
                    break
                raise DataFileError(path, lineno, "not a JSON object; fix or remove this line")
            rows.append(obj)
        good_end = offset
    if torn and repair:
        with open(path, "r+b") as fh:
            fh.truncate(good_end)
            fh.flush()
            os.fsync(fh.fileno())
    return rows, torn


def _image_ok(path: Path, size: tuple[int, int] | None, full: bool) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    if st.st_size == 0:
        return False
    if not full:
        return True
    try:
        with Image.open(path) as im:
            im.load()
            return size is None or im.size == size
    except Exception:  # noqa: BLE001 - any decode failure means the image is broken
        return False


# ----------------------------------------------------------------------------------------


@dataclass
class Recovery:
    """What opening the store repaired, one line each."""

    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line)


class Store:
    """The only writer of the dataset tree."""

    def __init__(self, root: Path, cfg: Config) -> None:
        self.root = Path(root)
        self.cfg = cfg
        self.records: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        self._since_snapshot = 0

    # -- paths ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.root.name

    def bucket_dir(self, bucket: str) -> Path:
        return self.root / BUCKETS[bucket][1]

    def image_path(self, record: dict[str, Any]) -> Path:
        return self.root.parent / record["image"]

    def relative_image(self, bucket: str, rid: int) -> str:
        return self.relative_image_name(bucket, f"{rid}.jpg")

    # -- opening and recovery -----------------------------------------------------------
    @classmethod
    def open(cls, root: Path, cfg: Config) -> tuple[Store, Recovery]:
        store = cls(root, cfg)
        rec = Recovery()
        store.root.mkdir(parents=True, exist_ok=True)
        for bucket in BUCKETS:
            store.bucket_dir(bucket).mkdir(parents=True, exist_ok=True)
        store._check_manifest()
        store._recover(rec)
        return store, rec

    def _check_manifest(self) -> None:
        path = self.root / MANIFEST
        bound = {k: getattr(self.cfg, k) for k in BOUND_KNOBS}
        if path.exists():
            try:
                have = json.loads(path.read_text())
            except json.JSONDecodeError:
                raise DataFileError(path, None, "not valid JSON") from None
            for key in BOUND_KNOBS:
                if key in have and have[key] != bound[key]:
                    raise UsageError(
                        f"{self.root} was built with {key}={have[key]}, not {bound[key]}: pass "
                        f"{'--' + key.lower().replace('_', '-')} {have[key]} to resume it, "
                        "or use another --out"
                    )
            if all(have.get(k) == v for k, v in bound.items()):
                return
        write_atomic(path, (json.dumps({**bound, "format": 1}, indent=2) + "\n").encode())

    def _recover(self, rec: Recovery) -> None:
        meta = self.root / METADATA_JSONL
        records, torn = read_jsonl(meta, repair=True)
        if torn:
            rec.add(f"{meta}: cut a torn last line back to the last whole record")
        rejected, torn_r = read_jsonl(self.root / REJECTED_JSONL, repair=True)
        if torn_r:
            rec.add(f"{self.root / REJECTED_JSONL}: cut a torn last line back")
        self._check_root_name(records)
        # One directory listing per class folder instead of a stat per record: fast at 100k.
        present = {b: {e.name for e in os.scandir(self.bucket_dir(b)) if e.is_file()} for b in BUCKETS}
        size = (self.cfg.POST_W, self.cfg.POST_H)
        keep: list[dict[str, Any]] = []
        referenced: dict[str, set[str]] = {b: set() for b in BUCKETS}
        for i, r in enumerate(records):
            for key in ("id", "image", "plan_key", "text", "fake_cls", "phash"):
                if key not in r:
                    raise DataFileError(meta, i + 1, f"record lacks {key!r}")
            bucket = r["fake_cls"]
            name = r["image"].rpartition("/")[2]
            if bucket not in BUCKETS or r["image"] != self.relative_image_name(bucket, name):
                raise DataFileError(meta, i + 1, f"image path {r['image']!r} is not in the {bucket} folder of {self.name}")
            # Images are fsynced and renamed before their record is written, so a recorded image
            # is whole unless something outside deleted or damaged it: list all, decode the tail.
            ok = name in present[bucket] and (
                i < len(records) - VERIFY_TAIL or _image_ok(self.image_path(r), size, full=True))
            if ok:
                keep.append(r)
                referenced[bucket].add(name)
            else:
                rec.add(f"{r['plan_key']}: image {r['image']} missing or broken; record dropped, will be built again")
                self.image_path(r).unlink(missing_ok=True)
        if len(keep) != len(records):
            self._rewrite_metadata(keep)
        self.records = keep
        self.rejected = rejected
        for bucket in BUCKETS:
            for name in sorted(present[bucket] - referenced[bucket]):
                (self.bucket_dir(bucket) / name).unlink(missing_ok=True)
                rec.add(f"{self.bucket_dir(bucket) / name}: image without a record removed")
        snap = self.root / METADATA_JSON
        stale = not snap.exists() or (meta.exists() and meta.stat().st_mtime_ns > snap.stat().st_mtime_ns)
        if stale or torn or len(keep) != len(records):
            self.snapshot()

    def _check_root_name(self, records: list[dict[str, Any]]) -> None:
        """Record paths start with the store's folder name; a renamed store would otherwise look
        like a store whose every image is missing (and whose every image is an orphan)."""
        if records and "image" in records[0]:
            first = str(records[0]["image"]).split("/", 1)[0]
            if first != self.name:
                raise UsageError(
                    f"{self.root}: records name their images {first}/..., so this store was "
                    f"renamed from {first!r}; rename it back (or copy it to a folder named {first})"
                )

    def relative_image_name(self, bucket: str, name: str) -> str:
        return f"{self.name}/{BUCKETS[bucket][1]}/{name}"

    def _rewrite_metadata(self, records: Iterable[dict[str, Any]]) -> None:
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        write_atomic(self.root / METADATA_JSONL, body.encode())

    # -- state ---------------------------------------------------------------------------
    def accepted_count(self) -> dict[str, int]:
        counts = dict.fromkeys(BUCKETS, 0)
        for r in self.records:
            counts[r["fake_cls"]] += 1
        return counts

    def used_keys(self) -> dict[str, set[int]]:
        used: dict[str, set[int]] = {b: set() for b in BUCKETS}
        for r in (*self.records, *self.rejected):
            bucket, k = split_key(r["plan_key"])
            used[bucket].add(k)
        return used

    # -- writing -------------------------------------------------------------------------
    def append_accepted(self, record: dict[str, Any], jpeg: bytes) -> None:
        write_atomic(self.image_path(record), jpeg)  # the image first, then its record
        _append_line(self.root / METADATA_JSONL, record)
        self.records.append(record)
        self._since_snapshot += 1
        if self._since_snapshot >= self.cfg.SNAP_EVERY:
            self.snapshot()

    def append_rejected(self, entry: dict[str, Any]) -> None:
        _append_line(self.root / REJECTED_JSONL, entry)
        self.rejected.append(entry)

    def snapshot(self) -> None:
        # No indent: json's C encoder only runs without it (2x faster at 100k records).
        body = json.dumps(self.records, ensure_ascii=False) + "\n"
        write_atomic(self.root / METADATA_JSON, body.encode())
        self._since_snapshot = 0

    def append_run(self, stats: dict[str, Any]) -> None:
        _append_line(self.root / RUNS_JSONL, stats)


# ----------------------------------------------------------------------------------------
# Read-only access for the builder and release code


def load_records(root: Path) -> list[dict[str, Any]]:
    """Accepted records of a store, read-only. A torn last line (a crash mid-append) is
    ignored; a missing or empty store is one clear :class:`UsageError`."""
    root = Path(root)
    meta = root / METADATA_JSONL
    if not root.is_dir():
        raise UsageError(f"no dataset store at {root} (run `dgm4plus generate --out {root}` first)")
    if not meta.exists():
        raise UsageError(f"{root} has no {METADATA_JSONL}: not a dgm4plus store, or nothing generated yet")
    rows, _ = read_jsonl(meta, repair=False)
    if not rows:
        raise UsageError(f"{meta} holds no records yet (run `dgm4plus generate --out {root}`)")
    return rows


def load_runs(root: Path) -> list[dict[str, Any]]:
    rows, _ = read_jsonl(Path(root) / RUNS_JSONL, repair=False)
    return rows


def encode_jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def warn(line: str) -> None:
    """One warning line on stderr, written above any progress bar (generator.console)."""
    from generator import console

    console.warn(line)
