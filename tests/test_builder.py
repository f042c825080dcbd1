"""The DGM4Plus builder against real stores: features, rows, splits, caching and refusals."""

from __future__ import annotations

import datasets
import pytest
from fixtures_store import make_store, write_records
from PIL import Image

from dgm4plus import CLASS_NAMES, CONFIG_CLASSES, DGM4Plus, dgm4plus_features
from generator.errors import UsageError
from generator.splits import SPLITS, split_of

PER_BUCKET = 30  # enough that every class has samples in every split with the default ratios


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("store"), per_bucket=PER_BUCKET)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("hf-cache"))


@pytest.fixture(scope="module")
def built(store, cache):
    """config -> split -> Dataset, each config prepared once for the module."""
    out = {}
    for name in CONFIG_CLASSES:
        b = DGM4Plus(config_name=name, data_dir=str(store.root), cache_dir=cache)
        b.download_and_prepare()
        out[name] = {s: b.as_dataset(split=s) for s in SPLITS if b.info.splits[s].num_examples}
    return out


def _prepare(root, cache, **kw):
    b = DGM4Plus(data_dir=str(root), cache_dir=str(cache), **kw)
    b.download_and_prepare()
    return b


def _split_of_ids(builder) -> dict[int, str]:
    return {
        i: split
        for split, info in builder.info.splits.items()
        if info.num_examples
        for i in builder.as_dataset(split=split)["id"]
    }


def test_features_are_the_schema(built):
    features = built["all"]["train"].features
    assert features == dgm4plus_features()
    assert features["fake_cls"].names == ["origin", "text_attribute", "text_swap"]
    assert isinstance(features["image"], datasets.Image)
    # DGM4's convention: [] when no image region was edited, or [x1, y1, x2, y2]
    assert features["fake_image_box"] == datasets.List(datasets.Value("int32"))
    assert features["mtcnn_boxes"] == datasets.List(
        datasets.List(datasets.Value("int32"), length=4)
    )
    assert features["fake_text_pos"] == datasets.List(datasets.Value("int32"))
    assert features["face_probs"] == datasets.List(datasets.Value("float32"))
    assert features["id"].dtype == "int64" and features["seed"].dtype == "int64"
    assert features["num_people"].dtype == "int32"
    for name in ("plan_key", "literal_text", "backdrop", "backdrop_kind", "shot", "lighting"):
        assert features[name] == datasets.Value("string")
    for name in ("dateline", "role", "event", "prompt", "phash", "backend", "model", "quality"):
        assert features[name] == datasets.Value("string")


def test_default_config_is_all(store, cache):
    b = DGM4Plus(data_dir=str(store.root), cache_dir=cache)
    assert b.config.name == "all" and set(b.config.classes) == set(CLASS_NAMES)


@pytest.mark.parametrize("config", list(CONFIG_CLASSES))
def test_each_config_holds_exactly_its_records(built, store, config):
    wanted = {r["id"] for r in store.records if r["fake_cls"] in CONFIG_CLASSES[config]}
    got = [i for ds in built[config].values() for i in ds["id"]]
    assert sorted(got) == sorted(wanted) and len(got) == len(set(got))
    names = dgm4plus_features()["fake_cls"].names
    for ds in built[config].values():
        assert {names[c] for c in ds["fake_cls"]} <= set(CONFIG_CLASSES[config])


def test_rows_match_the_store(built, store):
    by_id = {r["id"]: r for r in store.records}
    names = dgm4plus_features()["fake_cls"].names
    raw = built["all"]["train"].cast_column("image", datasets.Image(decode=False))
    for row in raw:
        rec = by_id[row["id"]]
        assert names[row["fake_cls"]] == rec["fake_cls"]
        # every released field but the image, the class label and the float probabilities
        for key in dgm4plus_features():
            if key not in ("image", "fake_cls", "face_probs"):
                assert row[key] == rec[key], key
        assert row["face_probs"] == pytest.approx(rec["face_probs"], abs=1e-6)
        stored = (store.root.parent / rec["image"]).read_bytes()
        assert row["image"]["bytes"] == stored  # the JPEG itself, byte for byte
        assert row["image"]["path"] is None  # embedded, never a pointer into the store


def test_images_decode(built):
    img = built["text_swap"]["train"][0]["image"]
    assert isinstance(img, Image.Image) and img.size == (400, 256)


def test_splits_follow_the_id(built):
    seen: dict[int, str] = {}
    for split, ds in built["all"].items():
        for i in ds["id"]:
            assert split_of(i) == split
            assert i not in seen
            seen[i] = split
    assert set(built["all"]) == set(SPLITS)  # all three splits are non-empty here
    for config in ("origin", "text_attribute", "text_swap"):
        for split, ds in built[config].items():
            assert all(seen[i] == split for i in ds["id"])  # same split in every config


def test_store_named_otherwise_and_relative_data_dir(tmp_path, monkeypatch):
    fs = make_store(tmp_path, per_bucket=3, name="MyRun")
    monkeypatch.chdir(tmp_path)
    b = _prepare("MyRun", tmp_path / "cache", config_name="origin")
    n = sum(b.info.splits[s].num_examples for s in b.info.splits)
    assert n == 3 and b.config.data_dir == "MyRun"
    assert len(fs.by_bucket("origin")) == 3


def test_cwd_next_to_the_store_still_embeds_bytes(tmp_path, monkeypatch):
    # `datasets` drops the bytes of an image whose path names an existing file; the builder
    # must embed bytes even when the current folder is the store's parent.
    make_store(tmp_path, per_bucket=2)
    monkeypatch.chdir(tmp_path)
    b = _prepare("DGM4", tmp_path / "cache", config_name="all")
    for split in b.info.splits:
        if b.info.splits[split].num_examples:
            ds = b.as_dataset(split=split).cast_column("image", datasets.Image(decode=False))
            assert all(img["bytes"] and img["path"] is None for img in ds["image"])


def test_growing_store_rebuilds_and_keeps_splits(tmp_path):
    fs = make_store(tmp_path / "a", per_bucket=5)
    cache = tmp_path / "cache"
    small = _prepare(fs.root, cache, config_name="all")
    first = _split_of_ids(small)
    bigger = make_store(tmp_path / "a", per_bucket=9)  # same ids 0..4, plus 5..8
    big = _prepare(bigger.root, cache, config_name="all")
    assert sum(big.info.splits[s].num_examples for s in big.info.splits) == 27  # not the cache
    second = _split_of_ids(big)
    assert {i: second[i] for i in first} == first


def test_custom_split_ratios(store, tmp_path):
    b = _prepare(store.root, tmp_path, config_name="text_swap", split_ratios=(0.5, 0.5, 0.0))
    assert set(b.info.splits) == {"train", "validation"}
    total = sum(b.info.splits[s].num_examples for s in b.info.splits)
    assert total == PER_BUCKET
    for split in b.info.splits:
        for i in b.as_dataset(split=split)["id"]:
            assert split_of(i, (0.5, 0.5, 0.0)) == split


@pytest.mark.parametrize("ratios", [(0.5, 0.5, 0.5), (1.2, -0.1, -0.1), (0.5, 0.5)])
def test_bad_split_ratios(store, tmp_path, ratios):
    with pytest.raises(UsageError, match="split ratios"):
        _prepare(store.root, tmp_path, config_name="origin", split_ratios=ratios)


def test_missing_store_is_one_clear_error(tmp_path):
    with pytest.raises(UsageError) as err:
        _prepare(tmp_path / "nowhere", tmp_path / "cache", config_name="origin")
    assert "\n" not in str(err.value) and "nowhere" in str(err.value)


def test_empty_store_is_one_clear_error(tmp_path):
    fs = make_store(tmp_path, per_bucket=1)
    write_records(fs.root, [])
    with pytest.raises(UsageError, match="no records|no samples"):
        _prepare(fs.root, tmp_path / "cache", config_name="origin")


@pytest.mark.parametrize(
    "bad_path",
    ["/etc/passwd", "DGM4/../secret.jpg", "../DGM4/origin/generated/x.jpg", "Other/origin/x.jpg"],
)
def test_image_paths_that_leave_the_store_are_refused(tmp_path, bad_path):
    fs = make_store(tmp_path, per_bucket=1)
    records = [dict(r) for r in fs.records]
    records[0]["image"] = bad_path
    write_records(fs.root, records)
    with pytest.raises(UsageError, match="absolute|leaves the store"):
        _prepare(fs.root, tmp_path / "cache", config_name="all")


def test_bad_record_field_is_refused(tmp_path):
    fs = make_store(tmp_path, per_bucket=1)
    records = [dict(r) for r in fs.records]
    records[1]["fake_image_box"] = [0, 0, 400]
    write_records(fs.root, records)
    with pytest.raises(UsageError, match="fake_image_box"):
        _prepare(fs.root, tmp_path / "cache", config_name="all")


def test_span_past_the_caption_is_refused(tmp_path):
    fs = make_store(tmp_path, per_bucket=1)
    records = [dict(r) for r in fs.records]
    swap = next(r for r in records if r["fake_cls"] == "text_swap")
    swap["fake_text_pos"] = [*swap["fake_text_pos"], len(swap["text"].split()) + 5]
    write_records(fs.root, records)
    with pytest.raises(UsageError, match="fake_text_pos index"):
        _prepare(fs.root, tmp_path / "cache", config_name="text_swap")


def test_missing_image_is_refused(tmp_path):
    fs = make_store(tmp_path, per_bucket=1)
    (fs.root.parent / fs.records[0]["image"]).unlink()
    with pytest.raises(UsageError, match="missing"):
        _prepare(fs.root, tmp_path / "cache", config_name="all")


def test_generate_fills_the_store_first(tmp_path):
    """generate=True runs the real pipeline (composite backend) to the targets, then reads;
    a second prepare resumes the store and spends no call."""
    import json

    root = tmp_path / "fresh" / "DGM4"
    knobs = {
        "target_literal": 1,
        "target_inv_emo": 1,
        "TARGET_IRRELEV": 2,
        "BACKEND": "composite",
        "SEED": 99,
        "COMPOSITE_FAULT_RATE": 0.0,
    }
    b = _prepare(
        root, tmp_path / "cache", config_name="text_swap", generate=True, generator_knobs=knobs
    )
    assert sum(b.info.splits[s].num_examples for s in b.info.splits) == 2
    records = [json.loads(x) for x in (root / "metadata.jsonl").read_text().splitlines()]
    assert sorted(r["fake_cls"] for r in records) == [
        "origin",
        "text_attribute",
        "text_swap",
        "text_swap",
    ]
    assert all(r["seed"] == 99 and r["backend"] == "composite" for r in records)
    _prepare(root, tmp_path / "cache2", config_name="origin", generate=True, generator_knobs=knobs)
    runs = [json.loads(x) for x in (root / "runs.jsonl").read_text().splitlines()]
    assert runs[-1]["calls"] == 0 and len(runs) == 2


def test_generate_rejects_unknown_knobs(tmp_path):
    with pytest.raises(UsageError, match="unknown knob"):
        _prepare(
            tmp_path / "DGM4",
            tmp_path / "cache",
            config_name="origin",
            generate=True,
            generator_knobs={"NOT_A_KNOB": 1},
        )


def test_as_dataset_without_split_on_a_small_store(tmp_path):
    """A store too small to fill every split still loads with `as_dataset()`: only splits
    that hold samples are declared."""
    fs = make_store(tmp_path, per_bucket=1)
    b = _prepare(fs.root, tmp_path / "cache", config_name="origin")
    dd = b.as_dataset()
    assert sum(len(ds) for ds in dd.values()) == 1
    assert set(dd) == {
        split_of(r["id"], (0.8, 0.1, 0.1)) for r in fs.records if r["fake_cls"] == "origin"
    }


def test_a_config_with_no_samples_is_one_clear_error(tmp_path):
    fs = make_store(tmp_path, per_bucket=1)
    write_records(fs.root, [r for r in fs.records if r["fake_cls"] != "text_swap"])
    with pytest.raises(UsageError, match="no samples of text_swap"):
        _prepare(fs.root, tmp_path / "cache", config_name="text_swap")
