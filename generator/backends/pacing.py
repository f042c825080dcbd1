"""Pacing of image requests: one token bucket shared by every worker, adapting to the API.

OpenAI limits images per minute per account tier and replenishes the allowance continuously.
Workers that simply retry after a 429 hammer the API in waves (all of them wake at the same
Retry-After) and idle in between. :class:`Pacer` instead spaces requests at ``per_minute``:

* ``acquire()`` waits for a token. Tokens come at a steady rate with a bucket of one, so
  requests leave evenly spaced whatever the number of workers.
* ``on_rate_limited(retry_after)`` (a 429): every worker waits until the Retry-After instant,
  and the rate drops by ``decrease`` (the configured rate was above the account's limit).
  After ``recover_after`` calls without a 429 it climbs back by ``increase`` toward the
  configured rate.
* ``on_headers(headers)``: ``x-ratelimit-remaining-*`` at 0 delays the next slot until one
  image is back (1/limit, at most the matching ``x-ratelimit-reset-*``); ``x-ratelimit-limit-*``
  caps the rate (and sets it when no rate was configured), so pacing works even without
  ``--images-per-minute``. The first request of a run goes alone and the others wait for its
  answer (its headers), instead of opening with a burst of 429s; a rate the headers lower
  re-spaces the slots already promised.

The clock and sleep are injectable so tests can drive it without waiting.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

__all__ = ["Pacer", "parse_reset"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_reset(value: str | None) -> float | None:
    """Seconds in an ``x-ratelimit-reset-*`` value such as ``"1s"``, ``"6m0s"``, ``"250ms"``."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNITS[u] for n, u in parts)


class Pacer:
    def __init__(
        self,
        per_minute: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        decrease: float = 0.9,
        increase: float = 0.05,
        recover_after: int = 10,
    ) -> None:
        if per_minute is not None and not per_minute > 0:
            raise ValueError(f"per_minute must be > 0, got {per_minute!r}")
        self.configured = per_minute
        self.rate = per_minute / 60.0 if per_minute else None  # requests per second, or None
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0  # earliest instant the next token is available
        self._paused_until = 0.0
        self._decrease = decrease
        self._increase = increase
        self._recover_after = recover_after
        self._since_429 = 0
        self._epoch = 0  # bumped by every pause
        # The first request goes alone: its answer's x-ratelimit-* headers say the account's
        # limit before the others are let through (no opening burst of 429s).
        self._answered = False
        self._probe_out = False
        self._probe_event: asyncio.Event | None = None
        self.header_limit: float | None = None  # per second, from x-ratelimit-limit-*
        # statistics
        self.waited_s = 0.0
        self.rate_limited = 0

    @property
    def per_minute(self) -> float | None:
        return None if self.rate is None else self.rate * 60.0

    def _ceiling(self) -> float | None:
        caps = [c / 60.0 for c in (self.configured,) if c] + (
            [self.header_limit] if self.header_limit else []
        )
        return min(caps) if caps else None

    async def acquire(self) -> None:
        """Wait for this worker's turn. Slots are handed out in call order (the slot is taken
        before the first await, so no lock is needed); a worker that was waiting when a 429
        paused everyone lines up again behind the pause."""
        while self._probing():  # nothing known yet: one request first, the others wait for it
            await self._probe_done().wait()
        while True:
            now = self._clock()
            start = max(now, self._paused_until)
            if self.rate is not None:
                start = max(start, self._next)
                self._next = start + 1.0 / self.rate
            delay = start - now
            if delay <= 0:
                return
            epoch = self._epoch
            self.waited_s += delay
            await self._sleep(delay)
            if epoch == self._epoch:
                return

    def _probing(self) -> bool:
        if self._answered:
            return False
        if not self._probe_out:
            self._probe_out = True  # this caller is the probe
            return False
        return True

    def _probe_done(self) -> asyncio.Event:
        if self._probe_event is None:
            self._probe_event = asyncio.Event()
        return self._probe_event

    def on_answer(self) -> None:
        """Any answer (or failure) of a request: the probe is over."""
        if not self._answered:
            self._answered = True
            if self._probe_event is not None:
                self._probe_event.set()

    def on_success(self) -> None:
        self._since_429 += 1
        ceiling = self._ceiling()
        if self.rate is not None and ceiling is not None and self._since_429 >= self._recover_after:
            self.rate = min(ceiling, self.rate * (1.0 + self._increase))
            self._since_429 = 0

    def on_rate_limited(self, retry_after: float | None) -> None:
        """A 429: pause everyone until Retry-After and slow down."""
        self.rate_limited += 1
        self._since_429 = 0
        now = self._clock()
        wait = retry_after if retry_after is not None else (1.0 / self.rate if self.rate else 1.0)
        self._paused_until = max(self._paused_until, now + max(0.0, wait))
        self._epoch += 1
        if self.rate is not None:
            self.rate *= self._decrease
        # Slots already promised are void: every waiting worker lines up again from the end
        # of the pause (the epoch tells them).
        self._next = self._paused_until

    def on_headers(self, headers: Mapping[str, str]) -> None:
        """Read ``x-ratelimit-*`` headers of any answer (a success or a 429)."""
        lower = {k.lower(): v for k, v in headers.items()}
        for kind in ("images", "requests"):
            limit = lower.get(f"x-ratelimit-limit-{kind}")
            remaining = lower.get(f"x-ratelimit-remaining-{kind}")
            reset = parse_reset(lower.get(f"x-ratelimit-reset-{kind}"))
            if limit is None and remaining is None:
                continue
            try:
                per_min = float(limit) if limit is not None else None
            except ValueError:
                per_min = None
            if per_min and per_min > 0:
                self.header_limit = per_min / 60.0
                if self.rate is None or self.rate > self.header_limit:
                    self.rate = self.header_limit
                    # slots promised at the old rate are re-spaced at the account's limit
                    self._next = self._clock() + 1.0 / self.rate
                    self._epoch += 1
            try:
                left = int(remaining) if remaining is not None else None
            except ValueError:
                left = None
            if left is not None and left <= 0 and reset is not None:
                # reset is when the allowance is whole again; one image is back after 1/limit
                wait = min(reset, 1.0 / self.header_limit) if self.header_limit else reset
                until = self._clock() + wait
                # (workers already holding a slot keep it: the slots are spaced at the rate)
                self._next = max(self._next, until)
            return
