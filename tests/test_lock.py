"""The store's writer lock: one writer at a time, nothing stale after a SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from generator.errors import UsageError
from generator.lock import LOCK_NAME, StoreLock, StoreLocked, held_here, writer_of

REPO = Path(__file__).resolve().parents[1]

HOLDER = textwrap.dedent(
    """
    import sys, time
    from generator.lock import StoreLock
    with StoreLock(sys.argv[1], purpose="generate"):
        print("held", flush=True)
        time.sleep(120)
    """
)


def _hold(root: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_writer_is_refused_naming_the_holder_and_sigkill_leaves_nothing_stale(tmp_path):
    root = tmp_path / "DGM4"
    proc = _hold(root)
    try:
        with pytest.raises(StoreLocked) as info:
            StoreLock(root, purpose="repair").acquire()
        msg = str(info.value)
        assert f"pid {proc.pid}" in msg and "generate" in msg and "\n" not in msg
        assert info.value.exit_code == 2
        holder = writer_of(root)
        assert holder is not None and holder.pid == proc.pid
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (root / LOCK_NAME).exists()  # the file stays; the kernel dropped the lock
    assert writer_of(root) is None
    with StoreLock(root, purpose="repair"):
        assert held_here(root)
        holder = writer_of(root)  # our own lock is not "another writer"
        assert holder is None
    assert not held_here(root)


def test_lock_is_reentrant_in_one_process_and_released_at_the_end(tmp_path):
    root = tmp_path / "S"
    with StoreLock(root, purpose="review"):
        with StoreLock(root, purpose="reject"):
            assert held_here(root)
        assert held_here(root)  # the outer holder still has it
    assert not held_here(root)
    # another process can take it now
    proc = _hold(root)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_lock_refuses_roots_that_cannot_be_stores(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        StoreLock(afile, purpose="generate").acquire()
    with pytest.raises(UsageError, match="is a file"):
        StoreLock(afile / "DGM4", purpose="generate").acquire()
    with pytest.raises(UsageError, match="no such store"):
        StoreLock(tmp_path / "missing", purpose="repair", create=False).acquire()
    assert not (tmp_path / "missing").exists()
    assert afile.read_text() == "x"
