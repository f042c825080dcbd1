"""Human rejections are honoured by every release path: `dgm4plus reject`, then the builder,
export (Parquet), export-dgm4 and the card's counts; the datasets cache is not served stale."""

from __future__ import annotations

import json

import datasets
import pyarrow.parquet as pq
import pytest
from conftest import read_jsonl, run_cli
from fixtures_store import make_store

from dgm4plus import DGM4Plus
from generator.lock import StoreLock
from generator.release import export_dataset
from generator.release.dgm4_export import export_dgm4
from generator.reviews import rejected_ids


@pytest.fixture()
def store(tmp_path):
    return make_store(tmp_path / "s", per_bucket=3)


def _parquet_ids(out):
    return sorted(
        i
        for f in (out / "data" / "all").rglob("*.parquet")
        for i in pq.read_table(f)["id"].to_pylist()
    )


def test_reject_command_then_every_release_leaves_them_out(store, tmp_path):
    ids = [r["id"] for r in store.records]
    gone = [ids[1], ids[5]]
    proc = run_cli(
        "reject", *map(str, gone), "--reason", "readable signage", "--data-dir", str(store.root)
    )
    assert proc.returncode == 0, proc.stderr
    assert "rejected 2 sample(s)" in proc.stderr
    assert [
        (r["id"], r["decision"], r["reason"]) for r in read_jsonl(store.root / "reviews.jsonl")
    ] == [(gone[0], "reject", "readable signage"), (gone[1], "reject", "readable signage")]
    keep = sorted(set(ids) - set(gone))

    out = export_dataset(store.root, tmp_path / "release")
    assert _parquet_ids(out) == keep
    card = (out / "README.md").read_text()
    assert (
        "2 of 9 samples (22.2%) were looked at by a person in the review tool (`dgm4plus review`): "
        "0 accepted, 2 rejected and left out of this release (reasons: readable signage (2)); "
        "7 released without review."
    ) in card

    hammer = export_dgm4(store.root, tmp_path / "hammer")
    listed = sorted(
        r["id"] for f in hammer.rglob("metadata/*.json") for r in json.loads(f.read_text())
    )
    assert listed == keep

    b = DGM4Plus(config_name="all", data_dir=str(store.root), cache_dir=str(tmp_path / "cache"))
    b.download_and_prepare()
    got = sorted(i for s in b.info.splits for i in b.as_dataset(split=s)["id"])
    assert got == keep


def test_builder_cache_follows_a_new_rejection(store, tmp_path):
    cache = str(tmp_path / "cache")

    def ids():
        b = DGM4Plus(config_name="origin", data_dir=str(store.root), cache_dir=cache)
        b.download_and_prepare()
        return sorted(i for s in b.info.splits for i in b.as_dataset(split=s)["id"])

    before = ids()
    victim = store.by_bucket("origin")[0]["id"]
    assert (
        run_cli(
            "reject", str(victim), "--reason", "blurry face", "--data-dir", str(store.root)
        ).returncode
        == 0
    )
    assert ids() == [i for i in before if i != victim]
    assert run_cli("reject", "--undo", str(victim), "--data-dir", str(store.root)).returncode == 0
    assert ids() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["1000000000", "424242", "--reason", "x"], "no sample with id 424242; nothing written"),
        (["1000000000"], "--reason: say why"),
        (["1000000000", "--reason", "   "], "--reason: say why"),
        (["1000000000", "--undo", "--reason", "x"], "--undo takes no --reason"),
        (["abc", "--reason", "x"], "invalid int value"),
    ],
)
def test_reject_refuses_bad_input_with_one_line_and_writes_nothing(store, args, message):
    proc = run_cli("reject", *args, "--data-dir", str(store.root))
    assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1, (
        proc.stderr
    )
    assert not (store.root / "reviews.jsonl").exists()


def test_reject_waits_for_no_one_while_another_writer_holds_the_store(store):
    with StoreLock(store.root, purpose="generate"):
        proc = run_cli("reject", "1000000000", "--reason", "x", "--data-dir", str(store.root))
    assert proc.returncode == 2 and "being written by another dgm4plus" in proc.stderr
    assert rejected_ids(store.root) == frozenset()


def test_all_rejected_is_one_clear_line_on_export(tmp_path):
    fx = make_store(tmp_path / "s", per_bucket=1)
    ids = [str(r["id"]) for r in fx.records]
    assert (
        run_cli("reject", *ids, "--reason", "bad run", "--data-dir", str(fx.root)).returncode == 0
    )
    proc = run_cli("export", "--data-dir", str(fx.root), "--out", str(tmp_path / "rel"))
    assert proc.returncode == 2 and "every sample was rejected in review" in proc.stderr
    assert not (tmp_path / "rel").exists()
    datasets.disable_progress_bars()


PUSH_CLIENT = r"""
import json, sys
import datasets
from generator.release.hub import push_release

store, repo = sys.argv[1], "dgm4plus-org/review-test"
push_release(store, repo)
dd = datasets.load_dataset(repo, "all")
print(json.dumps(sorted(i for ds in dd.values() for i in ds["id"])))
"""


def test_push_leaves_rejected_samples_out(store, tmp_path):
    import os
    import subprocess
    import sys

    from fakes.hub_server import FakeHub

    ids = [r["id"] for r in store.records]
    assert (
        run_cli(
            "reject",
            str(ids[0]),
            str(ids[7]),
            "--reason",
            "face artefact",
            "--data-dir",
            str(store.root),
        ).returncode
        == 0
    )
    token = "hf_FAKEreviewtoken0123456789abc"
    with FakeHub(token) as hub:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
        env.update(
            HF_ENDPOINT=hub.url,
            HF_TOKEN=token,
            HF_HUB_DISABLE_XET="1",
            HF_HOME=str(tmp_path / "hf-home"),
            HF_DATASETS_CACHE=str(tmp_path / "hf-ds"),
            HF_HUB_DISABLE_TELEMETRY="1",
        )
        proc = subprocess.run(
            [sys.executable, "-c", PUSH_CLIENT, str(store.root)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == sorted(set(ids) - {ids[0], ids[7]})
