"""CallBudget and the shared backend types."""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
import threading

import pytest

from generator.backends import BACKENDS, make_backend
from generator.backends.base import (
    Backend,
    BackendError,
    CallBudget,
    CallFailed,
    ImageRequest,
    Refused,
)


def test_budget_counts_and_stops_exactly():
    budget = CallBudget(3)
    assert (budget.used, budget.remaining, budget.exhausted) == (0, 3, False)
    assert [budget.try_acquire() for _ in range(5)] == [True, True, True, False, False]
    assert (budget.used, budget.remaining, budget.exhausted) == (3, 0, True)


def test_unlimited_budget():
    budget = CallBudget(None)
    assert all(budget.try_acquire() for _ in range(1000))
    assert budget.used == 1000 and budget.remaining is None and not budget.exhausted


def test_zero_and_invalid_budgets():
    assert CallBudget(0).try_acquire() is False
    for bad in (-1, True):
        with pytest.raises(ValueError):
            CallBudget(bad)


def test_budget_is_exact_across_threads():
    budget = CallBudget(5000)
    wins = [0] * 8

    def worker(i: int) -> None:
        for _ in range(1000):
            if budget.try_acquire():
                wins[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(wins) == 5000 == budget.used


def test_budget_is_exact_across_tasks():
    budget = CallBudget(7)

    async def task() -> int:
        got = 0
        for _ in range(5):
            await asyncio.sleep(0)
            got += budget.try_acquire()
        return got

    async def go():
        return await asyncio.gather(*(task() for _ in range(10)))

    assert sum(asyncio.run(go())) == 7


def test_request_is_frozen():
    req = ImageRequest("p", "origin/1", 1, 0, 1, "the moon", "absurd")
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.attempt = 2  # type: ignore[misc]


def test_errors_carry_status_and_code_and_pickle():
    err = Refused("origin/1: refused", status=400, code="moderation_blocked")
    assert isinstance(err, BackendError) and not isinstance(err, CallFailed)
    assert (err.status, err.code) == (400, "moderation_blocked")
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == "origin/1: refused"


def test_both_backends_satisfy_the_protocol(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-protocol")
    for name in (
        "openai",
        "composite",
    ):  # (diffusers needs a model: tests/test_backend_diffusers.py)
        assert name in BACKENDS
        backend = make_backend(name, budget=CallBudget(1))
        assert isinstance(backend, Backend) and backend.name == name and backend.model
        asyncio.run(backend.aclose())
