"""The review ledger: decisions in force, undo, torn lines, summaries, and the release filter."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from fixtures_store import make_store

from generator.errors import DataFileError, UsageError
from generator.reviews import (
    REVIEWS_JSONL,
    append_review,
    decisions,
    drop_rejected,
    load_reviews,
    make_review,
    rejected_ids,
    review_summary,
)

T = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)


def _write(root, *entries):
    for ident, decision, reason in entries:
        append_review(root, make_review(ident, decision, reason, when=T))


def test_latest_decision_wins_and_undo_takes_back_one(tmp_path):
    _write(
        tmp_path,
        (1, "reject", "blurry"),
        (1, "accept", None),
        (2, "reject", "text"),
        (3, "accept", None),
        (3, "reject", "faces"),
        (3, "undo", None),
        (4, "reject", "x"),
        (4, "undo", None),
        (5, "undo", None),
    )
    in_force = decisions(load_reviews(tmp_path))
    assert {i: r.decision for i, r in in_force.items()} == {1: "accept", 2: "reject", 3: "accept"}
    assert rejected_ids(tmp_path) == {2}


def test_lines_are_plain_json_with_id_decision_reason_time(tmp_path):
    _write(tmp_path, (7, "reject", "  readable\n signage  "), (7, "accept", "ignored"))
    lines = (tmp_path / REVIEWS_JSONL).read_text().splitlines()
    assert [json.loads(x) for x in lines] == [
        {
            "id": 7,
            "decision": "reject",
            "reason": "readable signage",
            "time": "2026-12-01T20:00:00+00:00",
        },
        {"id": 7, "decision": "accept", "reason": None, "time": "2026-12-01T20:00:00+00:00"},
    ]


def test_torn_last_line_is_ignored_then_cut_back_before_the_next_append(tmp_path):
    _write(tmp_path, (1, "reject", "a"))
    with open(tmp_path / REVIEWS_JSONL, "ab") as fh:
        fh.write(b'{"id": 2, "decis')
    assert rejected_ids(tmp_path) == {1}
    _write(tmp_path, (3, "reject", "b"))
    assert [r.id for r in load_reviews(tmp_path)] == [1, 3]
    assert (tmp_path / REVIEWS_JSONL).read_bytes().count(b"\n") == 2


def test_whole_last_line_without_newline_counts_and_is_ended(tmp_path):
    (tmp_path / REVIEWS_JSONL).write_text(
        '{"id": 4, "decision": "reject", "reason": "r", "time": ""}'
    )
    assert rejected_ids(tmp_path) == {4}
    _write(tmp_path, (5, "reject", "b"))
    assert rejected_ids(tmp_path) == {4, 5}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"id": "7", "decision": "reject"}', "'id' must be an integer"),
        ('{"id": 7, "decision": "delete"}', "'decision' must be one of"),
        ('{"id": 7, "decision": "reject", "reason": 3}', "'reason' must be"),
    ],
)
def test_a_bad_line_in_the_middle_names_file_and_line(tmp_path, line, message):
    _write(tmp_path, (1, "reject", "a"))
    with open(tmp_path / REVIEWS_JSONL, "a") as fh:
        fh.write(line + "\n")
    _write(tmp_path, (2, "reject", "b"))
    with pytest.raises(DataFileError) as exc:
        load_reviews(tmp_path)
    assert f"{REVIEWS_JSONL}:2: " in str(exc.value) and message in str(exc.value)


def test_make_review_refuses_bad_decisions_and_ids():
    with pytest.raises(UsageError, match="decision must be one of"):
        make_review(1, "remove")
    with pytest.raises(UsageError, match="integer"):
        make_review(True, "reject", "x")  # type: ignore[arg-type]


def test_summary_counts_only_the_stores_ids_and_reasons(tmp_path):
    fx = make_store(tmp_path, per_bucket=2)
    ids = [r["id"] for r in fx.records]
    _write(
        fx.root,
        (ids[0], "reject", "readable text"),
        (ids[1], "reject", "readable text"),
        (ids[2], "reject", "face artefact"),
        (ids[3], "accept", None),
        (ids[2], "undo", None),
        (999, "reject", "not in this store"),
    )
    s = review_summary(fx.root)
    assert (s.total, s.reviewed, s.accepted, s.rejected, s.unreviewed) == (6, 3, 1, 2, 3)
    assert s.reasons == {"readable text": 2}
    assert s.line() == "review: 3 of 6 samples reviewed (50.0%), 2 rejected (readable text: 2)"
    assert review_summary(fx.root, ids=ids[:1]).rejected == 1


def test_drop_rejected_keeps_order_and_the_rest(tmp_path):
    records = [{"id": i} for i in range(5)]
    assert drop_rejected(tmp_path, records) is records
    _write(tmp_path, (1, "reject", "x"), (3, "reject", "y"), (3, "undo", None))
    assert [r["id"] for r in drop_rejected(tmp_path, records)] == [0, 2, 3, 4]


def test_validate_reports_coverage_and_ledger_problems(tmp_path):
    from conftest import run_cli

    fx = make_store(tmp_path, per_bucket=2)
    proc = run_cli("validate", str(fx.root))
    assert "review: 0 of 6 samples reviewed (0.0%), 0 rejected" in proc.stdout
    ids = [r["id"] for r in fx.records]
    _write(fx.root, (ids[0], "reject", "face artefact"), (ids[2], "accept", None))
    proc = run_cli("validate", str(fx.root))
    assert "review: 2 of 6 samples reviewed (33.3%), 1 rejected (face artefact: 1)" in proc.stdout
    assert "reviews.jsonl" not in proc.stdout.replace("review:", "")
    _write(fx.root, (31337, "reject", "typo"))
    proc = run_cli("validate", str(fx.root))
    assert proc.returncode == 1
    assert (
        f"{fx.root / REVIEWS_JSONL}: decision about id 31337, which is not in this store"
        in proc.stdout
    )
