"""The generation pipeline end to end, with the offline composite backend and real vision."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import REPO, read_jsonl, run_cli

from generator.config import load_config
from generator.pipeline import fill_store
from generator.store import METADATA_JSON, METADATA_JSONL, REJECTED_JSONL, RUNS_JSONL
from generator.validate import validate_store


def composite_cfg(out: Path, n: int = 3, **kw):
    knobs = {
        "BACKEND": "composite",
        "OUT_ROOT": out,
        "TARGET_LITERAL": n,
        "TARGET_INV_EMO": n,
        "TARGET_IRRELEV": n,
        "SEED": 777,
        "COMPOSITE_FAULT_RATE": 0.3,
    }
    knobs.update(kw)
    return load_config(cli=knobs)


def keys(root: Path, name: str = METADATA_JSONL) -> list[str]:
    return sorted(r["plan_key"] for r in read_jsonl(root / name))


@pytest.fixture(scope="module")
def sequential_store(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("seq") / "DGM4"
    fill_store(composite_cfg(out, CONCURRENCY=1), progress=False)
    return out


def test_composite_run_builds_exact_targets_and_validates(sequential_store):
    root = sequential_store
    records = read_jsonl(root / METADATA_JSONL)
    assert Counter(r["fake_cls"] for r in records) == {
        "origin": 3,
        "text_attribute": 3,
        "text_swap": 3,
    }
    assert validate_store(root) == []
    for r in records:
        assert r["image"].startswith("DGM4/")
        assert r["fake_image_box"] == []  # DGM4's convention: no image region edited
        assert 1 <= len(r["mtcnn_boxes"]) <= 3 and all(p >= 0.8 for p in r["face_probs"][:1])
        assert r["backend"] == "composite" and r["seed"] == 777
    assert json.loads((root / METADATA_JSON).read_text()) == records
    run = read_jsonl(root / RUNS_JSONL)[-1]
    # fault rate 0.3: some attempts were rejected by the face gate, and regenerated
    assert run["attempts_rejected"]["faces"] + run["attempts_rejected"]["quality"] > 0
    assert run["regenerations"] > 0
    assert run["calls"] == run["accepted"] + sum(run["attempts_rejected"].values()) - (
        run["rejected"]["duplicate_image"] + run["rejected"]["duplicate_caption"]
    )


def test_concurrency_does_not_change_the_accepted_keys(sequential_store, tmp_path):
    out = tmp_path / "DGM4"
    fill_store(composite_cfg(out, CONCURRENCY=8), progress=False)
    assert keys(out) == keys(sequential_store)
    assert keys(out, REJECTED_JSONL) == keys(sequential_store, REJECTED_JSONL)
    assert validate_store(out) == []


def test_second_run_spends_no_call(sequential_store):
    before = (sequential_store / METADATA_JSONL).read_bytes()
    stats = fill_store(composite_cfg(sequential_store, CONCURRENCY=1), progress=False)
    assert stats.calls == 0 and stats.accepted == 0
    assert (sequential_store / METADATA_JSONL).read_bytes() == before


def test_growing_targets_resumes_after_the_last_item(sequential_store, tmp_path):
    import shutil

    out = tmp_path / "DGM4"
    shutil.copytree(sequential_store, out)
    fill_store(composite_cfg(out, n=4, CONCURRENCY=2), progress=False)
    got = read_jsonl(out / METADATA_JSONL)
    assert Counter(r["fake_cls"] for r in got) == {"origin": 4, "text_attribute": 4, "text_swap": 4}
    old = read_jsonl(sequential_store / METADATA_JSONL)
    assert got[: len(old)] == old  # nothing rewritten
    assert validate_store(out) == []


def test_recovery_repairs_torn_line_orphans_and_missing_images(sequential_store, tmp_path, capsys):
    import shutil

    out = tmp_path / "DGM4"
    shutil.copytree(sequential_store, out)
    records = read_jsonl(out / METADATA_JSONL)
    victim = records[4]
    (out.parent / victim["image"]).unlink()  # record whose image vanished
    orphan = out / "origin/generated/999.jpg"
    orphan.write_bytes(b"junk")  # image with no record
    (out / "manipulation/text_swap/5.jpg.tmp").write_bytes(b"half")  # interrupted write
    with open(out / METADATA_JSONL, "a") as fh:
        fh.write('{"id": 1, "image": "DGM4/origin/gen')  # torn append
    fill_store(composite_cfg(out, CONCURRENCY=2), progress=False)
    err = capsys.readouterr().err
    assert "torn last line" in err
    assert f"{victim['plan_key']}: image" in err and "dropped" in err
    # files whose names this program never writes are not ours: left alone, reported
    assert "999.jpg: not written by dgm4plus; left alone" in err
    assert orphan.read_bytes() == b"junk"
    assert (out / "manipulation/text_swap/5.jpg.tmp").read_bytes() == b"half"
    orphan.unlink()
    (out / "manipulation/text_swap/5.jpg.tmp").unlink()
    assert validate_store(out) == []
    # the dropped item was built again under its own plan key
    assert keys(out) == keys(sequential_store)


def test_corrupt_metadata_line_is_one_line_exit_2_and_nothing_changes(sequential_store, tmp_path):
    import shutil

    out = tmp_path / "DGM4"
    shutil.copytree(sequential_store, out)
    lines = (out / METADATA_JSONL).read_text().splitlines(keepends=True)
    lines[2] = "{not json\n"
    (out / METADATA_JSONL).write_text("".join(lines))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    proc = run_cli(
        "generate",
        "--backend",
        "composite",
        "--out",
        str(out),
        "--seed",
        "777",
        "--origin",
        "3",
        "--text-attribute",
        "3",
        "--text-swap",
        "3",
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "metadata.jsonl:3" in proc.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_store_refuses_another_seed(sequential_store):
    proc = run_cli(
        "generate",
        "--backend",
        "composite",
        "--out",
        str(sequential_store),
        "--seed",
        "1",
        "--origin",
        "3",
        "--text-attribute",
        "3",
        "--text-swap",
        "3",
    )
    assert proc.returncode == 2 and "SEED=777" in proc.stderr


def test_strict_no_text_scrubs_composite_signage(tmp_path):
    out = tmp_path / "DGM4"
    cfg = composite_cfg(
        out,
        n=2,
        STRICT_NO_TEXT=True,
        COMPOSITE_SIGNAGE_RATE=1.0,
        COMPOSITE_FAULT_RATE=0.0,
        CONCURRENCY=2,
    )
    fill_store(cfg, progress=False)
    from PIL import Image

    from generator.vision.ocr import readable_words

    records = read_jsonl(out / METADATA_JSONL)
    run = read_jsonl(out / RUNS_JSONL)[-1]
    assert len(records) == 6 or run["rejected"]["ocr"] > 0
    for r in records:
        with Image.open(out.parent / r["image"]) as im:
            assert (
                readable_words(im.convert("RGB"), r["mtcnn_boxes"], conf_thresh=60, scale=2) == []
            )


def _kill_after(out: Path, n_lines: int, args: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DGM4PLUS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator.cli", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    meta = out / METADATA_JSONL
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            if meta.exists() and meta.read_bytes().count(b"\n") >= n_lines:
                break
            time.sleep(0.01)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_sigkill_at_several_points_then_resume(sequential_store, tmp_path):
    out = tmp_path / "DGM4"
    args = [
        "generate",
        "--backend",
        "composite",
        "--out",
        str(out),
        "--seed",
        "777",
        "--origin",
        "3",
        "--text-attribute",
        "3",
        "--text-swap",
        "3",
        "--composite-fault-rate",
        "0.3",
        "--concurrency",
        "4",
        "--snap-every",
        "2",
    ]
    for n in (1, 3, 6):
        _kill_after(out, n, args)
    proc = run_cli(*args, check=True)
    assert "holds 9 samples" in proc.stderr
    assert validate_store(out) == []
    # killed and resumed, it accepted exactly what an uninterrupted run accepts
    assert keys(out) == keys(sequential_store)


def test_renamed_store_is_refused_not_emptied(sequential_store, tmp_path):
    import shutil

    out = tmp_path / "renamed"
    shutil.copytree(sequential_store, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    proc = run_cli(
        "generate",
        "--backend",
        "composite",
        "--out",
        str(out),
        "--seed",
        "777",
        "--origin",
        "3",
        "--text-attribute",
        "3",
        "--text-swap",
        "3",
    )
    assert proc.returncode == 2 and "renamed from 'DGM4'" in proc.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_finishes_in_flight_snapshots_and_exits_130(tmp_path, sig):
    out = tmp_path / "DGM4"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DGM4PLUS_")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "generator.cli",
            "generate",
            "--backend",
            "composite",
            "--out",
            str(out),
            "--seed",
            "777",
            "--origin",
            "30",
            "--text-attribute",
            "30",
            "--text-swap",
            "30",
            "--concurrency",
            "2",
            "--snap-every",
            "1000",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    meta = out / METADATA_JSONL
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if meta.exists() and meta.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.02)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 130, err
    assert "finishing the images in flight" in err
    records = read_jsonl(meta)
    assert 2 <= len(records) < 90
    # SNAP_EVERY is 1000, so only the stop itself can have written this snapshot
    assert json.loads((out / METADATA_JSON).read_text()) == records
    assert read_jsonl(out / RUNS_JSONL)[-1]["stopped_by"] == signal.Signals(sig).name
    assert validate_store(out) == []
