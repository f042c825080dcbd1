"""Exports survive a kill at any step: the previous export stays whole at its name, the next run
removes the leftovers, folders get the umask's permissions."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import REPO
from fixtures_store import make_store

from generator.release import replace
from generator.release.dgm4_export import MARKER as DGM4_MARKER
from generator.release.dgm4_export import export_dgm4

#: A child that builds a new "export" over ``out`` and SIGKILLs itself at one step.
CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from generator.release import replace

    out, step = Path(sys.argv[1]), sys.argv[2]
    die = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
    tmp = replace.work_folder(out)
    (tmp / "marker.json").write_text('"new"')
    if step == "building":
        die()
    if step == "after-exchange":  # swapped in, the old one not removed yet
        replace.shutil.rmtree = die
    if step.startswith("fallback"):  # a file system without RENAME_EXCHANGE
        replace._exchange = lambda a, b: False
    if step == "fallback-between-renames":
        real = os.replace
        calls = []
        def second_dies(a, b):
            calls.append(a)
            if len(calls) == 2:
                die()
            real(a, b)
        replace.os.replace = second_dies
    if step == "fallback-after-renames":
        replace.shutil.rmtree = die
    replace.install_folder(tmp, out)
    print("installed")
    """
)

STEPS = ["building", "after-exchange", "fallback-between-renames", "fallback-after-renames", "none"]


def _old_export(out: Path) -> None:
    out.mkdir()
    (out / "marker.json").write_text('"old"')
    (out / "data").mkdir()
    (out / "data" / "x.parquet").write_bytes(b"old shard")


def _content(out: Path) -> str:
    return json.loads((out / "marker.json").read_text())


@pytest.mark.parametrize("step", STEPS)
def test_a_kill_at_any_step_leaves_a_whole_export_and_the_next_run_tidies_up(tmp_path, step):
    out = tmp_path / "release"
    _old_export(out)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(out), step],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if step == "none":
        assert proc.returncode == 0 and "installed" in proc.stdout, proc.stderr
    else:
        assert proc.returncode == -signal.SIGKILL, proc.stderr
    # readers at that instant see a complete export, old or new
    if step != "fallback-between-renames":
        assert _content(out) in ("old", "new")
        if _content(out) == "old":
            assert (out / "data" / "x.parquet").read_bytes() == b"old shard"
    # the next run first puts the old one back if it was set aside, and removes the leftovers
    replace.sweep(out)
    assert _content(out) == ("old" if step in ("building", "fallback-between-renames") else "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["release"]
    new = replace.work_folder(out)
    (new / "marker.json").write_text('"newer"')
    replace.install_folder(new, out)
    assert _content(out) == "newer" and sorted(p.name for p in tmp_path.iterdir()) == ["release"]


def test_sweep_leaves_a_live_runs_work_folder_alone(tmp_path):
    out = tmp_path / "release"
    mine = replace.work_folder(out)  # this process is alive
    replace.sweep(out)
    assert mine.is_dir()


def test_export_folders_get_the_umask_permissions_and_survive_a_kill_mid_export(tmp_path):
    store = make_store(tmp_path / "s", per_bucket=3)
    out = tmp_path / "hammer"
    old_mask = os.umask(0o022)
    try:
        export_dgm4(store.root, out)
        mode = stat.S_IMODE(out.stat().st_mode)
        assert mode == 0o755, oct(mode)
        assert stat.S_IMODE((out / "DGM4").stat().st_mode) == 0o755
        before = (out / DGM4_MARKER).read_text()
        # a real export-dgm4 command killed while it writes: the old export stays
        cmd = [
            sys.executable,
            "-m",
            "generator.cli",
            "export-dgm4",
            "--data-dir",
            str(store.root),
            "--out",
            str(out),
        ]
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while proc.poll() is None and not any(
            p.name.endswith(".partial") for p in tmp_path.iterdir()
        ):
            assert time.time() < deadline
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # a whole export is in place: its marker, and every image its metadata lists
        marker = json.loads((out / DGM4_MARKER).read_text())
        assert sum(marker["counts"].values()) == len(store.records)
        assert json.loads(before)["counts"] == marker["counts"]
        assert len(list((out / "DGM4").rglob("*.jpg"))) == len(store.records)
        export_dgm4(store.root, out)  # the next run removes what the killed one left
        assert sorted(p.name for p in tmp_path.iterdir()) == ["hammer", "s"]
        assert stat.S_IMODE(out.stat().st_mode) == 0o755
    finally:
        os.umask(old_mask)
