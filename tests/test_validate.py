"""`dgm4plus validate`: passes a good store, lists every kind of problem in a bad one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import read_jsonl, run_cli
from PIL import Image

from generator.config import load_config
from generator.pipeline import fill_store
from generator.store import METADATA_JSON, METADATA_JSONL


@pytest.fixture(scope="module")
def good_store(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("val") / "DGM4"
    fill_store(
        load_config(
            cli={
                "BACKEND": "composite",
                "OUT_ROOT": out,
                "SEED": 5,
                "TARGET_LITERAL": 2,
                "TARGET_INV_EMO": 2,
                "TARGET_IRRELEV": 2,
                "COMPOSITE_FAULT_RATE": 0.0,
            }
        ),
        progress=False,
    )
    return out


def copy(store: Path, tmp_path: Path) -> Path:
    out = tmp_path / "DGM4"
    shutil.copytree(store, out)
    return out


def rewrite(out: Path, records: list[dict], snapshot: bool = True) -> None:
    (out / METADATA_JSONL).write_text("".join(json.dumps(r) + "\n" for r in records))
    if snapshot:
        (out / METADATA_JSON).write_text(json.dumps(records))


def test_good_store_passes(good_store):
    proc = run_cli("validate", str(good_store))
    assert proc.returncode == 0 and "valid" in proc.stdout


def test_every_problem_is_listed(good_store, tmp_path):
    out = copy(good_store, tmp_path)
    recs = read_jsonl(out / METADATA_JSONL)
    origin = [r for r in recs if r["fake_cls"] == "origin"]
    ta = [r for r in recs if r["fake_cls"] == "text_attribute"]
    ts = [r for r in recs if r["fake_cls"] == "text_swap"]
    (out.parent / origin[0]["image"]).unlink()  # missing image
    Image.new("RGB", (300, 200)).save(out.parent / origin[1]["image"])  # wrong size
    ta[0]["fake_text_pos"] = [99]  # span past the caption
    ta[1]["text"] = ts[0]["text"]  # duplicate caption
    ts[1]["id"] = ts[0]["id"]  # duplicate id
    (out / "manipulation/text_swap/123.jpg").write_bytes(b"x")  # orphan
    rewrite(out, recs, snapshot=False)  # and metadata.json now disagrees
    proc = run_cli("validate", str(out))
    assert proc.returncode == 1
    text = proc.stdout
    for needle in (
        "is missing",
        "is 300x200, expected 400x256",
        "points past the caption",
        "caption is not unique",
        "is not unique",
        "orphan file",
        "differs from metadata.jsonl",
    ):
        assert needle in text, (needle, text)


def test_near_duplicate_images_and_escaping_paths(good_store, tmp_path):
    out = copy(good_store, tmp_path)
    recs = read_jsonl(out / METADATA_JSONL)
    a, b = recs[0], recs[1]
    with Image.open(out.parent / a["image"]) as im:
        im.save(out.parent / b["image"], quality=80)  # a re-encoded copy: pHash distance <= 3
    recs[2]["image"] = "../../etc/passwd"
    rewrite(out, recs)
    proc = run_cli("validate", str(out))
    assert proc.returncode == 1
    assert "within pHash distance" in proc.stdout and "must start with DGM4/" in proc.stdout


def test_not_a_store_is_exit_2(tmp_path):
    proc = run_cli("validate", str(tmp_path))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
