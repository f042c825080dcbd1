"""The shared Pacer on a fake clock, and with the real backend against a rate-limited server."""

from __future__ import annotations

import asyncio

import pytest
from fakes.openai_server import FakeOpenAIServer

from generator.backends.base import CallBudget, ImageRequest
from generator.backends.openai_backend import OpenAIBackend
from generator.backends.pacing import Pacer, parse_reset


class Clock:
    """A fake monotonic clock whose sleep advances it (and yields to the loop)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.now += max(0.0, delay)
        await asyncio.sleep(0)


def test_parse_reset_forms():
    assert parse_reset("1s") == 1.0 and parse_reset("6m0s") == 360.0
    assert parse_reset("250ms") == 0.25 and parse_reset("1.5") == 1.5
    assert parse_reset("soon") is None and parse_reset(None) is None


def test_slots_are_spaced_at_the_rate_across_workers():
    """20 acquires from 4 concurrent workers, at a frozen instant: each is given its own slot,
    one second (60/min) after the one before."""
    delays: list[float] = []

    async def sleep(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(0)

    pacer = Pacer(60, clock=lambda: 100.0, sleep=sleep)
    pacer.on_answer()  # (the first request of a run goes alone until it is answered)

    async def worker() -> None:
        for _ in range(5):
            await pacer.acquire()

    async def go() -> None:
        await asyncio.gather(*(worker() for _ in range(4)))

    asyncio.run(go())
    assert sorted(delays) == pytest.approx([float(i) for i in range(1, 20)])  # the first: none


def test_a_429_pauses_everyone_and_slows_the_rate():
    clock = Clock()
    pacer = Pacer(120, clock=clock, sleep=clock.sleep)
    pacer.on_rate_limited(5.0)
    assert pacer.per_minute == pytest.approx(108.0)  # 10% slower
    asyncio.run(pacer.acquire())
    assert clock.now == pytest.approx(105.0)  # nobody goes before Retry-After
    for _ in range(20):  # 20 answers without a 429: it climbs back, never above the rate set
        pacer.on_success()
    assert 108.0 < pacer.per_minute <= 120.0


def test_headers_set_and_cap_the_rate():
    clock = Clock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    pacer.on_headers(
        {
            "x-ratelimit-limit-images": "30",
            "x-ratelimit-remaining-images": "12",
            "x-ratelimit-reset-images": "4s",
        }
    )
    assert pacer.per_minute == pytest.approx(30.0)
    fast = Pacer(600, clock=clock, sleep=clock.sleep)
    fast.on_headers({"X-RateLimit-Limit-Images": "60"})
    assert fast.per_minute == pytest.approx(60.0)


def test_without_a_rate_the_first_request_goes_alone():
    clock = Clock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    order: list[str] = []

    async def first() -> None:
        await pacer.acquire()
        order.append("probe sent")
        await asyncio.sleep(0.01)
        pacer.on_headers({"x-ratelimit-limit-images": "60"})
        pacer.on_answer()
        order.append("probe answered")

    async def other(i: int) -> None:
        await asyncio.sleep(0)  # start after the probe
        await pacer.acquire()
        order.append(f"worker {i}")

    async def go() -> None:
        await asyncio.gather(first(), *(other(i) for i in range(3)))

    asyncio.run(go())
    assert order[:2] == ["probe sent", "probe answered"] and len(order) == 5


def _req(k: int) -> ImageRequest:
    return ImageRequest(
        prompt=f"p {k}",
        plan_key=f"origin/{k}",
        seed=1,
        attempt=0,
        num_people=1,
        backdrop="x",
        backdrop_kind="absurd",
    )


def test_paced_backend_is_not_answered_429_by_a_rate_limited_server():
    """12 images at 600/min (10/s, bucket of 2) with 12 requests at once: none answered 429."""

    async def go(srv: FakeOpenAIServer, pacer: Pacer | None) -> int:
        backend = OpenAIBackend(
            api_key="sk-test-pacing-1234",
            base_url=srv.base_url,
            budget=CallBudget(None),
            pacer=pacer,
            max_retries=30,
            backoff_max=0.5,
        )
        try:
            out = await asyncio.gather(*(backend.generate(_req(k)) for k in range(12)))
        finally:
            await backend.aclose()
        return len(out)

    with FakeOpenAIServer(images_per_minute=600, rate_burst=2) as srv:
        assert asyncio.run(go(srv, Pacer(600))) == 12
        assert srv.rate_limited == 0 and srv.generation_count == 12
        assert srv.answers.count("ok") == 12
    with FakeOpenAIServer(images_per_minute=600, rate_burst=2) as srv:
        assert asyncio.run(go(srv, None)) == 12  # learns from the headers, probe first
        assert srv.rate_limited <= 1
