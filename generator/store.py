"""The dataset store: the DGM4 tree under OUT_ROOT and its crash-safe ledgers.

Layout::

    OUT_ROOT/
      origin/generated/<id>.jpg            manipulation/text_attribute/<id>.jpg   ...
      metadata.jsonl     one accepted record per line (DGM4 keys + provenance), fsynced
      metadata.json      atomic snapshot of the same list
      rejected.jsonl     rejected items and attempts (schema.Rejection): a resume never pays again
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
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PIL import Image

from generator.config import BUCKETS, Config
from generator.errors import DataFileError, UsageError
from generator.imaging import encode_jpeg  # noqa: F401 - its old home; use generator.imaging
from generator.lock import StoreLock
from generator.schema import Rejection, Sample, SampleRules
from generator.spool import Spool

METADATA_JSONL = "metadata.jsonl"
METADATA_JSON = "metadata.json"
REJECTED_JSONL = "rejected.jsonl"
RUNS_JSONL = "runs.jsonl"
MANIFEST = "store.json"
TMP_SUFFIX = ".tmp"
QUARANTINE = "quarantine"
QUARANTINE_LOG = "quarantine.jsonl"
#: Images of the newest records are fully decoded on open; older ones are only stat-ed.
VERIFY_TAIL = 64
#: Knobs a store is tied to: resuming with other values would mix two datasets.
BOUND_KNOBS = ("SEED", "ID_OFFSET", "POST_W", "POST_H", "SHARD", "TEXT_SWAP_SPANS")
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
    line = (json.dumps(obj, ensure_ascii=False) + "\n").encode()
    with open(path, "ab") as fh:
        _mend_tail(fh)
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def _mend_file(path: Path) -> None:
    """Complete a whole last line that lacks its newline (see :func:`_mend_tail`)."""
    try:
        with open(path, "rb") as fh:
            if fh.seek(0, os.SEEK_END) == 0:
                return
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) == b"\n":
                return
    except FileNotFoundError:
        return
    with open(path, "ab") as fh:
        _mend_tail(fh)
        fh.flush()
        os.fsync(fh.fileno())


def _mend_tail(fh: Any) -> None:
    """Before an append: a last line that a failed write (disk full, a crash) left without its
    newline is completed if it is whole JSON, else cut off, so it never ends up mid-file."""
    end = fh.seek(0, os.SEEK_END)
    if end == 0:
        return
    with open(fh.name, "rb") as rd:
        rd.seek(end - 1)
        if rd.read(1) == b"\n":
            return
        start = max(0, end - (1 << 20))
        rd.seek(start)
        chunk = rd.read()
    cut = chunk.rfind(b"\n")
    if cut < 0 and start > 0:
        return  # a line over 1 MiB: leave it to the reader, which names it
    tail = chunk[cut + 1 :]
    try:
        whole = isinstance(json.loads(tail), dict)
    except (ValueError, RecursionError):
        whole = False
    if whole:
        fh.write(b"\n")
    else:
        fh.truncate(start + cut + 1)
        fh.seek(0, os.SEEK_END)


def read_jsonl(
    path: Path, repair: bool, linenos: list[int] | None = None
) -> tuple[list[dict[str, Any]], bool]:
    """Parse a JSONL ledger. A torn last line (no newline, or not JSON) is cut off the file
    (``repair``) or ignored; a bad line elsewhere is a :class:`DataFileError` naming the line.
    Returns (rows, was_torn); ``linenos``, when given, receives each row's line number."""
    if not path.exists():
        return [], False
    with _no_gc():
        return _read_jsonl(path, repair, linenos)


def read_rejections(path: Path) -> tuple[list[Rejection], bool]:
    """``rejected.jsonl``, each line a :class:`Rejection` (a bad one is one DataFileError naming
    the file, line and field), and whether its last line is torn (ignored here; the writer cuts
    it back)."""
    linenos: list[int] = []
    rows, torn = read_jsonl(path, repair=False, linenos=linenos)
    parse = Rejection.from_json
    with _no_gc():
        return [parse(r, where=(path, n)) for r, n in zip(rows, linenos, strict=True)], torn


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


def _read_jsonl(
    path: Path, repair: bool, linenos: list[int] | None
) -> tuple[list[dict[str, Any]], bool]:
    if path.is_dir():
        raise DataFileError(path, None, "is a folder, not a JSONL file; move it away")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataFileError(path, None, f"cannot be read ({exc.strerror})") from None
    parts = data.split(b"\n")
    tail = parts.pop()  # bytes after the last newline
    unterminated = False
    if tail.strip():
        # A whole JSON object whose newline never made it is kept (and completed); only an
        # unparsable last line is a torn write.
        parts.append(tail)
        unterminated = True
    torn = False
    rows: list[dict[str, Any]] = []
    good_end = offset = 0
    for lineno, raw in enumerate(parts, start=1):
        offset += len(raw) + 1
        if raw.strip():
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
                obj = None
            if not isinstance(obj, dict):
                if lineno == len(parts):
                    torn = True  # garbage in the last line: a torn write
                    break
                raise DataFileError(path, lineno, "not a JSON object; fix or remove this line")
            rows.append(obj)
            if linenos is not None:
                linenos.append(lineno)
        good_end = offset
    if repair and torn:
        with open(path, "r+b") as fh:
            fh.truncate(min(good_end, len(data)))
            fh.flush()
            os.fsync(fh.fileno())
    elif repair and unterminated:
        with open(path, "ab") as fh:
            fh.write(b"\n")
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


#: Marker files of the folders ``export`` and ``export-dgm4`` write.
EXPORT_MARKERS = (".dgm4plus-export.json", ".dgm4plus-dgm4-export.json")


def _refuse_export(root: Path) -> None:
    """An export's folder (or one inside it) is not a store: its images belong to the export."""
    for folder in (root, root.parent):
        for marker in EXPORT_MARKERS:
            if (folder / marker).is_file():
                raise UsageError(
                    f"--out {root}: is (inside) an export written by dgm4plus "
                    f"({folder / marker}), not a store; choose another --out"
                )


@dataclass(frozen=True)
class Orphan:
    """An image of ours without a record (a crash between its write and its record's)."""

    bucket: str
    k: int
    path: Path


class Store:
    """The only writer of the dataset tree."""

    def __init__(self, root: Path, cfg: Config) -> None:
        self.root = Path(root)
        self.cfg = cfg
        #: The accepted samples, in ledger order (metadata.jsonl's lines, parsed).
        self.records: list[Sample] = []
        self._json: list[bytes] = []  # JSON of records[: len(_json)], for snapshot()
        self._json_last: Sample | None = None  # records[len(_json) - 1] when _json was built
        #: The items' own verdicts (rejected.jsonl lines without an "attempt"), in file order.
        self.rejected: list[Rejection] = []
        self._since_snapshot = 0
        self._lock: StoreLock | None = None
        self.orphans: list[Orphan] = []
        self.foreign: list[Path] = []
        self.spool = Spool(self.root)
        #: plan_key -> {attempt: reason} of rejected generation attempts (rejected.jsonl lines
        #: with an "attempt"): the index a resume asks (:meth:`attempts_of`).
        self.attempts: dict[str, dict[int, str]] = {}

    # -- paths ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.root.name

    def bucket_dir(self, bucket: str) -> Path:
        return self.root / BUCKETS[bucket][1]

    def image_path(self, sample: Sample) -> Path:
        return self.root.parent / sample.image

    def relative_image(self, bucket: str, rid: int) -> str:
        return self.relative_image_name(bucket, f"{rid}.jpg")

    # -- opening and recovery -----------------------------------------------------------
    @classmethod
    def open(
        cls,
        root: Path,
        cfg: Config,
        purpose: str = "generate",
        prepare: Callable[[], object] | None = None,
    ) -> tuple[Store, Recovery]:
        """Take the store's writer lock (held until :meth:`close`), check it, then recover.

        Everything that can refuse the store (a linked class folder, a lost ledger, a bad
        store.json, a corrupt line) is checked before anything is written; ``prepare`` runs
        between the checks and the first write (the caller's own input checks)."""
        store = cls(root, cfg)
        _refuse_export(store.root)
        store._lock = StoreLock(store.root, purpose=purpose)
        store._lock.acquire()
        try:
            rec = Recovery()
            store._check_folders()
            lines, torn = read_jsonl(store.root / METADATA_JSONL, repair=False)
            store._check_ledger(lines)
            store._check_manifest(write=False)
            records = store._check_records(lines)
            del lines
            rejected, torn_r = read_rejections(store.root / REJECTED_JSONL)
            if prepare is not None:
                prepare()
            for bucket in BUCKETS:
                store.bucket_dir(bucket).mkdir(parents=True, exist_ok=True)
            store._check_manifest(write=True)
            store._recover(rec, records, torn, rejected, torn_r)
        except BaseException:
            store.close()
            raise
        return store, rec

    def close(self) -> None:
        """Release the writer lock (also released by the OS when the process ends)."""
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_folders(self) -> None:
        """Class folders (and the folders above them in the store) must be real folders: a
        linked one would make this program write into, or tidy up, somebody else's folder.
        """
        for name in (METADATA_JSON, RUNS_JSONL, REJECTED_JSONL, MANIFEST):
            if (self.root / name).is_dir():
                raise DataFileError(
                    self.root / name, None, "is a folder where the store keeps a file; move it away"
                )
        for bucket in BUCKETS:
            path = self.root
            for part in BUCKETS[bucket][1].split("/"):
                path = path / part
                if path.is_symlink():
                    raise UsageError(
                        f"{path} is a symbolic link; dgm4plus only writes into real folders of "
                        "its store (replace the link with a folder, or use another --out)"
                    )
                if path.exists() and not path.is_dir():
                    raise UsageError(
                        f"{path} is a file where the store needs a folder; move it away"
                    )

    def _check_ledger(self, records: list[dict[str, Any]]) -> None:
        """Refuse a ledger that lost records the snapshot still lists (missing, emptied or cut
        short): treating it as the truth would orphan, and re-pay for, every sample it lost."""
        # Raw lines: it runs before they become Samples, against a snapshot that may hold anything.
        meta, snap = self.root / METADATA_JSONL, self.root / METADATA_JSON
        try:
            snap_size = snap.stat().st_size
        except OSError:
            return
        meta_size = meta.stat().st_size if meta.exists() else 0
        # The snapshot is the ledger's lines joined by ", ": when it is not larger than that it
        # cannot list a record the ledger lacks, and the (slow, at 100k) parse is skipped.
        if snap_size <= meta_size + len(records) + 3:
            return
        try:
            snapshot = json.loads(snap.read_bytes())
        except (ValueError, RecursionError):
            return  # a broken snapshot is only a cache of the ledger: it is rewritten
        if not isinstance(snapshot, list):
            return
        have = {r.get("id") for r in records}
        lost = [
            r
            for r in snapshot
            if isinstance(r, dict)
            and r.get("id") not in have
            and isinstance(r.get("image"), str)
            and (self.root.parent / r["image"]).is_file()
        ]
        if not lost:
            return
        state = (
            "is missing"
            if not meta.exists()
            else "is empty"
            if not records
            else f"holds {len(records)} records"
        )
        raise UsageError(
            f"{meta} {state} but {METADATA_JSON} lists {len(snapshot)} samples ({len(lost)} of "
            f"them with their image and not in the ledger); refusing to treat them as lost: run "
            f"`dgm4plus repair {self.root}` to rebuild the ledger from the snapshot and the images"
        )

    def _check_manifest(self, write: bool) -> None:
        path = self.root / MANIFEST
        bound = {k: getattr(self.cfg, k) for k in BOUND_KNOBS}
        if path.is_dir():
            raise DataFileError(
                path, None, "is a folder, not the store's JSON manifest; move it away"
            )
        if path.exists():
            try:
                have = json.loads(path.read_bytes())
            except (ValueError, RecursionError):
                raise DataFileError(path, None, "not valid JSON") from None
            if not isinstance(have, dict):
                raise DataFileError(
                    path,
                    None,
                    f"must hold a JSON object of knobs, not {type(have).__name__}".replace(
                        "NoneType", "null"
                    ),
                )
            for key in BOUND_KNOBS:
                if key in have and have[key] != bound[key]:
                    raise UsageError(
                        f"{self.root} was built with {key}={have[key]}, not {bound[key]}: pass "
                        f"{'--' + key.lower().replace('_', '-')} {have[key]} to resume it, "
                        "or use another --out"
                    )
            if all(have.get(k) == v for k, v in bound.items()):
                return
        if write:
            write_atomic(path, (json.dumps({**bound, "format": 1}, indent=2) + "\n").encode())

    def quarantine(self, path: Path, reason: str, rec: Recovery | None = None) -> Path:
        """Move one of our files out of the dataset into ``quarantine/``, with a line saying why
        (``quarantine/quarantine.jsonl``); nothing is deleted."""
        rel = path.relative_to(self.root)
        dest_dir = self.root / QUARANTINE / rel.parent
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / rel.name
        n = 1
        while dest.exists():
            dest = dest_dir / f"{rel.name}.{n}"
            n += 1
        os.replace(path, dest)
        _fsync_dir(path.parent)
        _append_line(
            self.root / QUARANTINE / QUARANTINE_LOG,
            {
                "file": rel.as_posix(),
                "moved_to": dest.relative_to(self.root).as_posix(),
                "reason": reason,
                "time": datetime.now(UTC).isoformat(timespec="seconds"),
            },
        )
        if rec is not None:
            rec.add(f"{path}: {reason}; moved to {dest}")
        return dest

    def _check_records(self, lines: list[dict[str, Any]]) -> list[Sample]:
        """Read-only: every line becomes a :class:`Sample` whose identity is checked (its image
        path is in its class folder of this store), and no id repeats; one line naming the
        file, line and field otherwise."""
        meta = self.root / METADATA_JSONL
        self._check_root_name(lines)
        rules = SampleRules.from_config(self.cfg, self.name)
        tail = len(lines) - VERIFY_TAIL
        trusted, full = Sample.from_json_trusted, Sample.from_json
        with _no_gc():
            # The one schema, with this store's settings: a bad field is one line naming it.
            # Every record's identity (what resume relies on; the image path too: it must be
            # <store>/<class folder>/<id>.jpg); the newest ones, whose images are decoded on
            # recovery, in full. The readers (builder, exports, validate) check every field.
            samples = [
                (trusted if i < tail else full)(r, where=(meta, i + 1), rules=rules)
                for i, r in enumerate(lines)
            ]
        seen_ids: set[int] = set()
        for i, sample in enumerate(samples):
            if sample.id in seen_ids:
                raise DataFileError(
                    meta, i + 1, f"id {sample.id} appears twice; remove the duplicate line"
                )
            seen_ids.add(sample.id)
        return samples

    def _recover(
        self,
        rec: Recovery,
        records: list[Sample],
        torn: bool,
        rejected: list[Rejection],
        torn_r: bool,
    ) -> None:
        meta = self.root / METADATA_JSONL
        if torn:
            read_jsonl(meta, repair=True)
            rec.add(f"{meta}: cut a torn last line back to the last whole record")
        else:
            _mend_file(meta)  # a whole last record without its newline: completed
        if torn_r:
            read_jsonl(self.root / REJECTED_JSONL, repair=True)
            rec.add(f"{self.root / REJECTED_JSONL}: cut a torn last line back")
        else:
            _mend_file(self.root / REJECTED_JSONL)
        # One directory listing per class folder instead of a stat per record: fast at 100k.
        listing = {b: {e.name: e for e in os.scandir(self.bucket_dir(b))} for b in BUCKETS}
        size = (self.cfg.POST_W, self.cfg.POST_H)
        keep: list[Sample] = []
        referenced: dict[str, set[str]] = {b: set() for b in BUCKETS}
        for i, r in enumerate(records):
            bucket = r.fake_cls
            image = r.image
            name = image.rpartition("/")[2]
            # Images are fsynced and renamed before their record is written, so a recorded image
            # is whole unless something outside deleted or damaged it: list all, decode the tail.
            entry = listing[bucket].get(name)
            present = entry is not None and entry.is_file(follow_symlinks=False)
            ok = present and (
                i < len(records) - VERIFY_TAIL or _image_ok(self.image_path(r), size, full=True)
            )
            if ok:
                keep.append(r)
                referenced[bucket].add(name)
            elif present:
                self.quarantine(
                    self.image_path(r),
                    f"image of {r.plan_key} does not decode or is not "
                    f"{size[0]}x{size[1]}; record dropped, will be built again",
                    rec,
                )
                referenced[bucket].add(name)
            else:
                rec.add(f"{r.plan_key}: image {image} missing; record dropped, will be built again")
        if len(keep) != len(records):
            self._rewrite_metadata(keep)
        self.records = keep
        self.rejected = []
        for rejected_record in rejected:
            self._note_rejected(rejected_record)
        self._sort_unrecorded(listing, referenced, rec)
        self._recover_spool(rec)
        snap = self.root / METADATA_JSON
        stale = not snap.exists() or (
            meta.exists() and meta.stat().st_mtime_ns > snap.stat().st_mtime_ns
        )
        if stale or torn or len(keep) != len(records):
            self.snapshot()

    def _sort_unrecorded(
        self,
        listing: dict[str, dict[str, os.DirEntry[str]]],
        referenced: dict[str, set[str]],
        rec: Recovery,
    ) -> None:
        """Files in class folders without a record. Ours (``<id>.jpg`` with this folder's id
        range) become :attr:`orphans`, adopted by the next run; an interrupted write of ours
        (``<id>.jpg.tmp``) goes to quarantine; anything else is not ours: left alone, reported."""
        self.orphans = []
        self.foreign = []
        for bucket in BUCKETS:
            for name in sorted(set(listing[bucket]) - referenced[bucket]):
                entry = listing[bucket][name]
                path = self.bucket_dir(bucket) / name
                k = self._our_k(bucket, name)
                if k is not None and entry.is_file(follow_symlinks=False):
                    self.orphans.append(Orphan(bucket, k, path))
                elif (
                    name.endswith(".jpg" + TMP_SUFFIX)
                    and entry.is_file(follow_symlinks=False)
                    and self._our_k(bucket, name[: -len(TMP_SUFFIX)]) is not None
                ):
                    self.quarantine(path, "an image write a crash interrupted", rec)
                else:
                    self.foreign.append(path)
                    rec.add(
                        f"{path}: not written by dgm4plus; left alone (not part of the dataset)"
                    )

    def _note_rejected(self, entry: Rejection) -> None:
        if entry.attempt is not None:
            self.attempts.setdefault(entry.plan_key, {})[entry.attempt] = entry.reason
        else:
            self.rejected.append(entry)

    def _recover_spool(self, rec: Recovery) -> None:
        """Spooled images whose outcome is already on record are settled (a crash came between
        the two); the rest wait for the run, which processes them before calling the backend."""
        entries, other = self.spool.scan()
        for path in other:
            if path.name.endswith(TMP_SUFFIX):
                self.quarantine(
                    path, "a spool write a crash interrupted (never complete, never used)", rec
                )
            else:
                rec.add(f"{path}: not written by dgm4plus; left alone")
        accepted = {r.plan_key: r.attempt for r in self.records}
        decided = {r.plan_key for r in self.rejected}
        pending = 0
        for e in entries:
            key = e.plan_key
            if key in accepted or key in decided or e.attempt in self.attempts.get(key, {}):
                kept = self.cfg.KEEP_REJECTED and accepted.get(key, -1) != e.attempt
                self.spool.settle(e.bucket, e.k, e.attempt, keep=kept)
            else:
                pending += 1
        if pending:
            rec.add(
                f"{self.spool.folder}: {pending} delivered image(s) from an earlier run are processed "
                "first, with no new call"
            )

    def attempts_of(self, plan_key: str) -> dict[int, str]:
        """Rejected generation attempts of an item already on record: attempt -> reason."""
        return self.attempts.get(plan_key, {})

    def append_rejected_attempt(self, entry: Rejection) -> None:
        """One rejected generation attempt (a delivered image), on record at once."""
        _append_line(self.root / REJECTED_JSONL, entry.to_json())
        self._note_rejected(entry)

    def _our_k(self, bucket: str, name: str) -> int | None:
        """k of an image name this program would write into ``bucket``'s folder, else None."""
        stem, dot, ext = name.partition(".")
        if ext != "jpg" or not stem.isdigit() or stem != str(int(stem)):
            return None
        k = int(stem) - record_id(self.cfg, bucket, 0)
        return k if 0 <= k < ID_STRIDE else None

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

    def _rewrite_metadata(self, records: Iterable[Sample]) -> None:
        body = "".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in records)
        write_atomic(self.root / METADATA_JSONL, body.encode())

    # -- state ---------------------------------------------------------------------------
    def accepted_count(self) -> dict[str, int]:
        """Accepted samples per class, those a reviewer rejected left out: generate fills their
        places from the next unused plan items (their records keep their plan keys used)."""
        from generator.reviews import rejected_ids

        gone = rejected_ids(self.root)
        counts = dict.fromkeys(BUCKETS, 0)
        for r in self.records:
            if r.id not in gone:
                counts[r.fake_cls] += 1
        return counts

    def used_keys(self) -> dict[str, set[int]]:
        used: dict[str, set[int]] = {b: set() for b in BUCKETS}
        for r in self.records:
            bucket, k = split_key(r.plan_key)
            used[bucket].add(k)
        for entry in self.rejected:
            bucket, k = split_key(entry.plan_key)
            used[bucket].add(k)
        return used

    # -- writing -------------------------------------------------------------------------
    def append_accepted(self, sample: Sample, jpeg: bytes) -> None:
        write_atomic(self.image_path(sample), jpeg)  # the image first, then its record
        _append_line(self.root / METADATA_JSONL, sample.to_json())
        self.records.append(sample)
        self._since_snapshot += 1
        if self._since_snapshot >= self.cfg.SNAP_EVERY:
            self.snapshot()

    def append_record(self, sample: Sample) -> None:
        """The record of an image already in place (adoption, repair)."""
        _append_line(self.root / METADATA_JSONL, sample.to_json())
        self.records.append(sample)
        self._since_snapshot += 1

    def append_rejected(self, entry: Rejection) -> None:
        """An item's verdict (a :class:`Rejection` without ``attempt``), on record at once."""
        _append_line(self.root / REJECTED_JSONL, entry.to_json())
        self.rejected.append(entry)

    def _records_json(self) -> list[bytes]:
        """The JSON of every record (UTF-8), kept between snapshots: each snapshot serialises
        only the records appended since the last one (at 100k records, 2.8 s for all of them)."""
        parts = self._json
        n = len(parts)
        if n > len(self.records) or (n and self.records[n - 1] is not self._json_last):
            parts.clear()  # the records were replaced: serialise them again
            n = 0
        if n < len(self.records):
            # The cyclic GC paused: 100k new dicts would set off full collections (2x the time).
            was = gc.isenabled()
            gc.disable()
            try:
                parts.extend(
                    json.dumps(r.to_json(), ensure_ascii=False).encode() for r in self.records[n:]
                )
            finally:
                if was:
                    gc.enable()
            self._json_last = self.records[-1]
        return parts

    def snapshot(self) -> None:
        # The bytes json.dumps(list of records, ensure_ascii=False) writes: "[", the records'
        # JSON joined by ", ", "]" (no indent: json's C encoder only runs without it).
        body = b"[" + b", ".join(self._records_json()) + b"]\n"
        write_atomic(self.root / METADATA_JSON, body)
        self._since_snapshot = 0

    def append_run(self, stats: dict[str, Any]) -> None:
        _append_line(self.root / RUNS_JSONL, stats)


# ----------------------------------------------------------------------------------------
# Read-only access for the builder and release code


def load_records(root: Path) -> list[Sample]:
    """Accepted samples of a store in ledger order, read-only, each checked in full against the
    store's own settings (:func:`generator.store_reader.parse_samples`; the first bad line is one
    :class:`DataFileError`). A torn last line (a crash mid-append) is ignored; a missing or
    empty store is one clear :class:`UsageError`."""
    from generator.store_reader import parse_samples

    root = Path(root)
    meta = root / METADATA_JSONL
    if not root.is_dir():
        raise UsageError(f"no dataset store at {root} (run `dgm4plus generate --out {root}` first)")
    if not meta.exists():
        raise UsageError(
            f"{root} has no {METADATA_JSONL}: not a dgm4plus store, or nothing generated yet"
        )
    samples: list[Sample] = []
    with _no_gc():
        for _, item in parse_samples(root):
            if isinstance(item, DataFileError):
                raise item
            samples.append(item)
    if not samples:
        raise UsageError(f"{meta} holds no records yet (run `dgm4plus generate --out {root}`)")
    return samples


def load_runs(root: Path) -> list[dict[str, Any]]:
    rows, _ = read_jsonl(Path(root) / RUNS_JSONL, repair=False)
    return rows


def warn(line: str) -> None:
    """One warning line on stderr, written above any progress bar (generator.console)."""
    from generator import console

    console.warn(line)
