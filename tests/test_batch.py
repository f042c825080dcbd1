"""``generate --batch`` with the real openai client (files, batches) against the fake server,
killed (SIGKILL) at chosen instants and resumed."""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path

from conftest import read_jsonl, run_cli
from fakes.openai_server import FakeOpenAIServer

from generator.batch import BATCHES_JSONL
from generator.store import METADATA_JSONL, REJECTED_JSONL, RUNS_JSONL
from generator.validate import validate_store

KEY = "sk-test-batch-SECRET-31337"
TARGETS = ("--origin", "3", "--text-attribute", "2", "--text-swap", "2")


def _batch(out: Path, srv: FakeOpenAIServer, *extra: str, crash: str | None = None):
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": srv.base_url}
    if crash:
        env["_DGM4PLUS_BATCH_CRASH_AT"] = crash
    return run_cli(
        "generate", "--batch", "--out", str(out), *TARGETS, "--no-progress", *extra, env=env
    )


def test_batch_killed_twice_completes_with_exact_targets(tmp_path):
    out = tmp_path / "DGM4"
    with FakeOpenAIServer(images="composite", api_key=KEY, batch_polls=1) as srv:
        # the first batch: one refusal, one undecodable image (regenerated in a follow-up)
        srv.inject(("moderation",), ("not_image",))
        first = _batch(out, srv, crash="after_create")  # killed right after batches.create
        assert first.returncode == -signal.SIGKILL
        assert len(srv.batches) == 1  # the batch exists, its id never reached the ledger
        codes, errs = [], []
        for i in range(12):
            proc = _batch(out, srv, crash="collect:2" if i == 1 else None)
            codes.append(proc.returncode)
            errs.append(proc.stderr)
            assert KEY not in proc.stdout + proc.stderr
            if proc.returncode == 0:
                break
            assert proc.returncode in (3, -signal.SIGKILL), proc.stderr
        # the batch created before the kill was found again (by its token) and polled
        assert codes[0] == 3 and "is in_progress" in errs[0], errs[0]
        assert codes[1] == -signal.SIGKILL and codes[-1] == 0, codes
        submitted = list(srv.batch_lines)
        delivered = len(srv.deliveries)
    # no request was ever submitted twice, though the first batch was created before a kill
    assert len(submitted) == len(set(submitted)), submitted
    assert len(srv.batches) >= 2  # a follow-up batch held the regenerations and replacements
    records = read_jsonl(out / METADATA_JSONL)
    assert Counter(r["fake_cls"] for r in records) == {
        "origin": 3,
        "text_attribute": 2,
        "text_swap": 2,
    }
    assert validate_store(out) == []
    # every image the server returned is a sample or a rejected attempt on record: none lost
    attempts = [r for r in read_jsonl(out / REJECTED_JSONL) if "attempt" in r]
    assert len(records) + len(attempts) == delivered
    refused = [r for r in read_jsonl(out / REJECTED_JSONL) if r.get("reason") == "refused"]
    assert len(refused) == 1
    assert any(cid.endswith("#1") for cid in submitted)  # the bad image's regeneration
    runs = read_jsonl(out / RUNS_JSONL)
    assert all(r["batch"] is True for r in runs)
    assert sum(r["calls"] for r in runs) == len(submitted)  # each request billed once
    assert sum(r["cost_usd"] for r in runs) > 0
    ledger = [json.loads(x) for x in (out / BATCHES_JSONL).read_text().splitlines()]
    assert [e["event"] for e in ledger].count("submitted") == len(srv.batches)


def test_a_batch_never_holds_more_than_the_caps(tmp_path):
    out = tmp_path / "DGM4"
    with FakeOpenAIServer(images="composite", api_key=KEY, batch_polls=0) as srv:
        proc = _batch(out, srv, "--max-image-calls", "4")
        assert proc.returncode == 3, proc.stderr
        assert len(srv.batch_lines) == 4 and "MAX_IMAGE_CALLS" in proc.stderr
        proc = _batch(out, srv, "--max-image-calls", "4")  # collects, then at most 4 more
        assert len(srv.batch_lines) <= 8
        sent = [
            json.loads(x)
            for f in srv.files.values()
            if f["purpose"] == "batch"
            for x in f["data"].decode().splitlines()
        ]
    assert {s["url"] for s in sent} == {"/v1/images/generations"}
    assert {s["body"]["model"] for s in sent} == {"gpt-image-2"}
    assert proc.returncode == 3 and "at the batch price" in proc.stderr


def test_batch_refuses_a_shut_down_model_before_any_request(tmp_path):
    out = tmp_path / "DGM4"
    with FakeOpenAIServer(api_key=KEY) as srv:
        proc = _batch(out, srv, "--gen-model", "gpt-image-1")
        assert srv.request_count == 0
    assert proc.returncode == 2 and "shut down" in proc.stderr and "Traceback" not in proc.stderr


def test_a_kill_before_batches_create_submits_the_same_requests_once(tmp_path):
    out = tmp_path / "DGM4"
    with FakeOpenAIServer(images="composite", api_key=KEY, batch_polls=0) as srv:
        first = _batch(out, srv, crash="after_intent")  # uploaded, intent on record, no batch
        assert first.returncode == -signal.SIGKILL and srv.batches == {}
        again = _batch(out, srv)
        assert again.returncode == 3, again.stderr
        assert len(srv.batches) == 1 and len(srv.batch_lines) == 7 == len(set(srv.batch_lines))
        done = _batch(out, srv)
        assert done.returncode == 0, done.stderr
    events = [json.loads(x)["event"] for x in (out / BATCHES_JSONL).read_text().splitlines()]
    assert events[:3] == ["intent", "void", "intent"]
    assert validate_store(out) == []


def test_an_expired_batch_s_unanswered_requests_get_their_next_attempt(tmp_path):
    out = tmp_path / "DGM4"
    with FakeOpenAIServer(
        images="composite", api_key=KEY, batch_polls=0, batch_expire_after=3
    ) as srv:
        codes = [_batch(out, srv).returncode for _ in range(4)]
        submitted = list(srv.batch_lines)
        statuses = [b["status"] for b in srv.batches.values()]
    assert statuses[0] == "expired" and codes[-1] == 0, (codes, statuses)
    assert len(submitted) == len(set(submitted))
    retried = {c.split("#")[0] for c in submitted if c.endswith("#1")}
    assert len(retried) == 4  # the 4 of 7 requests the expired batch never answered
    records = read_jsonl(out / METADATA_JSONL)
    assert Counter(r["fake_cls"] for r in records) == {
        "origin": 3,
        "text_attribute": 2,
        "text_swap": 2,
    }
    assert validate_store(out) == []
