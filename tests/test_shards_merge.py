"""`generate --shard I/N` and `dgm4plus merge`: two shards merged equal one unsharded run."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from generator.config import load_config
from generator.errors import ConfigError, UsageError
from generator.merge import merge_stores
from generator.pipeline import fill_store
from generator.shards import Shard, parse_shard
from tests.conftest import read_jsonl, run_cli

KNOBS = {
    "BACKEND": "composite",
    "TARGET_LITERAL": 4,
    "TARGET_INV_EMO": 3,
    "TARGET_IRRELEV": 3,
    "SEED": 4242,
    "CONCURRENCY": 2,
}


def _build(root: Path, **extra: object) -> Path:
    cfg = load_config(cli={**KNOBS, "OUT_ROOT": str(root), **extra}, env={})
    stats = fill_store(cfg, progress=False)
    assert stats.stopped_by is None
    return root


def _tree(root: Path) -> dict[str, str]:
    """Every image of a store by relative path -> SHA-256 of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.jpg"))
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("shards")
    one = _build(base / "one" / "DGM4")
    shards = [_build(base / f"s{i}" / "DGM4", SHARD=f"{i}/2", CONCURRENCY=1 + i) for i in range(2)]
    return base, one, shards


def test_shard_rule_is_a_partition_with_exact_shares():
    for n in (1, 2, 3, 7):
        shards = [Shard(i, n) for i in range(n)]
        for k in range(50):
            assert sum(s.owns(k) for s in shards) == 1
        for target in (0, 1, 5, 13, 100):
            assert sum(s.share(target) for s in shards) == target
            assert all(s.share(target) == sum(s.owns(k) for k in range(target)) for s in shards)
    assert parse_shard(" 2 / 5 ") == Shard(2, 5)
    for bad in ("2/2", "-1/3", "1", "a/b", "1/0"):
        with pytest.raises(ConfigError, match="SHARD"):
            parse_shard(bad)


def test_each_shard_builds_only_its_own_keys(runs):
    _, _, shards = runs
    for i, root in enumerate(shards):
        keys = [r["plan_key"] for r in read_jsonl(root / "metadata.jsonl")]
        keys += [r["plan_key"] for r in read_jsonl(root / "rejected.jsonl")]
        assert keys and all(int(k.rsplit("/", 1)[1]) % 2 == i for k in keys)
        assert json.loads((root / "store.json").read_text())["SHARD"] == f"{i}/2"


def test_two_shards_merged_equal_one_unsharded_run(runs):
    base, one, shards = runs
    merged = base / "merged" / "DGM4"
    report = merge_stores(shards, merged)
    assert report.counts == {"origin": 4, "text_attribute": 3, "text_swap": 3}
    assert not report.missing_shards
    want = read_jsonl(one / "metadata.jsonl")
    got = read_jsonl(merged / "metadata.jsonl")
    order = lambda r: (int(r["plan_key"].rsplit("/", 1)[1]), r["plan_key"])  # noqa: E731
    assert sorted(got, key=order) == sorted(want, key=order)  # same keys, ids, captions, boxes...
    assert _tree(merged) == _tree(one)  # ... and the same image bytes
    assert json.loads((merged / "metadata.json").read_text()) == got
    assert run_cli("validate", str(merged)).returncode == 0
    # The order of the inputs changes nothing, down to the bytes of the ledgers.
    again = base / "merged2" / "DGM4"
    merge_stores(list(reversed(shards)), again)
    for name in ("metadata.jsonl", "rejected.jsonl", "store.json"):
        assert (again / name).read_bytes() == (merged / name).read_bytes()
    # The merged store is a store: resuming it with the same knobs has nothing left to build.
    cfg = load_config(cli={**KNOBS, "OUT_ROOT": str(merged)}, env={})
    assert fill_store(cfg, progress=False).calls == 0


def test_merge_refuses_other_seeds_repeated_shards_and_plain_stores(runs, tmp_path):
    base, one, shards = runs
    other = _build(
        tmp_path / "other" / "DGM4",
        SHARD="1/2",
        SEED=7,
        TARGET_LITERAL=1,
        TARGET_INV_EMO=0,
        TARGET_IRRELEV=0,
    )
    with pytest.raises(UsageError, match="SEED"):
        merge_stores([shards[0], other], tmp_path / "m1")
    with pytest.raises(UsageError, match="both shard 0/2"):
        merge_stores([shards[0], shards[0]], tmp_path / "m2")
    with pytest.raises(UsageError, match="not a shard"):
        merge_stores([shards[0], one], tmp_path / "m3")
    proc = run_cli(
        "merge", str(shards[0]), str(tmp_path / "nowhere"), "--out", str(tmp_path / "m4")
    )
    assert proc.returncode == 2 and "not a dgm4plus store" in proc.stderr
    assert not any((tmp_path / m).exists() for m in ("m1", "m2", "m3", "m4"))


def test_merge_refuses_other_knobs(runs, tmp_path):
    _, _, shards = runs
    other = _build(
        tmp_path / "o" / "DGM4",
        SHARD="1/2",
        MISPLACED_BG_RATE=0.5,
        TARGET_LITERAL=1,
        TARGET_INV_EMO=0,
        TARGET_IRRELEV=0,
    )
    with pytest.raises(UsageError, match="MISPLACED_BG_RATE"):
        merge_stores([shards[0], other], tmp_path / "m")


def test_a_failed_merge_leaves_nothing_and_an_earlier_merge_intact(runs, tmp_path):
    base, _, shards = runs
    out = tmp_path / "DGM4"
    merge_stores(shards, out)
    before = (out / "metadata.jsonl").read_bytes()
    # A shard that lost an image: the merge stops before anything replaces the earlier merge.
    broken = tmp_path / "broken"
    import shutil

    shutil.copytree(shards[1], broken / "DGM4")
    victim = next((broken / "DGM4").rglob("*.jpg"))
    victim.unlink()
    with pytest.raises(UsageError, match="missing"):
        merge_stores([shards[0], broken / "DGM4"], out)
    assert (out / "metadata.jsonl").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_shard_store_resumed_as_another_shard_is_refused(runs):
    _, _, shards = runs
    proc = run_cli(
        "generate",
        "--backend",
        "composite",
        "--seed",
        "4242",
        "--shard",
        "1/2",
        "--out",
        str(shards[0]),
    )
    assert proc.returncode == 2 and "SHARD" in proc.stderr


KILL_AT = """
import os, sys
import generator.merge as m
target, nth = sys.argv[3], int(sys.argv[4])
real = {"write": m.write_atomic, "rename": os.rename}
seen = [0]
def dying(*a, **k):
    seen[0] += 1
    if seen[0] == nth:
        os._exit(9)  # as abrupt as SIGKILL: no cleanup, no finally
    return real[target](*a, **k)
if target == "write":
    m.write_atomic = dying
else:
    m.os.rename = dying
m.merge_stores([sys.argv[1], sys.argv[2]], sys.argv[5])
"""


@pytest.mark.parametrize(
    ("target", "nth"), [("write", 1), ("write", 3), ("rename", 1), ("rename", 2)]
)
def test_a_killed_merge_leaves_nothing_or_a_valid_store(runs, tmp_path, target, nth):
    import subprocess
    import sys

    _, _, shards = runs
    out = tmp_path / "DGM4"
    first_merge = (
        target == "write"
    )  # kill the first merge; or kill a merge replacing an earlier one
    if not first_merge:
        merge_stores(shards, out)
    before = (out / "metadata.jsonl").read_bytes() if out.exists() else None
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AT, str(shards[0]), str(shards[1]), target, str(nth), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 9, proc.stderr
    if out.exists():  # a whole store: the earlier merge, untouched
        assert (out / "metadata.jsonl").read_bytes() == before
    else:
        assert first_merge or nth == 2  # killed between moving the old merge aside and the swap
    # The next merge recovers (puts a moved-aside merge back or removes the half-written
    # folder), completes, and leaves no hidden folder behind.
    report = merge_stores(shards, out)
    assert sum(report.counts.values()) == 10
    assert run_cli("validate", str(out)).returncode == 0
    assert [p.name for p in tmp_path.iterdir()] == ["DGM4"]


def test_reviews_in_shards_and_in_an_earlier_merge_survive_a_merge(runs, tmp_path):
    """Decisions made on a shard reach the merged store; a re-merge keeps the decisions made on
    the earlier merge and carries no shard decision twice (an undo counted twice would take
    back one decision too many)."""
    import shutil
    from datetime import UTC, datetime

    from generator.reviews import append_review, load_reviews, make_review, rejected_ids

    _, _, shards = runs
    copies = []
    for i, root in enumerate(shards):
        dst = tmp_path / f"s{i}" / "DGM4"
        shutil.copytree(root, dst)
        copies.append(dst)
    ids = [[r["id"] for r in read_jsonl(c / "metadata.jsonl")] for c in copies]
    t = [datetime(2026, 12, 1, 20, m, tzinfo=UTC) for m in range(6)]
    append_review(copies[0], make_review(ids[0][0], "reject", "readable sign", t[0]))
    append_review(copies[1], make_review(ids[1][0], "reject", "odd hands", t[1]))
    append_review(copies[1], make_review(ids[1][0], "undo", when=t[2]))
    append_review(copies[1], make_review(ids[1][1], "reject", "blurred face", t[3]))

    merged = tmp_path / "merged" / "DGM4"
    merge_stores(list(reversed(copies)), merged)  # argument order does not matter
    assert [r.time for r in load_reviews(merged)] == [x.isoformat() for x in t[:4]]
    assert rejected_ids(merged) == {ids[0][0], ids[1][1]}

    append_review(merged, make_review(ids[0][1], "reject", "logo", t[4]))  # on the merge
    append_review(copies[0], make_review(ids[0][0], "undo", when=t[5]))  # on a shard, later
    merge_stores(copies, merged)  # replaces the earlier merge
    assert len(load_reviews(merged)) == 6
    assert rejected_ids(merged) == {ids[1][1], ids[0][1]}
