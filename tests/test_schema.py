"""The one sample schema: every bad field is one line naming file, line and field; the builder,
validate and both exports refuse bad records through it (exit 2, no traceback)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import datasets
import pytest
from conftest import run_cli
from fixtures_store import make_store, write_records
from PIL import Image

from dgm4plus import DGM4Plus, shard
from generator.errors import DataFileError, UsageError
from generator.generate import TargetsNotReached
from generator.meta import CLASS_NAMES as META_CLASSES
from generator.schema import (
    CLASS_NAMES,
    FIELDS,
    REJECTION_KEYS,
    Rejection,
    Sample,
    SampleRules,
    dgm4plus_features,
    released_image_box,
    sample_id,
)
from generator.splits import split_of
from generator.store_reader import load_samples, store_rules

WHERE = ("DGM4/metadata.jsonl", 17)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp("schema"), per_bucket=2)


def _good(small, cls: str) -> dict:
    return dict(next(r for r in small.records if r["fake_cls"] == cls))


# (class of the record, field, bad value, words the message must hold)
BAD_FIELDS = [
    ("origin", "phash", "zz", "expected 16 hex digits, got 'zz'"),
    ("origin", "phash", 17, "expected 16 hex digits"),
    ("origin", "plan_key", "bogus", "expected <class>/<k>"),
    ("origin", "plan_key", "text_swap/0", "is not of fake_cls 'origin'"),
    ("origin", "plan_key", "origin/-1", "expected <class>/<k>"),
    ("origin", "text", None, "expected a string, got None"),
    ("origin", "text", "   ", "the caption is empty"),
    ("origin", "id", "1000000000", "expected an integer, got '1000000000'"),
    ("origin", "id", True, "expected an integer, got True"),
    ("origin", "id", 2**63, "does not fit in int64"),
    ("origin", "id", 1_000_000_005, "does not follow the id rule"),
    ("origin", "fake_cls", "orig", "expected one of origin, text_attribute, text_swap"),
    ("origin", "fake_text_pos", [1], "an origin caption marks no words"),
    ("origin", "fake_text_pos", "0", "expected a list of integers"),
    ("text_swap", "fake_text_pos", [], "marks its manipulated words"),
    ("text_swap", "fake_text_pos", [4, 3], "is not strictly increasing"),
    ("text_swap", "fake_text_pos", [3, 3], "is not strictly increasing"),
    ("text_swap", "fake_text_pos", [3, True], "expected a list of integers"),
    ("text_swap", "fake_text_pos", [3, 99], "fake_text_pos index 99 points past the caption"),
    ("origin", "fake_image_box", [0, 0, 400], "expected [x1, y1, x2, y2] of integers"),
    ("origin", "fake_image_box", [0, 0, 401, 256], "is not inside the 400x256 image"),
    ("origin", "fake_image_box", [0.0, 0, 10, 10], "expected [x1, y1, x2, y2] of integers"),
    ("origin", "fake_image_box", None, "expected [x1, y1, x2, y2]"),
    ("origin", "mtcnn_boxes", [[0, 0, 10, 300]], "is not inside the 400x256 image"),
    ("origin", "mtcnn_boxes", {"a": 1}, "expected a list of boxes"),
    ("origin", "image", "/etc/passwd", "is absolute; it must start with DGM4/"),
    ("origin", "image", "DGM4/../x.jpg", "leaves the store"),
    ("origin", "image", "Other/origin/generated/1000000000.jpg", "leaves the store"),
    ("origin", "image", "DGM4/manipulation/text_swap/1000000000.jpg", "the origin folder"),
    ("origin", "image", "DGM4/origin/generated/1.jpg", "named by id"),
    ("origin", "face_probs", [1.5], "expected probabilities in [0, 1]"),
    ("origin", "num_people", "2", "expected an integer"),
    ("origin", "num_people", -1, "expected 0 or more"),
    ("origin", "seed", 1.5, "expected an integer"),
    ("origin", "backdrop", 3, "expected a string"),
]


@pytest.mark.parametrize(("cls", "name", "value", "words"), BAD_FIELDS)
def test_each_bad_field_names_file_line_and_field(small, cls, name, value, words):
    record = _good(small, cls)
    record[name] = value
    with pytest.raises(DataFileError) as err:
        Sample.from_json(record, where=WHERE, rules=SampleRules())
    message = str(err.value)
    assert message.startswith(f"DGM4/metadata.jsonl:17: field '{name}': "), message
    assert words in message and "\n" not in message


@pytest.mark.parametrize(
    "name", ["id", "image", "text", "fake_cls", "fake_image_box", "fake_text_pos", "plan_key"]
)
def test_a_missing_required_field_is_named(small, name):
    record = _good(small, "text_attribute")
    del record[name]
    with pytest.raises(DataFileError, match=rf"^DGM4/metadata.jsonl:17: field '{name}': missing$"):
        Sample.from_json(record, where=WHERE, rules=SampleRules())


IDENTITY = {"id", "image", "text", "fake_cls", "plan_key", "phash"}


@pytest.mark.parametrize(("cls", "name", "value", "words"), BAD_FIELDS)
def test_check_identity_is_from_json_on_the_identity_fields(small, cls, name, value, words):
    """The writer's quick check on resume: the same rules, for the fields resume relies on."""
    record = _good(small, cls)
    record[name] = value
    if name in IDENTITY:
        with pytest.raises(DataFileError, match=f"field '{name}'"):
            Sample.check_identity(record, where=WHERE, rules=SampleRules())
    else:
        Sample.check_identity(record, where=WHERE, rules=SampleRules())  # left to from_json


@pytest.mark.parametrize(("cls", "name", "value", "words"), BAD_FIELDS)
def test_from_json_trusted_checks_the_identity_fields(small, cls, name, value, words):
    """Resume's one-pass constructor: check_identity's checks, the other values as stored."""
    record = _good(small, cls)
    record[name] = value
    if name in IDENTITY:
        with pytest.raises(DataFileError, match=f"field '{name}'"):
            Sample.from_json_trusted(record, where=WHERE, rules=SampleRules())
        return
    try:
        sample = Sample.from_json_trusted(record, where=WHERE, rules=SampleRules())
    except DataFileError as exc:  # a value of the wrong shape is left to from_json, which names it
        assert f"field '{name}'" in str(exc)
    else:
        assert sample.to_json() == record  # taken as stored, written back unchanged


def test_from_json_trusted_is_from_json_on_good_records(small):
    rules = SampleRules()
    records = [*small.records]
    records.append({**small.records[0], "cost_usd": 0.011, "usage": {"output_tokens": 272}})
    records.append({k: v for k, v in small.records[1].items() if k != "attempt"})
    for record in records:
        trusted = Sample.from_json_trusted(record, where=WHERE, rules=rules)
        assert trusted == Sample.from_json(record, where=WHERE, rules=rules)
        assert trusted.extra == Sample.from_json(record, where=WHERE, rules=rules).extra
        if "attempt" in record:
            assert trusted.to_json() == record
            assert list(trusted.to_json()) == [*FIELDS, *trusted.extra]


def test_not_an_object(small):
    with pytest.raises(
        DataFileError, match=r"^m:3: expected a JSON object \(one record\), got None$"
    ):
        Sample.from_json(None, where=("m", 3), rules=SampleRules())


def test_round_trip_and_unknown_keys_kept(small):
    for record in small.records:
        sample = Sample.from_json(record, where=WHERE, rules=SampleRules())
        assert sample.to_json() == record
        assert list(sample.to_json()) == list(FIELDS)
    newer = {**small.records[0], "cost_usd": 0.011, "usage": {"output_tokens": 272}}
    sample = Sample.from_json(newer, where=WHERE, rules=SampleRules())
    assert sample.extra == {"cost_usd": 0.011, "usage": {"output_tokens": 272}}
    assert sample.to_json() == newer  # an older reader keeps what a newer writer added
    old = {k: v for k, v in small.records[0].items() if k not in ("attempt", "face_probs")}
    assert Sample.from_json(old, where=WHERE, rules=SampleRules()).attempt is None


def test_rules_follow_the_store_settings(small, tmp_path):
    rules = SampleRules(store_name="Run7", post_w=640, post_h=480, id_offset=5_000_000_000)
    record = {
        **_good(small, "origin"),
        "id": sample_id(5_000_000_000, "origin", 0),
        "image": "Run7/origin/generated/5000000000.jpg",
        "fake_image_box": [0, 0, 640, 480],
        "mtcnn_boxes": [[500, 300, 600, 470]],
    }
    assert Sample.from_json(record, where=WHERE, rules=rules).id == 5_000_000_000
    with pytest.raises(DataFileError, match="not inside the 400x256 image"):
        Sample.from_json(
            record, where=WHERE, rules=SampleRules(store_name="Run7", id_offset=5_000_000_000)
        )
    # ... and store_rules reads them from store.json
    root = tmp_path / "Run7"
    root.mkdir()
    (root / "store.json").write_text(
        json.dumps({"POST_W": 640, "POST_H": 480, "ID_OFFSET": 5_000_000_000})
    )
    assert store_rules(root) == SampleRules(
        store_name="Run7", post_w=640, post_h=480, id_offset=5_000_000_000
    )
    for bad in ("[1, 2]", "null", "{", '{"POST_W": "wide"}'):
        (root / "store.json").write_text(bad)
        with pytest.raises(DataFileError, match=r"store\.json"):
            store_rules(root)


def test_classes_agree_with_meta_and_features():
    assert list(CLASS_NAMES) == META_CLASSES
    assert dgm4plus_features()["fake_cls"].names == META_CLASSES
    assert dgm4plus_features()["fake_image_box"] == datasets.List(datasets.Value("int32"))


def test_released_box_conventions(small):
    rules = SampleRules()
    sample = Sample.from_json(small.records[0], where=WHERE, rules=rules)
    assert released_image_box(sample, "none", rules) == []
    assert released_image_box(sample, "full", rules) == [0, 0, 400, 256]
    legacy = Sample.from_json(
        {**small.records[0], "fake_image_box": [0, 0, 400, 256]}, where=WHERE, rules=rules
    )
    assert released_image_box(legacy, "none", rules) == []  # the old whole-frame box: no region
    region = Sample.from_json(
        {**small.records[0], "fake_image_box": [10, 20, 30, 40]}, where=WHERE, rules=rules
    )
    assert released_image_box(region, "none", rules) == [10, 20, 30, 40]  # a real region stays


def test_shards_keep_order_and_cover_everything():
    for n in (0, 1, 7, 8, 9, 100, 1001, 4999):
        items = list(range(n))
        chunks = shard(items)  # type: ignore[arg-type]
        assert [x for c in chunks for x in c] == items
        assert len(chunks) == min(n, max(-(-n // 500), 8))


# ----------------------------------------------------------------------------------------------
# Through the readers


def _broken_store(tmp_path: Path, case: str) -> Path:
    fs = make_store(tmp_path, per_bucket=2)
    records = [dict(r) for r in fs.records]
    if case == "phash":
        records[1]["phash"] = "zz"
    elif case == "plan_key":
        records[1]["plan_key"] = "bogus"
    elif case == "text_null":
        records[1]["text"] = None
    elif case == "string_id":
        records[1]["id"] = str(records[1]["id"])
    elif case == "duplicate_line":
        records.append(dict(records[1]))
    elif case == "image_800x600":
        Image.new("RGB", (800, 600), (90, 120, 40)).save(fs.root.parent / records[1]["image"])
    elif case == "truncated_jpeg":
        path = fs.root.parent / records[1]["image"]
        path.write_bytes(path.read_bytes()[:1500])
    write_records(fs.root, records)
    return fs.root


CASES = [
    "phash",
    "plan_key",
    "text_null",
    "string_id",
    "duplicate_line",
    "image_800x600",
    "truncated_jpeg",
]
RECORD_CASES = CASES[:5]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("command", ["export", "export-dgm4"])
def test_exports_refuse_bad_records_with_one_line(tmp_path, case, command):
    root = _broken_store(tmp_path, case)
    before = _snapshot(root)
    proc = run_cli(command, "--data-dir", str(root), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [x for x in proc.stderr.splitlines() if x.startswith("dgm4plus: error:")]
    assert len(errors) == 1 and proc.stderr.splitlines()[-1] == errors[0], proc.stderr
    if case in RECORD_CASES:
        assert "metadata.jsonl:2: field '" in proc.stderr or "metadata.jsonl:7:" in proc.stderr
    else:
        assert ".jpg: image " in proc.stderr
    assert not (tmp_path / "out").exists()
    assert _snapshot(root) == before  # nothing of the store touched


@pytest.mark.parametrize("case", CASES)
def test_validate_lists_bad_records(tmp_path, case):
    root = _broken_store(tmp_path, case)
    proc = run_cli("validate", str(root))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout.splitlines()[-1].endswith(f"problem(s) in {root}")
    want = {
        "phash": "metadata.jsonl:2: field 'phash': expected 16 hex digits, got 'zz'",
        "plan_key": "metadata.jsonl:2: field 'plan_key'",
        "text_null": "metadata.jsonl:2: field 'text': expected a string, got None",
        "string_id": "metadata.jsonl:2: field 'id': expected an integer",
        "duplicate_line": "is not unique",
        "image_800x600": "image is 800x600, expected 400x256",
        "truncated_jpeg": "does not decode",
    }[case]
    assert want in proc.stdout, proc.stdout


@pytest.mark.parametrize("case", RECORD_CASES)
def test_generate_refuses_bad_records_with_one_line(tmp_path, case):
    root = _broken_store(tmp_path, case)
    before = _snapshot(root)
    proc = run_cli(
        "generate",
        "--backend",
        "composite",
        "--out",
        str(root),
        "--origin",
        "2",
        "--text-attribute",
        "2",
        "--text-swap",
        "2",
        "--seed",
        "123456789",
        "--no-progress",
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [x for x in proc.stderr.splitlines() if x.startswith("dgm4plus: error:")]
    assert len(errors) == 1 and "metadata.jsonl:" in errors[0], proc.stderr
    after, was = _snapshot(root), dict(before)
    for name in ("store.lock", "store.json"):  # the writer's lock; the manifest of bound knobs
        after.pop(name, None)
        was.pop(name, None)
    assert after == was  # records, ledgers and images untouched


def test_duplicate_id_is_an_error_naming_both_lines(tmp_path):
    root = _broken_store(tmp_path, "duplicate_line")
    with pytest.raises(
        DataFileError,
        match=r"metadata\.jsonl:7: field 'id': \d+ appears twice "
        r"\(first on line 2\)",
    ):
        load_samples(root)
    with pytest.raises(DataFileError, match="appears twice"):
        DGM4Plus(data_dir=str(root), cache_dir=str(tmp_path / "c")).download_and_prepare()


def test_builder_refuses_a_wrong_size_image(tmp_path):
    root = _broken_store(tmp_path, "image_800x600")
    with pytest.raises(DataFileError, match=r"image is 800x600, expected 400x256"):
        DGM4Plus(data_dir=str(root), cache_dir=str(tmp_path / "c")).download_and_prepare()


# ----------------------------------------------------------------------------------------------
# The builder: shards for num_proc, the box knob, the explicit generate step


def test_builder_num_proc_2_gives_the_same_rows(tmp_path):
    fs = make_store(tmp_path, per_bucket=20)
    one = DGM4Plus(config_name="all", data_dir=str(fs.root), cache_dir=str(tmp_path / "c1"))
    one.download_and_prepare()
    two = DGM4Plus(config_name="all", data_dir=str(fs.root), cache_dir=str(tmp_path / "c2"))
    two.download_and_prepare(num_proc=2)
    for split, info in one.info.splits.items():
        a = one.as_dataset(split=split).cast_column("image", datasets.Image(decode=False))
        b = two.as_dataset(split=split).cast_column("image", datasets.Image(decode=False))
        assert info.num_examples == two.info.splits[split].num_examples
        assert a["id"] == b["id"] == sorted(a["id"])  # the same rows, in id order
        assert a.to_list() == b.to_list()
    assert sum(i.num_examples for i in two.info.splits.values()) == 60
    # more than one shard per split really went to the workers
    assert len(shard([r for r in fs.records if split_of(r["id"]) == "train"])) >= 2  # type: ignore[misc]


def test_builder_num_proc_2_reports_a_bad_image_as_one_error(tmp_path):
    root = _broken_store(tmp_path, "truncated_jpeg")
    b = DGM4Plus(config_name="all", data_dir=str(root), cache_dir=str(tmp_path / "c"))
    with pytest.raises(DataFileError, match="image does not decode"):
        b.download_and_prepare(num_proc=2)


def test_fake_image_box_full_in_builder_and_exports(tmp_path):
    fs = make_store(tmp_path, per_bucket=3)
    b = DGM4Plus(
        config_name="all",
        data_dir=str(fs.root),
        cache_dir=str(tmp_path / "c"),
        fake_image_box="full",
    )
    b.download_and_prepare()
    for split in b.info.splits:
        assert {tuple(x) for x in b.as_dataset(split=split)["fake_image_box"]} == {(0, 0, 400, 256)}
    out = tmp_path / "hammer"
    proc = run_cli(
        "export-dgm4", "--data-dir", str(fs.root), "--out", str(out), "--fake-image-box", "full"
    )
    assert proc.returncode == 0, proc.stderr
    rows = [
        r
        for f in out.rglob("*.json")
        if "metadata" in f.parts
        for r in json.loads(f.read_text())
        if isinstance(r, dict)
    ]
    assert rows and all(r["fake_image_box"] == [0, 0, 400, 256] for r in rows)
    with pytest.raises(UsageError, match="fake_image_box: must be one of none, full"):
        DGM4Plus(config_name="all", data_dir=str(fs.root), fake_image_box="half")


def test_generate_true_raises_when_the_budget_stops_it(tmp_path):
    root = tmp_path / "DGM4"
    knobs = {
        "BACKEND": "composite",
        "SEED": 3,
        "TARGET_LITERAL": 3,
        "TARGET_INV_EMO": 0,
        "TARGET_IRRELEV": 0,
        "MAX_IMAGE_CALLS": 1,
        "COMPOSITE_FAULT_RATE": 0.0,
    }
    b = DGM4Plus(
        config_name="origin",
        data_dir=str(root),
        cache_dir=str(tmp_path / "c"),
        generate=True,
        generator_knobs=knobs,
    )
    with pytest.raises(TargetsNotReached) as err:
        b.download_and_prepare()
    assert err.value.cause == "budget" and err.value.short == {"origin": 2}
    message = str(err.value)
    assert "origin needs 2 more" in message and "MAX_IMAGE_CALLS" in message
    assert "\n" not in message
    kept = load_samples(root)  # the paid sample is kept; a rerun resumes
    assert len(kept) == 1


@pytest.mark.parametrize(
    ("stopped_by", "fatal", "refused", "cause", "words"),
    [
        ("SIGINT", None, 0, "signal", "interrupted by SIGINT"),
        ("SIGTERM", None, 0, "signal", "interrupted by SIGTERM"),
        ("MAX_IMAGE_CALLS", None, 0, "budget", "the spend cap was reached (MAX_IMAGE_CALLS"),
        (
            "the image API refused the run",
            "Error code: 401 - bad key",
            0,
            "refusal",
            "the image API refused the run: Error code: 401",
        ),
        (
            "200 rejections in a row (check the backend)",
            None,
            200,
            "refusal",
            "200 plan items refused by the image API",
        ),
    ],
)
def test_targets_not_reached_says_why(stopped_by, fatal, refused, cause, words):
    from collections import Counter

    from generator.config import load_config
    from generator.generate import require_targets
    from generator.pipeline import RunStats

    cfg = load_config(
        cli={"BACKEND": "composite", "TARGET_LITERAL": 4, "TARGET_INV_EMO": 1, "TARGET_IRRELEV": 1},
        env={},
    )
    stats = RunStats(
        stopped_by=stopped_by,
        fatal=fatal,
        rejected=Counter({"refused": refused}),
        final_counts={"origin": 1, "text_attribute": 1, "text_swap": 1},
    )
    with pytest.raises(TargetsNotReached) as err:
        require_targets(stats, cfg)
    assert err.value.cause == cause and err.value.short == {"origin": 3}
    assert words in str(err.value) and "origin needs 3 more" in str(err.value)
    done = RunStats(final_counts={"origin": 4, "text_attribute": 1, "text_swap": 1})
    require_targets(done, cfg)  # targets met: no error


def test_explicit_generate_step_returns_the_stats(tmp_path):
    from generator.generate import generate, make_config, targets_short

    knobs = {
        "BACKEND": "composite",
        "SEED": 5,
        "TARGET_LITERAL": 1,
        "TARGET_INV_EMO": 1,
        "TARGET_IRRELEV": 1,
        "COMPOSITE_FAULT_RATE": 0.0,
    }
    stats = generate(tmp_path / "DGM4", knobs=knobs, progress=False)
    assert stats.accepted == 3 and not targets_short(stats, make_config(tmp_path / "DGM4", knobs))
    # the store it made is a valid store for every reader
    assert len(load_samples(tmp_path / "DGM4")) == 3
    shutil.rmtree(tmp_path / "DGM4")


def test_validate_reads_its_limits_from_the_store(tmp_path):
    """validate checks against store.json's size and the last run's pHash distance, not 400x256
    and 3: the same store read as bound to 200x128 fails every image and box."""
    fs = make_store(tmp_path, per_bucket=1)
    assert run_cli("validate", str(fs.root)).returncode == 0
    manifest = json.loads((fs.root / "store.json").read_text())
    (fs.root / "store.json").write_text(json.dumps({**manifest, "POST_W": 200, "POST_H": 128}))
    proc = run_cli("validate", str(fs.root))
    assert proc.returncode == 1
    assert "is not inside the 200x128 image" in proc.stdout  # a face box of the records
    assert store_rules(fs.root).phash_distance == 3
    runs = [json.loads(x) for x in (fs.root / "runs.jsonl").read_text().splitlines()]
    runs[-1]["config"]["PHASH_DISTANCE_MAX"] = 9
    (fs.root / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    assert store_rules(fs.root).phash_distance == 9


def test_merge_reads_shard_records_through_the_schema(tmp_path):
    from generator.merge import read_store

    fs = make_store(tmp_path, per_bucket=1)
    assert [s.id for s in read_store(fs.root).records] == [r["id"] for r in fs.records]
    root = _broken_store(tmp_path / "bad", "phash")
    with pytest.raises(DataFileError, match=r"metadata\.jsonl:2: field 'phash'"):
        read_store(root)


# ----------------------------------------------------------------------------------------
# rejected.jsonl

REJECTIONS = {
    "verdict": {
        "plan_key": "origin/7",
        "fake_cls": "origin",
        "reason": "faces",
        "attempt_reasons": ["faces", "ocr"],
        "calls": 2,
        "backend": "composite",
    },
    "attempt": {
        "plan_key": "text_swap/3",
        "fake_cls": "text_swap",
        "attempt": 1,
        "reason": "ocr",
        "backend": "openai",
        "image": "rejected/text_swap/3-1.png",
    },
    "merge": {
        "plan_key": "text_attribute/4",
        "fake_cls": "text_attribute",
        "reason": "duplicate_caption",
        "attempt_reasons": [],
        "calls": 0,
        "backend": None,
        "merged_from": "/data/shard-1/DGM4",
    },
}
REJECTED_WHERE = ("DGM4/rejected.jsonl", 5)


@pytest.mark.parametrize("kind", list(REJECTIONS))
def test_rejection_round_trip_keeps_keys_and_order(kind):
    line = REJECTIONS[kind]
    entry = Rejection.from_json(dict(line), where=REJECTED_WHERE)
    assert entry.kind == kind and entry.plan_key == line["plan_key"]
    out = entry.to_json()
    assert list(out) == list(REJECTION_KEYS[kind]) == list(line)
    assert json.dumps(out) == json.dumps(line)
    unknown = {**line, "note": {"by": "a newer version"}}
    assert Rejection.from_json(unknown, where=REJECTED_WHERE).to_json() == unknown
    if kind == "attempt":
        kept = Rejection.from_json({**line, "image": None}, where=REJECTED_WHERE)
        assert kept.to_json()["image"] is None and kept.images == []


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("plan_key", "origin", "expected <class>/<k>"),
        ("plan_key", 7, "expected a string"),
        ("reason", None, "expected a string, got None"),
        ("attempt", True, "expected an integer, got True"),
        ("attempt", -1, "expected 0 or more"),
        ("attempt_reasons", ["faces", 3], "expected a list of strings"),
        ("calls", "2", "expected an integer"),
        ("fake_cls", 1, "expected a string"),
        ("merged_from", [], "expected a string"),
    ],
)
def test_each_bad_rejection_field_names_file_line_and_field(name, value, words):
    line = {**REJECTIONS["verdict"], name: value}
    with pytest.raises(DataFileError) as err:
        Rejection.from_json(line, where=REJECTED_WHERE)
    message = str(err.value)
    assert message.startswith(f"DGM4/rejected.jsonl:5: field '{name}': "), message
    assert words in message and "\n" not in message
    del line[name]
    if name in ("plan_key", "reason"):
        with pytest.raises(DataFileError, match=rf"rejected.jsonl:5: field '{name}': missing$"):
            Rejection.from_json(line, where=REJECTED_WHERE)
    with pytest.raises(DataFileError, match="expected a JSON object"):
        Rejection.from_json([1], where=REJECTED_WHERE)


def test_a_bad_rejected_line_is_named_by_its_line_number(tmp_path):
    from generator.store import read_rejections

    path = tmp_path / "rejected.jsonl"
    good = json.dumps(REJECTIONS["verdict"])
    path.write_text(good + "\n\n" + json.dumps({**REJECTIONS["verdict"], "calls": "x"}) + "\n")
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))}:3: field 'calls'"):
        read_rejections(path)
    path.write_text(good + "\n" + good[:20])  # a torn last line: ignored, reported as torn
    entries, torn = read_rejections(path)
    assert torn and [e.to_json() for e in entries] == [REJECTIONS["verdict"]]
