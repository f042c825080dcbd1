"""One writer at a time: an exclusive OS lock on a store.

Every command that writes a store (generate, repair, review, reject) holds :class:`StoreLock`
for as long as it may write::

    with StoreLock(root, purpose="generate"):
        ...

The lock is ``fcntl.flock`` on ``ROOT/store.lock``. The kernel releases it when the process
ends, however it ends (SIGKILL included), so a crash never leaves a stale lock behind; the file
itself stays and only describes the last holder (pid, host, start time, command). A second
writer gets :class:`StoreLocked` (a :class:`UsageError`: one line naming the holder, exit 2).

Inside one process the lock is re-entrant: a review server that holds it can call code that
takes it again (``flock`` locks belong to an open file, so a second open would conflict).
Readers never take it; :func:`writer_of` tells them whether a writer is running.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from generator.errors import UsageError

LOCK_NAME = "store.lock"
#: A reader's probe (:func:`writer_of`) holds a shared lock for microseconds; a writer that
#: meets one retries for this long before it calls the store busy.
_ACQUIRE_PATIENCE_S = 1.0


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a store's writer lock."""

    pid: int | None
    host: str
    started: str
    command: str

    def describe(self) -> str:
        pid = f"pid {self.pid}" if self.pid is not None else "a process"
        return f"{pid} on {self.host or 'an unknown host'}, since {self.started or '?'}: {self.command or '?'}"

    @classmethod
    def from_text(cls, text: str) -> Holder:
        try:
            data: Any = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return cls(None, "", "", "")
        pid = data.get("pid")
        return cls(
            pid if isinstance(pid, int) else None,
            str(data.get("host", "")),
            str(data.get("started", "")),
            str(data.get("command", "")),
        )


class StoreLocked(UsageError):
    """Another process holds the store's writer lock."""

    def __init__(self, root: Path, holder: Holder) -> None:
        super().__init__(
            f"{root} is being written by another dgm4plus ({holder.describe()}); "
            "wait for it to finish or stop it, then run this again"
        )
        self.root = root
        self.holder = holder


# Re-entrancy: (st_dev, st_ino) of a lock file this process holds -> (fd, depth).
_held: dict[tuple[int, int], list[int]] = {}
_held_guard = threading.Lock()


def _command_line(purpose: str) -> str:
    argv = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
    line = f"{purpose} ({argv})" if argv else purpose
    return line if len(line) <= 300 else line[:297] + "..."


#: Folders of this project a store must never be written into (or around).
_PROJECT_FOLDERS = ("generator", "tests", "scripts", "bench", ".git", ".venv", ".ci", "seed")


def _project_root() -> Path | None:
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").is_file() else None


def check_store_root(root: Path) -> None:
    """A store root must be an encodable path to a folder (or to nothing yet, under folders),
    outside this project's own folders: one line otherwise, before anything is written."""
    text = str(root)
    if "\0" in text or not text.strip():
        raise UsageError(f"--out {text!r}: not a usable folder name")
    try:
        os.fsencode(root)
        text.encode("utf-8")
    except UnicodeError:
        raise UsageError(
            f"--out {text!r}: the name cannot be encoded for this file system"
        ) from None
    if root.is_symlink() and not root.exists():
        raise UsageError(f"--out {root}: a symbolic link to nothing")
    if root.exists() and not root.is_dir():
        raise UsageError(f"--out {root}: exists and is not a folder")
    for parent in root.absolute().parents:
        if parent.exists() and not parent.is_dir():
            raise UsageError(f"--out {root}: {parent} is a file, not a folder")
    real = root.resolve()
    package = Path(__file__).resolve().parent
    if real.is_relative_to(package) or package.is_relative_to(real):
        raise UsageError(
            f"--out {root}: would write into the dgm4plus package ({package}); choose a data folder"
        )
    project = _project_root()
    if project is not None:
        if real == project or project.is_relative_to(real):
            raise UsageError(
                f"--out {root}: would hold this project's own files ({project}); choose a data folder"
            )
        for name in _PROJECT_FOLDERS:
            if real.is_relative_to(project / name):
                raise UsageError(
                    f"--out {root}: is inside the project's {name}/ folder; choose a data folder"
                )


class StoreLock:
    """Exclusive writer lock on the store at ``root`` (a context manager).

    ``create`` makes the store folder when it does not exist yet (generate); commands that only
    change an existing store (repair, review) pass ``create=False`` and get one line instead.
    """

    def __init__(self, root: str | os.PathLike[str], purpose: str, *, create: bool = True) -> None:
        self.root = Path(root)
        self.purpose = purpose
        self.create = create
        self._key: tuple[int, int] | None = None

    @property
    def path(self) -> Path:
        return self.root / LOCK_NAME

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    def acquire(self) -> None:
        check_store_root(self.root)
        if not self.root.is_dir():
            if not self.create:
                raise UsageError(f"{self.root}: no such store")
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UsageError(
                    f"--out {self.root}: cannot create the folder ({exc.strerror})"
                ) from None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise UsageError(
                f"{self.path}: cannot open the store's lock file ({exc.strerror})"
            ) from None
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        with _held_guard:
            if key in _held:  # this process already holds it: re-enter
                os.close(fd)
                _held[key][1] += 1
                self._key = key
                return
        deadline = time.monotonic() + _ACQUIRE_PATIENCE_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                holder = _read_holder(fd)
                if holder.pid is not None or time.monotonic() > deadline:
                    os.close(fd)
                    raise StoreLocked(self.root, holder) from None
                time.sleep(0.02)  # a reader's probe, or a writer that has not written its line yet
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": _command_line(self.purpose),
            "purpose": self.purpose,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        with _held_guard:
            _held[key] = [fd, 1]
        self._key = key

    def release(self) -> None:
        key, self._key = self._key, None
        if key is None:
            return
        with _held_guard:
            entry = _held.get(key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] > 0:
                return
            del _held[key]
        fd = entry[0]
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # nobody holds it now
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _read_holder(fd: int) -> Holder:
    try:
        return Holder.from_text(os.pread(fd, 4096, 0).decode("utf-8", "replace"))
    except OSError:
        return Holder(None, "", "", "")


def held_here(root: str | os.PathLike[str]) -> bool:
    """Whether this process holds the writer lock of ``root``."""
    try:
        st = os.stat(Path(root) / LOCK_NAME)
    except OSError:
        return False
    with _held_guard:
        return (st.st_dev, st.st_ino) in _held


def writer_of(root: str | os.PathLike[str]) -> Holder | None:
    """The writer holding ``root``'s lock right now, or None. For readers: takes nothing but a
    shared lock for an instant (a writer starting in that instant waits it out)."""
    if held_here(root):
        return None
    try:
        fd = os.open(Path(root) / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _read_holder(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


__all__ = [
    "LOCK_NAME",
    "Holder",
    "StoreLock",
    "StoreLocked",
    "check_store_root",
    "held_here",
    "writer_of",
]
