"""`dgm4plus generate --ray` on a local Ray cluster (one cluster for the whole session)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from generator.config import load_config
from generator.pipeline import fill_store
from generator.ray_engine import run_ray, shard_knobs, split_cap
from tests.conftest import read_jsonl, run_cli

KNOBS = {
    "BACKEND": "composite",
    "TARGET_LITERAL": 3,
    "TARGET_INV_EMO": 2,
    "TARGET_IRRELEV": 2,
    "SEED": 777,
    "CONCURRENCY": 2,
}


@pytest.fixture(scope="session")
def ray_cluster():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def _images(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.jpg"))
    }


def test_split_caps_add_up():
    assert [split_cap(10, i, 3) for i in range(3)] == [4, 3, 3]
    assert split_cap(None, 0, 3) is None
    assert sum(split_cap(1.5, i, 4) for i in range(4)) == pytest.approx(1.5)
    cfg = load_config(
        cli={
            **KNOBS,
            "MAX_IMAGE_CALLS": 5,
            "MAX_COST": 3.0,
            "IMAGES_PER_MINUTE": 10,
            "OUT_ROOT": "/x/DGM4",
        },
        env={},
    )
    knobs = shard_knobs(cfg, 1, 2)
    assert knobs["SHARD"] == "1/2" and knobs["MAX_IMAGE_CALLS"] == 2 and knobs["RAY"] is False
    assert knobs["MAX_COST"] == 1.5 and knobs["IMAGES_PER_MINUTE"] == 5.0
    assert load_config(cli=knobs, env={}).targets == {
        "origin": 1,
        "text_attribute": 1,
        "text_swap": 1,
    }
    assert knobs["OUT_ROOT"] == "/x/DGM4.shards/shard-001-of-002"


def test_ray_run_equals_one_process(ray_cluster, tmp_path):
    one = tmp_path / "one" / "DGM4"
    fill_store(load_config(cli={**KNOBS, "OUT_ROOT": str(one)}, env={}), progress=False)
    out = tmp_path / "ray" / "DGM4"
    cfg = load_config(cli={**KNOBS, "OUT_ROOT": str(out), "RAY": True, "RAY_SHARDS": 2}, env={})
    assert run_ray(cfg) == 0
    shards = sorted((tmp_path / "ray" / "DGM4.shards").iterdir())
    assert [p.name for p in shards] == ["shard-000-of-002", "shard-001-of-002"]
    key = lambda r: r["plan_key"]  # noqa: E731
    assert sorted(read_jsonl(out / "metadata.jsonl"), key=key) == sorted(
        read_jsonl(one / "metadata.jsonl"), key=key
    )
    assert _images(out) == _images(one)
    runs = read_jsonl(out / "runs.jsonl")
    assert sorted(r["shard"] for r in runs) == ["0/2", "1/2"]
    # The same command again (here through the real CLI, on the same cluster): nothing to build.
    proc = run_cli(
        "generate",
        "--ray",
        "--ray-shards",
        "2",
        "--backend",
        "composite",
        "--seed",
        "777",
        "--origin",
        "3",
        "--text-attribute",
        "2",
        "--text-swap",
        "2",
        "--out",
        str(out),
        env={"RAY_ADDRESS": ray_cluster},
    )
    assert proc.returncode == 0, proc.stderr
    assert "calls 0" in proc.stderr
    assert sorted(read_jsonl(out / "metadata.jsonl"), key=key) == sorted(
        read_jsonl(one / "metadata.jsonl"), key=key
    )
