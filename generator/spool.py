"""The spool: every image a backend delivered, kept durably until its fate is on record.

A paid image is written here (raw bytes, as delivered, atomically: temporary name, fsync,
rename, fsync of the folder) before anything looks at it. It leaves the spool only once its
outcome is durable elsewhere: its sample's record in ``metadata.jsonl``, or its rejection line
in ``rejected.jsonl`` (and, with ``KEEP_REJECTED``, the bytes moved to ``rejected/``). A run that
dies in between leaves the file here; the next run feeds it to the vision stage instead of
calling the backend again.

Layout: ``ROOT/spool/<bucket>/<k>-<attempt>.<ext>``; kept rejects:
``ROOT/rejected/<bucket>/<k>-<attempt>.<ext>`` (``ext`` from the bytes' magic: png, jpg, webp,
gif, else bin).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from generator.config import BUCKETS

SPOOL = "spool"
REJECTED_DIR = "rejected"
TMP_SUFFIX = ".tmp"
_NAME = re.compile(r"^(0|[1-9][0-9]*)-(0|[1-9][0-9]*)\.(png|jpg|webp|gif|bin)$")


def image_ext(data: bytes) -> str:
    """File extension for image bytes, from their magic number."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    return "bin"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class SpoolEntry:
    bucket: str
    k: int
    attempt: int
    path: Path

    @property
    def plan_key(self) -> str:
        return f"{self.bucket}/{self.k}"


class Spool:
    """Delivered images of one store that have no durable outcome yet."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.folder = self.root / SPOOL
        self._index: dict[tuple[str, int, int], Path] = {}

    def scan(self) -> tuple[list[SpoolEntry], list[Path]]:
        """Load what a previous run left: (entries, unfinished writes ``*.tmp`` and files that are
        not ours). Entries are indexed for :meth:`get`."""
        self._index.clear()
        entries: list[SpoolEntry] = []
        other: list[Path] = []
        if not self.folder.is_dir():
            return entries, other
        for bucket in BUCKETS:
            d = self.folder / bucket
            if not d.is_dir() or d.is_symlink():
                continue
            for e in os.scandir(d):
                m = _NAME.match(e.name)
                if m and e.is_file(follow_symlinks=False):
                    entry = SpoolEntry(bucket, int(m[1]), int(m[2]), Path(e.path))
                    entries.append(entry)
                    self._index[(bucket, entry.k, entry.attempt)] = entry.path
                else:
                    other.append(Path(e.path))
        entries.sort(key=lambda s: (s.k, list(BUCKETS).index(s.bucket), s.attempt))
        return entries, other

    def __len__(self) -> int:
        return len(self._index)

    def keys(self) -> set[tuple[str, int]]:
        return {(b, k) for b, k, _ in self._index}

    def put(self, bucket: str, k: int, attempt: int, data: bytes) -> Path:
        """Write delivered bytes durably; returns their path."""
        d = self.folder / bucket
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"{k}-{attempt}.{image_ext(data)}"
        tmp = path.with_name(path.name + TMP_SUFFIX)
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(d)
        self._index[(bucket, k, attempt)] = path
        return path

    def get(self, bucket: str, k: int, attempt: int) -> bytes | None:
        """The spooled bytes of this attempt, or None (never spooled, or already settled)."""
        path = self._index.get((bucket, k, attempt))
        if path is None:
            return None
        try:
            return path.read_bytes()
        except FileNotFoundError:
            self._index.pop((bucket, k, attempt), None)
            return None

    def kept_name(self, bucket: str, k: int, attempt: int) -> str | None:
        """Where :meth:`settle` with ``keep`` puts this attempt, relative to the store root."""
        path = self._index.get((bucket, k, attempt))
        return f"{REJECTED_DIR}/{bucket}/{path.name}" if path is not None else None

    def settle(self, bucket: str, k: int, attempt: int, keep: bool = False) -> str | None:
        """The attempt's outcome is on record: drop its bytes, or with ``keep`` move them to
        ``rejected/<bucket>/`` and return that path relative to the store root."""
        path = self._index.pop((bucket, k, attempt), None)
        if path is None or not path.exists():
            return None
        if not keep:
            path.unlink()
            return None
        dest_dir = self.root / REJECTED_DIR / bucket
        dest_dir.mkdir(parents=True, exist_ok=True)
        dest = dest_dir / path.name
        os.replace(path, dest)
        _fsync_dir(dest_dir)
        return dest.relative_to(self.root).as_posix()


__all__ = ["REJECTED_DIR", "SPOOL", "Spool", "SpoolEntry", "image_ext"]
