"""`dgm4plus plan`: deterministic JSONL, correct spans, CLI errors as one line with exit 2."""

from __future__ import annotations

import hashlib
import json

import pytest
from conftest import run_cli

from generator.config import load_config
from generator.plan import iter_plan, plan_item
from generator.text.datelines import load_cities
from generator.text.tokenize import dgm4_words

KEYS = {
    "plan_key",
    "fake_cls",
    "text",
    "fake_text_pos",
    "literal_text",
    "prompt",
    "backdrop",
    "backdrop_kind",
    "shot",
    "lighting",
    "dateline",
    "role",
    "event",
    "num_people",
}


@pytest.fixture(scope="module")
def full_plan() -> list[dict]:
    proc = run_cli(
        "plan",
        "--seed",
        "123456789",
        "--origin",
        "1000",
        "--text-attribute",
        "1000",
        "--text-swap",
        "1000",
        check=True,
    )
    return [json.loads(line) for line in proc.stdout.splitlines()]


def _marked(text_after: str) -> list[str]:
    return dgm4_words(text_after)


def test_full_plan_has_3000_valid_lines(full_plan):
    assert len(full_plan) == 3000
    assert sum(1 for p in full_plan if p["fake_cls"] == "text_swap") == 1000
    for item in full_plan:
        assert set(item) >= KEYS
        words = dgm4_words(item["text"])
        assert all(0 <= i < min(50, len(words)) for i in item["fake_text_pos"])
        assert len(item["text"].split()) <= 40
        assert item["shot"] in ("wide shot", "medium shot", "close-up")
        assert item["backdrop_kind"] in ("absurd", "realistic") and 1 <= item["num_people"] <= 3
        marked = [words[i] for i in item["fake_text_pos"]]
        if item["fake_cls"] == "origin":
            assert marked == [] and item["text"] == item["literal_text"]
        elif item["fake_cls"] == "text_attribute":
            # the add-on is exactly what follows the literal headline (minus its final period)
            literal = item["literal_text"].rstrip(".")
            assert item["text"].startswith(literal)
            assert marked == dgm4_words(item["text"][len(literal) :])
        else:
            # the swapped words are the whole headline after the dateline separator
            head = item["text"]
            if item["dateline"]:
                sep = " — " if " — " in head else ": "
                head = head.split(sep, 1)[1]
            assert marked == dgm4_words(head)
            assert item["text"] != item["literal_text"]
    texts = [p["text"] for p in full_plan]
    assert len(set(texts)) >= 0.99 * len(texts)


def test_plan_is_byte_identical_across_runs(full_plan):
    again = run_cli(
        "plan",
        "--seed",
        "123456789",
        "--origin",
        "1000",
        "--text-attribute",
        "1000",
        "--text-swap",
        "1000",
        check=True,
        env={"PYTHONHASHSEED": "12345"},
    )
    assert [json.loads(x) for x in again.stdout.splitlines()] == full_plan
    # golden: pins the output on every machine (update only on a deliberate plan change)
    digest = hashlib.sha256(again.stdout.encode()).hexdigest()
    assert digest == GOLDEN_SHA256, digest


def test_golden_items():
    cfg = load_config(cli={"SEED": 123456789})
    cities = load_cities(None)
    item = plan_item(cfg, cities, "text_attribute", 0)
    assert item.text == GOLDEN_TA0
    assert item.fake_text_pos == (16, 17, 18)
    assert [dgm4_words(item.text)[i] for i in item.fake_text_pos] == [
        "looking",
        "distinctly",
        "calm",
    ]


def test_plan_items_do_not_depend_on_order_or_counts():
    cfg = load_config(
        cli={"SEED": 5, "TARGET_LITERAL": 20, "TARGET_INV_EMO": 20, "TARGET_IRRELEV": 20}
    )
    cities = load_cities(None)
    big = {i.plan_key: i for i in iter_plan(cfg, cities)}
    small = list(iter_plan(cfg, cities, {"origin": 3, "text_attribute": 0, "text_swap": 7}))
    assert [i.plan_key for i in small][:4] == ["origin/0", "text_swap/0", "origin/1", "text_swap/1"]
    assert all(big[i.plan_key] == i for i in small)
    assert plan_item(cfg, cities, "text_swap", 19) == big["text_swap/19"]


def test_realistic_rate_is_respected():
    cfg = load_config(
        cli={
            "SEED": 9,
            "MISPLACED_BG_RATE": 0.3,
            "TARGET_LITERAL": 600,
            "TARGET_INV_EMO": 0,
            "TARGET_IRRELEV": 0,
        }
    )
    items = list(iter_plan(cfg, load_cities(None)))
    absurd = sum(i.backdrop_kind == "absurd" for i in items) / len(items)
    assert 0.24 < absurd < 0.36


def test_em_dash_and_colon():
    base = {"SEED": 3, "TARGET_LITERAL": 5, "TARGET_INV_EMO": 0, "TARGET_IRRELEV": 0}
    dash = list(iter_plan(load_config(cli={**base, "USE_EM_DASH": True}), load_cities(None)))
    colon = list(iter_plan(load_config(cli={**base, "USE_EM_DASH": False}), load_cities(None)))
    assert all(" — " in i.text for i in dash)
    assert all(": " in i.text and "—" not in i.text for i in colon)


def test_city_data_flag_and_bad_city_file(tmp_path):
    good = tmp_path / "worldcities.csv"
    good.write_text(
        '"city","country","iso2","admin_name","population"\n'
        '"Mombasa","Kenya","KE","Mombasa","1208333"\n'
    )
    proc = run_cli(
        "plan",
        "--origin",
        "3",
        "--text-attribute",
        "0",
        "--text-swap",
        "0",
        "--city-data",
        str(good),
        check=True,
    )
    assert all(json.loads(x)["dateline"] == "MOMBASA, Kenya" for x in proc.stdout.splitlines())
    bad = tmp_path / "cities1000.txt"
    bad.write_text("1\tOslo\tOslo\n")
    proc = run_cli("plan", "--origin", "3", "--city-data", str(bad))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "cities1000.txt:1" in proc.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["plan", "--origin", "-3"], "TARGET_LITERAL"),
        (["plan", "--misplaced-bg-rate", "2"], "MISPLACED_BG_RATE"),
        (["plan", "--seed", "abc"], "SEED"),
        (["plan", "--bogus-flag"], "unrecognized arguments"),
        (["generate", "--min-faces", "4", "--max-faces", "2"], "MIN_FACES"),
        (["generate", "--concurrency", "0", "--backend", "composite"], "CONCURRENCY"),
        (["generate", "--backend", "nope"], "BACKEND"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle, tmp_path):
    proc = (
        run_cli(*args, "--out", str(tmp_path / "DGM4")) if args[0] == "generate" else run_cli(*args)
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and needle in proc.stderr
    assert not (tmp_path / "DGM4").exists()


def test_unknown_toml_key_via_cli(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text("SEED = 4\nMAX_FACE = 2\n")
    proc = run_cli("plan", "--config", str(toml))
    assert proc.returncode == 2 and "MAX_FACE: unknown key" in proc.stderr


def test_openai_backend_without_key_is_one_line(tmp_path):
    proc = run_cli(
        "generate", "--backend", "openai", "--out", str(tmp_path / "DGM4"), "--origin", "1"
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "OPENAI_API_KEY" in proc.stderr and "--backend composite" in proc.stderr
    assert not (tmp_path / "DGM4").exists()


# Updated for ASCII datelines and the 10-25 word headline budget (issue 9): the city table lost
# its non-ASCII spellings and a few GeoNames districts, so the same draw lands on another city.
GOLDEN_TA0 = (
    "ROSKILDE, Denmark — Two radio hosts pose for photographers in a courtroom "
    "carved from frozen lightning, looking distinctly calm."
)
GOLDEN_SHA256 = "a337b6560c0a3de86d426959fabe9275fb71893a8d1009cba03a68612746de17"
