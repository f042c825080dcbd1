"""Parquet export: layout, load_dataset round trip, embedded images, card, safety of `out`."""

from __future__ import annotations

import shutil

import datasets
import pyarrow.parquet as pq
import pytest
import yaml
from datasets.info import DatasetInfosDict
from fixtures_store import make_store
from huggingface_hub import DatasetCardData
from PIL import Image

import generator.release.export as export_mod
from dgm4plus import CONFIG_NAMES, DGM4Plus, dgm4plus_features
from generator.errors import UsageError
from generator.release import export_dataset
from generator.release.card import FIELD_DOCS, size_category
from generator.release.contact_sheet import pick_examples
from generator.release.export import MARKER
from generator.splits import SPLITS
from generator.store_reader import load_samples
from generator.text.tokenize import dgm4_words

PER_BUCKET = 30
KNOWN_TASKS = {"image-classification", "text-classification", "zero-shot-image-classification"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store"), per_bucket=PER_BUCKET)


@pytest.fixture(scope="module")
def export(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports") / "dgm4plus-release"
    assert export_dataset(store.root, out) == out
    return out


@pytest.fixture(scope="module")
def builder_rows(store, tmp_path_factory):
    """config -> split -> rows (image as raw bytes) from the builder itself."""
    cache = str(tmp_path_factory.mktemp("builder-cache"))
    out = {}
    for name in CONFIG_NAMES:
        b = DGM4Plus(config_name=name, data_dir=str(store.root), cache_dir=cache)
        b.download_and_prepare()
        out[name] = {
            s: b.as_dataset(split=s).cast_column("image", datasets.Image(decode=False)).to_list()
            for s in SPLITS
            if b.info.splits[s].num_examples
        }
    return out


def _front_matter(readme: str) -> dict:
    assert readme.startswith("---\n")
    return yaml.safe_load(readme.split("\n---\n", 1)[0][4:])


def test_layout(export):
    assert (export / "README.md").is_file() and (export / MARKER).is_file()
    for config in CONFIG_NAMES:
        for split in SPLITS:
            shards = sorted((export / "data" / config).glob(f"{split}-*.parquet"))
            assert [p.name for p in shards] == [f"{split}-00000-of-00001.parquet"]
    with Image.open(export / "images" / "contact_sheet.jpg") as im:
        assert im.format == "JPEG" and im.width >= 3 * 400
    assert not list(export.rglob("*.py"))
    assert not [p for p in export.parent.iterdir() if p.name.endswith(".partial")]


@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_load_dataset_from_the_parent_folder(export, builder_rows, config, monkeypatch, tmp_path):
    monkeypatch.chdir(export.parent)
    ds = datasets.load_dataset(export.name, config, cache_dir=str(tmp_path / "cache"))
    assert set(ds) == set(builder_rows[config])
    for split, rows in builder_rows[config].items():
        assert ds[split].features == dgm4plus_features()
        got = ds[split].cast_column("image", datasets.Image(decode=False)).to_list()
        assert got == rows


def test_images_are_embedded_not_paths(export, tmp_path):
    table = pq.read_table(export / "data" / "all" / "train-00000-of-00001.parquet")
    for cell in table.column("image").to_pylist():
        assert cell["path"] is None and cell["bytes"][:3] == b"\xff\xd8\xff"
    # A copy far from the store, read from elsewhere, still has every picture.
    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(export, moved)
    ds = datasets.load_dataset(
        str(moved), "origin", split="validation", cache_dir=str(tmp_path / "c")
    )
    assert ds[0]["image"].size == (400, 256)


def test_card_front_matter(export, builder_rows):
    fm = _front_matter((export / "README.md").read_text(encoding="utf-8"))
    assert fm["license"] == "cc-by-nc-4.0" and fm["language"] == ["en"]
    assert set(fm["task_categories"]) <= KNOWN_TASKS
    assert fm["size_categories"] == [size_category(3 * PER_BUCKET)] == ["n<1K"]
    assert fm["pretty_name"] and "dgm4" in fm["tags"]
    configs = {c["config_name"]: c for c in fm["configs"]}
    assert set(configs) == set(CONFIG_NAMES) and configs["all"].get("default") is True
    assert sum(bool(c.get("default")) for c in configs.values()) == 1
    for name, c in configs.items():
        assert {f["split"]: f["path"] for f in c["data_files"]} == {
            s: f"data/{name}/{s}-*.parquet" for s in builder_rows[name]
        }
    card_data = DatasetCardData(**{"dataset_info": fm["dataset_info"]})
    infos = DatasetInfosDict.from_dataset_card_data(card_data)
    assert set(infos) == set(CONFIG_NAMES)
    for name, info in infos.items():
        assert info.features == dgm4plus_features()
        assert {s: info.splits[s].num_examples for s in info.splits} == {
            s: len(rows) for s, rows in builder_rows[name].items()
        }


def test_card_body(export, store):
    text = (export / "README.md").read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1]
    for heading in (
        "## Taxonomy",
        "## Configurations and splits",
        "## Fields",
        "### How `fake_text_pos` counts words",
        "### Relation to DGM⁴",
        "## Statistics",
        "## Examples",
        "## How it was generated",
        "## Limitations and ethics",
        "## Citation",
    ):
        assert heading in body
    for name in dgm4plus_features():
        assert FIELD_DOCS.get(name) and f"| `{name}` |" in body
    # the worked example: HAMMER's words, with the em dash as a word of its own
    assert "| word | `nairobi` | `kenya` | `—` | `two` |" in body
    assert "`orig`" in body and "[0, 0, W, H]" in body
    # contact sheet linked, with the captions of its examples
    assert "(images/contact_sheet.jpg)" in body
    for sample in pick_examples(load_samples(store.root)):
        assert sample.text in body
    # statistics from the data: totals, shot types, caption length bounds
    shots = {r["shot"] for r in store.records}
    assert all(f"| {shot} |" in body for shot in shots)
    lengths = [len(dgm4_words(r["text"])) for r in store.records]
    assert f"| HAMMER words (`pre_caption`) | {min(lengths)} |" in body
    assert f"**{3 * PER_BUCKET} samples**" in body
    # generation parameters: every knob of the last run
    for knob in ("GEN_MODEL", "GEN_QUALITY", "SEED", "MISPLACED_BG_RATE", "MIN_FACES"):
        assert f"| `{knob}` |" in body
    assert "composite" in body and "test data" in body
    # the backend and model every sample recorded (composite samples are not gpt-image-1)
    assert f"| `composite` | `composite` | low | {3 * PER_BUCKET} | 100.0% |" in body
    assert "show cut-outs of real people" in body and "Eileen Collins" in body
    assert "Detecting and Grounding Multi-Modal Media Manipulation" in body
    # DGM4+ is an arXiv preprint (2509.26047), cited with its authors (issue 9 item 7)
    assert "@misc{singh2025dgm4plus" in body and "year={2025}" in body


def test_license_is_configurable(store, tmp_path):
    out = export_dataset(store.root, tmp_path / "rel", license="cc-by-4.0")
    fm = _front_matter((out / "README.md").read_text(encoding="utf-8"))
    assert fm["license"] == "cc-by-4.0"
    with pytest.raises(UsageError, match="license"):
        export_dataset(store.root, tmp_path / "rel2", license="not a licence\nx")


def test_refuses_a_folder_that_is_not_an_export(store, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(UsageError, match="not empty"):
        export_dataset(store.root, out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    with pytest.raises(UsageError, match="inside the store"):
        export_dataset(store.root, store.root / "export")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        export_dataset(store.root, tmp_path / "afile")


def test_reexport_replaces_a_previous_export(store, tmp_path):
    out = tmp_path / "rel"
    export_dataset(store.root, out)
    (out / "data" / "all" / "stale-00000-of-00001.parquet").write_bytes(b"old")
    export_dataset(store.root, out)
    assert not (out / "data" / "all" / "stale-00000-of-00001.parquet").exists()
    assert (out / "README.md").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rel"]  # no temp or backup left


def test_a_failure_leaves_no_half_export(store, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_mod, "make_contact_sheet", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        export_dataset(store.root, tmp_path / "rel")
    assert list(tmp_path.iterdir()) == []


def test_missing_store(tmp_path):
    with pytest.raises(UsageError):
        export_dataset(tmp_path / "none", tmp_path / "out")
    assert not (tmp_path / "out").exists()
