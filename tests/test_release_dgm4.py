"""DGM4-layout export, read back the way HAMMER's data loader reads it."""

from __future__ import annotations

import json
import os

import pytest
from fixtures_store import hammer_words, make_store, pre_caption, write_records
from PIL import Image

from dgm4plus import DGM4Plus
from generator.errors import UsageError
from generator.release import export_dgm4
from generator.release.dgm4_export import DGM4_KEYS
from generator.splits import DGM4_SPLIT_FILES, SPLITS

PER_BUCKET = 30


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    # A store whose folder is not called DGM4: the export must still write DGM4/ paths.
    return make_store(tmp_path_factory.mktemp("store"), per_bucket=PER_BUCKET, name="run-2025")


@pytest.fixture(scope="module")
def out(store, tmp_path_factory):
    return export_dgm4(store.root, tmp_path_factory.mktemp("dgm4") / "DGM4-export")


def _hammer_read(out, split_file):
    """What HAMMER's loader does with one metadata file (minus tensors)."""
    # HAMMER: json.load(open(f, 'r')), no encoding: the export is ASCII, so any locale reads it
    with open(out / "DGM4" / "metadata" / split_file, "rb") as fh:
        raw = fh.read()
    assert raw.isascii()
    ann = json.loads(raw.decode("ascii"))
    assert isinstance(ann, list)
    items = []
    for rec in ann:
        caption = pre_caption(rec["text"], 50)
        words = caption.split(" ")
        fake_text_pos_list = [0] * len(words)
        for i in rec["fake_text_pos"]:
            fake_text_pos_list[i] = 1  # IndexError here is what a bad span does to HAMMER
        image = Image.open(os.path.join(out, rec["image"])).convert("RGB")
        items.append((rec, words, fake_text_pos_list, image))
    return items


def test_layout_and_record_keys(out):
    assert sorted(p.name for p in (out / "DGM4" / "metadata").iterdir()) == [
        "test.json",
        "train.json",
        "val.json",
    ]
    for split_file in DGM4_SPLIT_FILES.values():
        for rec in json.loads((out / "DGM4" / "metadata" / split_file).read_text(encoding="utf-8")):
            assert set(rec) == set(DGM4_KEYS)
            assert rec["image"].startswith("DGM4/") and (out / rec["image"]).is_file()
            assert isinstance(rec["fake_cls"], str)


def test_hammer_reads_every_record(out, store):
    seen = set()
    for split_file in DGM4_SPLIT_FILES.values():
        for rec, words, marks, image in _hammer_read(out, split_file):
            seen.add(rec["id"])
            assert all(0 <= i < len(words) and i < 50 for i in rec["fake_text_pos"])
            marked = [w for w, m in zip(words, marks, strict=True) if m]
            assert marked == store.marked[rec["id"]]  # the words the fixture meant to mark
            assert words == hammer_words(rec["text"])
            w, h = image.size
            assert rec["fake_image_box"] == []  # DGM4's convention: no region edited
            for bx1, by1, bx2, by2 in rec["mtcnn_boxes"]:
                assert 0 <= bx1 < bx2 <= w and 0 <= by1 < by2 <= h
            if rec["fake_cls"] == "origin":
                assert rec["fake_text_pos"] == []
            else:
                assert rec["fake_text_pos"]
    assert seen == {r["id"] for r in store.records}


def test_splits_match_the_builder(out, store, tmp_path):
    b = DGM4Plus(config_name="all", data_dir=str(store.root), cache_dir=str(tmp_path))
    b.download_and_prepare()
    for split in SPLITS:
        ids = set(b.as_dataset(split=split)["id"]) if b.info.splits[split].num_examples else set()
        rows = json.loads(
            (out / "DGM4" / "metadata" / DGM4_SPLIT_FILES[split]).read_text(encoding="utf-8")
        )
        assert {r["id"] for r in rows} == ids and ids


def test_images_are_hard_links(out, store):
    rec = store.records[0]
    src = store.root.parent / rec["image"]
    dst = out / "DGM4" / rec["image"].split("/", 1)[1]
    assert os.stat(src).st_ino == os.stat(dst).st_ino


def test_origin_can_be_spelled_orig(store, tmp_path):
    out = export_dgm4(store.root, tmp_path / "x", origin_as="orig")
    classes = {
        r["fake_cls"]
        for f in DGM4_SPLIT_FILES.values()
        for r in json.loads((out / "DGM4" / "metadata" / f).read_text(encoding="utf-8"))
    }
    assert classes == {"orig", "text_attribute", "text_swap"}


def test_a_span_past_the_caption_is_refused_before_writing(tmp_path):
    fs = make_store(tmp_path / "s", per_bucket=2)
    records = [dict(r) for r in fs.records]
    bad = next(r for r in records if r["fake_cls"] == "text_swap")
    bad["fake_text_pos"] = [len(hammer_words(bad["text"]))]
    write_records(fs.root, records)
    with pytest.raises(UsageError, match="fake_text_pos index"):
        export_dgm4(fs.root, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_refuses_a_foreign_folder_and_replaces_its_own(store, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("x")
    with pytest.raises(UsageError, match="not empty"):
        export_dgm4(store.root, foreign)
    out = export_dgm4(store.root, tmp_path / "mine")
    (out / "DGM4" / "metadata" / "old.json").write_text("[]")
    export_dgm4(store.root, out)
    assert not (out / "DGM4" / "metadata" / "old.json").exists()
