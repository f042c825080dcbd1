"""Our DGM4 export used as HAMMER's ``datasets/`` folder, read by a loader written to HAMMER's
documented behaviour (rshaojimmy/MultiModal-DeepFake ``dataset/dataset.py``, ``configs/*.yaml``,
``tools/multilabel_metrics.py``), alone and combined with a tiny DGM4-shaped sample of our own.

What the loader does, as HAMMER does it: each file of the config's list is opened with
``open(f, 'r')`` (the locale's encoding: a Windows code page is simulated) and the lists are
concatenated; ``image`` is joined onto the data root; the caption goes through
``pre_caption(text, 50)``; ``fake_text_pos`` becomes a 50-long 0/1 word vector (indices >= 50
dropped); ``fake_image_box`` ``[x1, y1, x2, y2]`` becomes normalised ``cx, cy, w, h`` after the
resize to 256x256, and a box that does not unpack (DGM4's ``[]``) becomes ``[0, 0, 0, 0]``;
``orig`` is real, every other class fake; the four-bit multi-label vector knows face_swap,
face_attribute, text_swap and text_attribute only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from fixtures_store import make_store
from PIL import Image

from generator.release import export_dgm4
from generator.text.tokenize import hammer_marked_words

IMAGE_RES = 256
MAX_WORDS = 50
MULTI = {"face_swap": 0, "face_attribute": 1, "text_swap": 2, "text_attribute": 3}
# configs/train.yaml and test.yaml, with '../../datasets' as the data root
TRAIN = ["datasets/DGM4/metadata/train.json"]
VAL = ["datasets/DGM4/metadata/val.json"]
TEST = ["datasets/DGM4/metadata/test.json"]


def hammer_pre_caption(caption: str, max_words: int) -> str:
    caption = re.sub(r"([,.'!?\"()*#:;~])", "", caption.lower())
    caption = caption.replace("-", " ").replace("/", " ").replace("<person>", "person")
    caption = re.sub(r"\s{2,}", " ", caption).rstrip("\n").strip(" ")
    words = caption.split(" ")
    return " ".join(words[:max_words]) if len(words) > max_words else caption


def hammer_load(base: Path, ann_files: list[str], locale: str = "cp1252") -> list[dict]:
    ann: list[dict] = []
    for f in ann_files:
        with open(base / f, encoding=locale) as fh:  # HAMMER: json.load(open(f, 'r'))
            ann += json.load(fh)
    root = base / "datasets"
    items = []
    for rec in ann:
        image = Image.open(f"{root}/{rec['image']}").convert("RGB")
        W, H = image.size
        try:
            xmin, ymin, xmax, ymax = rec["fake_image_box"]
            x, y, w, h = int(xmin), int(ymin), int(xmax - xmin), int(ymax - ymin)
            x, w = IMAGE_RES / W * x, IMAGE_RES / W * w
            y, h = IMAGE_RES / H * y, IMAGE_RES / H * h
            box = [(x + w / 2) / IMAGE_RES, (y + h / 2) / IMAGE_RES, w / IMAGE_RES, h / IMAGE_RES]
        except (ValueError, TypeError):
            box = [0.0, 0.0, 0.0, 0.0]
        caption = hammer_pre_caption(rec["text"], MAX_WORDS)
        vector = [0] * MAX_WORDS
        for i in rec["fake_text_pos"]:
            if i < MAX_WORDS:
                vector[i] = 1
        multi = [0, 0, 0, 0]
        for part in rec["fake_cls"].split("&"):
            if part in MULTI:
                multi[MULTI[part]] = 1
        items.append(
            {
                "rec": rec,
                "caption": caption,
                "vector": vector,
                "box": box,
                "real_fake": 0 if rec["fake_cls"] == "orig" else 1,
                "multi": multi,
                "W": W,
                "H": H,
            }
        )
    return items


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("plus"), per_bucket=30)


def test_export_is_hammers_datasets_folder_as_is(store, tmp_path):
    export_dgm4(store.root, tmp_path / "datasets")
    for name in ("train", "val", "test"):
        raw = (tmp_path / "datasets" / "DGM4" / "metadata" / f"{name}.json").read_bytes()
        assert raw.isascii()  # no locale can misread it
    items = {
        split: hammer_load(tmp_path, files)
        for split, files in (("train", TRAIN), ("val", VAL), ("test", TEST))
    }
    assert all(items.values())  # 30 per class give all three splits
    loaded = [it for split in items.values() for it in split]
    assert len(loaded) == len(store.records)
    for it in loaded:
        rec = it["rec"]
        assert rec["fake_cls"] in ("origin", "text_attribute", "text_swap")
        assert it["box"] == [0.0, 0.0, 0.0, 0.0]  # [] -> HAMMER's zero box
        expected = {
            "origin": [0, 0, 0, 0],
            "text_attribute": [0, 0, 0, 1],
            "text_swap": [0, 0, 1, 0],
        }[rec["fake_cls"]]
        assert it["multi"] == expected
        assert it["real_fake"] == 1  # 'origin' is not DGM4's 'orig': HAMMER counts it fake
        words = it["caption"].split(" ")
        marked = [w for w, flag in zip(words, it["vector"], strict=False) if flag]
        assert marked == store.marked[rec["id"]]
        assert hammer_marked_words(rec["text"], rec["fake_text_pos"]) == marked  # token level
    assert all(it["real_fake"] == 1 for it in items["test"])  # why DGM4+ alone breaks AUC/EER


def _tiny_dgm4(datasets: Path) -> None:
    """Three DGM4-shaped records in DGM4's own folders, with DGM4's conventions."""
    recs = {
        "train": [
            {
                "id": 1,
                "image": "DGM4/origin/guardian/0001.jpg",
                "text": "A minister speaks in London.",
                "fake_cls": "orig",
                "fake_image_box": [],
                "fake_text_pos": [],
                "mtcnn_boxes": [],
            },
            {
                "id": 2,
                "image": "DGM4/manipulation/simswap/0002.jpg",
                "text": "Fans cheer at the stadium in Leeds.",
                "fake_cls": "face_swap",
                "fake_image_box": [40, 30, 120, 130],
                "fake_text_pos": [],
                "mtcnn_boxes": [],
            },
        ],
        "val": [
            {
                "id": 3,
                "image": "DGM4/origin/guardian/0003.jpg",
                "text": "Farmers protest outside parliament.",
                "fake_cls": "text_swap",
                "fake_image_box": [],
                "fake_text_pos": [0, 1],
                "mtcnn_boxes": [],
            },
        ],
        "test": [
            {
                "id": 4,
                "image": "DGM4/origin/guardian/0004.jpg",
                "text": "A ferry docks at dawn.",
                "fake_cls": "orig",
                "fake_image_box": [],
                "fake_text_pos": [],
                "mtcnn_boxes": [],
            },
        ],
    }
    for split, rows in recs.items():
        for r in rows:
            path = datasets / r["image"]
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (320, 200), (90, 120, 150)).save(path)
        meta = datasets / "DGM4" / "metadata"
        meta.mkdir(parents=True, exist_ok=True)
        (meta / f"{split}.json").write_text(json.dumps(rows), encoding="utf-8")


def test_combined_with_dgm4_through_lists_of_files(store, tmp_path):
    datasets = tmp_path / "datasets"
    _tiny_dgm4(datasets)
    plus = export_dgm4(store.root, tmp_path / "dgm4plus-export")
    # README recipe: hard-link our image folders into DGM4/ (ids >= 10^9 never collide) and put
    # our split files beside DGM4's, in datasets/DGM4plus/metadata/
    for sub in ("origin/generated", "manipulation/text_attribute", "manipulation/text_swap"):
        shutil.copytree(plus / "DGM4" / sub, datasets / "DGM4" / sub, copy_function=os.link)
    shutil.copytree(plus / "DGM4" / "metadata", datasets / "DGM4plus" / "metadata")
    ours = "datasets/DGM4plus/metadata"
    train = hammer_load(tmp_path, TRAIN + [f"{ours}/train.json"])
    test = hammer_load(tmp_path, TEST + [f"{ours}/test.json"])
    assert {it["rec"]["fake_cls"] for it in train} >= {"orig", "face_swap", "origin"}
    face = next(it for it in train if it["rec"]["fake_cls"] == "face_swap")
    assert face["box"] == pytest.approx([80 / 320, 80 / 200, 80 / 320, 100 / 200])
    assert face["multi"] == [1, 0, 0, 0]
    # combined, the test set has real and fake samples: AUC and EER are defined
    assert {it["real_fake"] for it in test} == {0, 1}
    ours_only = hammer_load(tmp_path, [f"{ours}/test.json"])
    assert {it["real_fake"] for it in ours_only} == {1}
    # and no face bits: HAMMER's per-class AP meter divides by a zero positive count
    assert not any(it["multi"][0] or it["multi"][1] for it in ours_only)
    val = hammer_load(tmp_path, VAL + [f"{ours}/val.json"])
    assert len(train) + len(val) + len(test) == len(store.records) + 4
