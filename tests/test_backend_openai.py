"""OpenAIBackend against a real HTTP server on 127.0.0.1, driven by the real openai client."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from PIL import Image

from generator.backends.base import (
    BackendError,
    BudgetExhausted,
    CallBudget,
    CallFailed,
    Generated,
    ImageRequest,
    MissingCredentials,
    Refused,
)
from generator.backends.openai_backend import OpenAIBackend, _retry_after_seconds
from tests.fakes.openai_server import FakeOpenAIServer

KEY = "sk-test-SECRET123"


def _req(k: int = 0, attempt: int = 0) -> ImageRequest:
    return ImageRequest(
        prompt=f"A news photo of a nurse at a press conference on the moon, take {k}",
        plan_key=f"origin/{k}",
        seed=123,
        attempt=attempt,
        num_people=1,
        backdrop="the surface of the moon",
        backdrop_kind="absurd",
    )


class Sleeps:
    """A fake ``sleep`` that records the delays asked for and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


@pytest.fixture
def server():
    with FakeOpenAIServer() as srv:
        yield srv


def _backend(srv: FakeOpenAIServer, sleeps: Sleeps, budget: CallBudget | None = None, **kw):
    return OpenAIBackend(
        api_key=KEY,
        base_url=srv.base_url,
        budget=budget if budget is not None else CallBudget(None),
        sleep=sleeps,
        **kw,
    )


def _run(srv: FakeOpenAIServer, sleeps: Sleeps, req: ImageRequest | None = None, **kw):
    """Generate one image; returns (bytes or the exception raised, the backend)."""

    async def go():
        backend = _backend(srv, sleeps, **kw)
        try:
            return await backend.generate(req or _req()), backend
        except BackendError as exc:
            return exc, backend
        finally:
            await backend.aclose()

    return asyncio.run(go())


def _decodes(result: Generated | bytes) -> Image.Image:
    data = result.data if isinstance(result, Generated) else result
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def test_success_returns_png_and_sends_the_request(server):
    sleeps = Sleeps()
    data, backend = _run(server, sleeps, output_format="png")
    assert isinstance(data, Generated) and data.model == "gpt-image-2"
    assert _decodes(data).format == "PNG"
    assert server.generation_count == 1
    sent = server.requests[0]
    assert sent["model"] == "gpt-image-2" and sent["output_format"] == "png"
    assert sent["size"] == "1024x1024"
    assert sent["quality"] == "low"
    assert sent["n"] == 1
    assert "nurse" in sent["prompt"]
    assert (backend.calls, backend.retries, sleeps.delays) == (1, 0, [])


def test_composite_images_from_the_server_decode():
    sleeps = Sleeps()
    with FakeOpenAIServer(images="composite") as srv:
        data, _ = _run(srv, sleeps)
    im = _decodes(data)
    assert im.size == (1024, 1024)


def test_429_honours_retry_after_then_succeeds(server):
    server.inject(("429", 7))
    sleeps = Sleeps()
    data, backend = _run(server, sleeps)
    assert _decodes(data)
    assert sleeps.delays == pytest.approx([7.0], abs=0.05)
    assert server.generation_count == 2
    assert (backend.calls, backend.retries) == (2, 1)


def test_retry_after_is_capped_by_backoff_max(server):
    server.inject(("429", 3600))
    sleeps = Sleeps()
    data, _ = _run(server, sleeps, backoff_max=12.0)
    assert isinstance(data, Generated)
    assert sleeps.delays == pytest.approx([12.0], abs=0.05)


def test_500_then_success_backs_off_with_jitter(server):
    server.inject(("500",))
    sleeps = Sleeps()
    data, backend = _run(server, sleeps, backoff_base=2.0)
    assert _decodes(data)
    assert len(sleeps.delays) == 1 and 1.0 <= sleeps.delays[0] <= 2.0
    assert server.answers == ["500", "ok"]
    assert (backend.calls, backend.retries) == (2, 1)


def test_timeout_then_success(server):
    server.inject(("timeout", 2.0))
    sleeps = Sleeps()
    data, backend = _run(server, sleeps, timeout=0.5)
    assert _decodes(data)
    assert backend.calls == 2 and backend.retries == 1
    assert server.generation_count == 2


def test_moderation_is_refused_without_retry(server):
    server.inject(("moderation",))
    sleeps = Sleeps()
    exc, backend = _run(server, sleeps)
    assert isinstance(exc, Refused)
    assert exc.code == "moderation_blocked" and exc.status == 400
    assert "origin/0" in str(exc)
    assert server.generation_count == 1
    assert sleeps.delays == [] and backend.refusals == 1


@pytest.mark.parametrize("fault", ["bad_b64", "not_image"])
def test_undecodable_payload_is_a_failed_call_without_retry(server, fault):
    server.inject((fault,))
    sleeps = Sleeps()
    exc, backend = _run(server, sleeps)
    assert isinstance(exc, CallFailed)
    assert server.generation_count == 1 and sleeps.delays == []
    assert backend.calls == 1 and backend.failures == 1


@pytest.mark.parametrize(("fault", "status"), [("400", 400), ("401", 401)])
def test_other_client_errors_fail_without_retry(server, fault, status):
    server.inject((fault,))
    sleeps = Sleeps()
    exc, _ = _run(server, sleeps)
    assert isinstance(exc, CallFailed) and not isinstance(exc, Refused)
    assert exc.status == status
    assert server.generation_count == 1 and sleeps.delays == []


def test_persistent_500_fails_after_max_retries_plus_one_attempts(server):
    server.inject(*[("500",)] * 10)
    sleeps = Sleeps()
    exc, backend = _run(server, sleeps, max_retries=3, backoff_base=1.0, backoff_max=30.0)
    assert isinstance(exc, CallFailed)
    assert "4 attempts" in str(exc) and exc.status == 500
    assert server.generation_count == 4
    assert (backend.calls, backend.retries) == (4, 3)
    # exponential backoff with jitter: attempt i waits within [base * 2^i / 2, base * 2^i]
    for i, delay in enumerate(sleeps.delays):
        assert 2**i / 2 <= delay <= 2**i
    assert len(sleeps.delays) == 3


def test_budget_is_exact_under_concurrency_and_faults():
    """MAX_IMAGE_CALLS=7, 20 concurrent generations, some 500s: exactly 7 requests are sent."""
    sleeps = Sleeps()
    budget = CallBudget(7)

    async def go(srv):
        backend = _backend(srv, sleeps, budget=budget)
        try:
            return await asyncio.gather(
                *(backend.generate(_req(k)) for k in range(20)), return_exceptions=True
            )
        finally:
            await backend.aclose()

    with FakeOpenAIServer(latency=0.05, faults=[("500",)] * 3) as srv:
        results = asyncio.run(go(srv))
        assert srv.generation_count == 7
        assert srv.max_in_flight >= 2  # the calls really ran concurrently
    assert budget.used == 7 and budget.remaining == 0
    ok = [r for r in results if isinstance(r, Generated)]
    exhausted = [r for r in results if isinstance(r, BudgetExhausted)]
    assert len(ok) == 4  # 7 units, 3 of them spent on 500s
    assert len(ok) + len(exhausted) == 20
    assert all("MAX_IMAGE_CALLS" in str(e) for e in exhausted)


def test_budget_runs_out_during_retries(server):
    server.inject(("500",), ("500",))
    sleeps = Sleeps()
    exc, backend = _run(server, sleeps, budget=CallBudget(2))
    assert isinstance(exc, BudgetExhausted)
    assert server.generation_count == 2 and backend.calls == 2


def test_zero_budget_sends_nothing(server):
    exc, backend = _run(server, Sleeps(), budget=CallBudget(0))
    assert isinstance(exc, BudgetExhausted)
    assert server.request_count == 0 and backend.calls == 0


def test_missing_key_is_detected_before_any_call(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(MissingCredentials) as info:
        OpenAIBackend.check_credentials()
    msg = str(info.value)
    assert "OPENAI_API_KEY" in msg and "--backend composite" in msg
    with pytest.raises(MissingCredentials, match="OPENAI_API_KEY"):
        OpenAIBackend(budget=CallBudget(1), base_url="http://127.0.0.1:9/v1")
    with pytest.raises(MissingCredentials):
        OpenAIBackend(api_key="   ", budget=CallBudget(1))


def test_key_from_environment_is_used(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert OpenAIBackend.check_credentials() is None  # passes, and returns nothing to log
    sleeps = Sleeps()
    with FakeOpenAIServer(api_key=KEY) as srv:

        async def go():
            backend = OpenAIBackend(base_url=srv.base_url, budget=CallBudget(None), sleep=sleeps)
            try:
                return await backend.generate(_req())
            finally:
                await backend.aclose()

        assert _decodes(asyncio.run(go()))
        assert srv.answers == ["ok"]


def test_secret_never_appears_in_messages_reprs_or_logs(caplog):
    """Even when the server echoes the key back, no message, repr or log line holds it."""
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    sleeps = Sleeps()
    with FakeOpenAIServer(api_key="sk-test-the-right-one") as srv:  # our key is refused: 401
        exc, backend = _run(srv, sleeps)
        texts += [str(exc), repr(exc), repr(backend), str(backend)]
        assert isinstance(exc, CallFailed) and exc.status == 401
    with FakeOpenAIServer() as srv:
        srv.inject(("500",), ("500",), ("moderation",), ("bad_b64",), ("400",))
        for _ in range(4):
            exc, backend = _run(srv, sleeps, max_retries=1)
            texts += [str(exc), repr(exc), repr(backend), str(exc.__cause__)]
    texts.append(caplog.text)
    for text in texts:
        assert "SECRET123" not in text


def test_redaction_of_echoed_keys(server):
    backend_holder = {}

    async def go():
        backend = _backend(server, Sleeps())
        backend_holder["b"] = backend
        await backend.aclose()

    asyncio.run(go())
    backend = backend_holder["b"]
    echoed = f"Incorrect API key provided: {KEY}. Also sk-proj-abcdefghijkl."
    cleaned = backend._redact(echoed)
    assert KEY not in cleaned and "abcdefghijkl" not in cleaned


def test_retry_after_header_forms():
    assert _retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    assert _retry_after_seconds({"retry-after": "3"}) == 3.0
    assert _retry_after_seconds({}) is None
    assert _retry_after_seconds({"retry-after": "soon"}) is None
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    assert 15 <= _retry_after_seconds({"retry-after": when}) <= 21


def test_generations_overlap_in_flight():
    """The backend does not serialise calls: the server sees several in flight at once."""
    sleeps = Sleeps()

    async def go(srv):
        backend = _backend(srv, sleeps)
        try:
            return await asyncio.gather(*(backend.generate(_req(k)) for k in range(5)))
        finally:
            await backend.aclose()

    with FakeOpenAIServer(latency=0.3) as srv:
        out = asyncio.run(go(srv))
        assert len(out) == 5 and srv.max_in_flight >= 3
