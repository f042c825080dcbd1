"""`generate` after a review: each rejected sample's place is filled from the next unused plan
item, and a rejected plan key is never generated (or paid for) again."""

from __future__ import annotations

from collections import Counter

from conftest import read_jsonl, run_cli

from generator.reviews import append_review, make_review, rejected_ids


def _generate(out, n=2):
    return run_cli(
        "generate",
        "--backend",
        "composite",
        "--out",
        str(out),
        "--seed",
        "777",
        "--origin",
        str(n),
        "--text-attribute",
        str(n),
        "--text-swap",
        str(n),
        "--composite-fault-rate",
        "0.3",
        "--no-progress",
    )


def test_rejected_places_are_refilled_from_new_plan_items(tmp_path):
    out = tmp_path / "DGM4"
    assert _generate(out).returncode == 0
    first = read_jsonl(out / "metadata.jsonl")
    assert len(first) == 6
    victims = [first[0], first[4]]
    for r in victims:
        append_review(out, make_review(r["id"], "reject", "readable signage"))
    runs_before = len(read_jsonl(out / "runs.jsonl"))

    proc = _generate(out)
    assert proc.returncode == 0, proc.stderr
    after = read_jsonl(out / "metadata.jsonl")
    assert after[:6] == first  # nothing rewritten or dropped: the rejected keep their records
    new = after[6:]
    assert len(new) == 2
    assert Counter(r["fake_cls"] for r in new) == Counter(r["fake_cls"] for r in victims)
    used_before = {r["plan_key"] for r in first} | {
        e["plan_key"]
        for e in read_jsonl(out / "rejected.jsonl")
        if e["plan_key"] not in {r["plan_key"] for r in new}
    }
    assert not {r["plan_key"] for r in new} & used_before
    keys = [r["plan_key"] for r in after]
    assert len(keys) == len(set(keys))  # no plan key made twice
    run = read_jsonl(out / "runs.jsonl")[runs_before]
    assert run["accepted"] == 2
    kept = {r["fake_cls"]: 0 for r in after}
    gone = rejected_ids(out)
    for r in after:
        kept[r["fake_cls"]] += r["id"] not in gone
    assert kept == {"origin": 2, "text_attribute": 2, "text_swap": 2}

    again = _generate(out)  # the targets hold: nothing more is made
    assert again.returncode == 0 and len(read_jsonl(out / "metadata.jsonl")) == 8
    assert read_jsonl(out / "runs.jsonl")[-1]["calls"] == 0


def test_an_undone_rejection_counts_again(tmp_path):
    out = tmp_path / "DGM4"
    assert _generate(out, n=1).returncode == 0
    r = read_jsonl(out / "metadata.jsonl")[1]
    append_review(out, make_review(r["id"], "reject", "x"))
    append_review(out, make_review(r["id"], "undo"))
    assert _generate(out, n=1).returncode == 0
    assert len(read_jsonl(out / "metadata.jsonl")) == 3
