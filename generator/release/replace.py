"""Crash-safe replacement of an output folder, shared by export, export-dgm4 and push.

An export is built in a sibling work folder (:func:`work_folder`) and put in place by
:func:`install_folder`:

* ``out`` missing or empty: one ``rename`` of the finished folder.
* ``out`` a previous export: one atomic ``renameat2(RENAME_EXCHANGE)`` swaps the two folders,
  so at every instant ``out`` is either the complete old export or the complete new one; the old
  one, now under the work name, is then removed. On a file system without the exchange (it
  answers EINVAL / ENOSYS), the old folder is first renamed to ``.NAME.old-PID-XXXX`` and the
  new one renamed in; a kill between the two leaves ``out`` missing for an instant, and the next
  export (or :func:`sweep`) puts the old one back before anything else.

Work folders carry the pid of the process that made them (``.NAME.PID-XXXX.partial``,
``dgm4plus-push-PID-XXXX`` in the temporary folder), so :func:`sweep` removes the leftovers of a
run that was killed without touching those of a run still going. Folders get the permissions the
umask gives (``tempfile.mkdtemp`` alone makes them 0700).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _normal_mode(path: Path) -> None:
    os.chmod(path, 0o777 & ~_umask())


def work_folder(out: Path) -> Path:
    """A fresh work folder beside ``out`` (same file system, so it can be renamed into place)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(
        tempfile.mkdtemp(prefix=f".{out.name}.{os.getpid()}-", suffix=".partial", dir=out.parent)
    )
    _normal_mode(tmp)
    return tmp


@contextlib.contextmanager
def temp_folder(prefix: str) -> Iterator[Path]:
    """A folder in the system's temporary folder, named with our pid, removed at the end; one
    that a killed run left behind is removed by the next :func:`sweep_temp` of that prefix."""
    sweep_temp(prefix)
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-"))
    _normal_mode(tmp)
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_temp(prefix: str) -> list[Path]:
    """Remove ``<tmp>/<prefix><pid>-*`` folders whose process is gone."""
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)-")
    removed = []
    for entry in Path(tempfile.gettempdir()).iterdir():
        m = pattern.match(entry.name)
        if m and entry.is_dir() and not entry.is_symlink() and not _alive(int(m[1])):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def sweep(out: Path) -> list[Path]:
    """Tidy what an interrupted export to ``out`` left: restore ``out`` from its ``.old`` copy
    when a kill came between the two renames, then remove the dead runs' work folders."""
    parent = out.parent
    if not parent.is_dir():
        return []
    partial = re.compile(rf"^\.{re.escape(out.name)}\.(\d+)-[^/]*\.partial$")
    old = re.compile(rf"^\.{re.escape(out.name)}\.old-(\d+)-[0-9a-z_]+$")
    removed: list[Path] = []
    olds = []
    for entry in parent.iterdir():
        if not entry.is_dir() or entry.is_symlink():
            continue
        m = partial.match(entry.name) or old.match(entry.name)
        if m is None or _alive(int(m[1])):
            continue
        if old.match(entry.name):
            olds.append(entry)
        else:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    for entry in sorted(olds, key=lambda p: p.stat().st_mtime_ns):
        if not out.exists():
            os.replace(entry, out)  # the previous export, back at its name
        else:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(a))


def install_folder(tmp: Path, out: Path) -> None:
    """Put the finished ``tmp`` at ``out``, replacing an empty folder or a previous export, so
    that ``out`` is never half-written and never missing (see the module docstring)."""
    _normal_mode(tmp)
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    if not out.exists():
        os.replace(tmp, out)
        return
    if _exchange(tmp, out):
        shutil.rmtree(tmp, ignore_errors=True)  # the old export, now under the work name
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-{os.getpid()}-", dir=out.parent))
    os.replace(out, old)  # (replaces the empty placeholder made just above)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


__all__ = ["install_folder", "sweep", "sweep_temp", "temp_folder", "work_folder"]
