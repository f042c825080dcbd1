"""Shared types of the image backends: the request, the error taxonomy and the call budget.

Every backend takes one unit of a :class:`CallBudget` before each image call it makes (retries
included), so ``MAX_IMAGE_CALLS`` bounds real spend whatever the concurrency.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "Backend",
    "BackendError",
    "BudgetExhausted",
    "CallBudget",
    "CallFailed",
    "ImageRequest",
    "MissingCredentials",
    "Refused",
]


@dataclass(frozen=True)
class ImageRequest:
    """One image to generate for one plan item."""

    prompt: str
    plan_key: str  # e.g. "text_swap/17"
    seed: int  # run seed
    attempt: int  # 0 for the first generation of this plan item, 1.. for regenerations
    num_people: int  # 1..3
    backdrop: str  # backdrop phrase from the plan
    backdrop_kind: str  # "absurd" | "realistic"


class BackendError(Exception):
    """Base of every backend error. Messages never contain secrets.

    ``status`` (HTTP status) and ``code`` (provider error code) are set when known, so the
    pipeline can count failures by cause without parsing messages.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class Refused(BackendError):
    """The provider refused the content (``moderation_blocked``): do not retry this item."""


class CallFailed(BackendError):
    """This generation failed after retries (bad bytes, persistent 5xx, other 4xx...)."""


class BudgetExhausted(BackendError):
    """``MAX_IMAGE_CALLS`` is reached: stop the run."""


class MissingCredentials(BackendError):
    """No API key was given; raised before any call is made."""


class CallBudget:
    """A spend guard: at most ``max_calls`` image calls, counted before each one is sent.

    ``try_acquire`` is synchronous and atomic (a lock guards the counter), so it cannot be
    over-spent by asyncio tasks (which never switch inside it) nor by threads.
    ``max_calls=None`` means unlimited.
    """

    def __init__(self, max_calls: int | None) -> None:
        if max_calls is not None and (isinstance(max_calls, bool) or max_calls < 0):
            raise ValueError(f"max_calls must be None or an integer >= 0, got {max_calls!r}")
        self.max_calls = max_calls
        self._used = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        """Take one unit; False (and nothing taken) when the budget is spent."""
        with self._lock:
            if self.max_calls is not None and self._used >= self.max_calls:
                return False
            self._used += 1
            return True

    @property
    def used(self) -> int:
        return self._used

    @property
    def remaining(self) -> int | None:
        if self.max_calls is None:
            return None
        return max(0, self.max_calls - self._used)

    @property
    def exhausted(self) -> bool:
        return self.max_calls is not None and self._used >= self.max_calls

    def __repr__(self) -> str:
        return f"CallBudget(max_calls={self.max_calls}, used={self._used})"


@runtime_checkable
class Backend(Protocol):
    """What the pipeline needs from an image backend."""

    name: str

    async def generate(self, req: ImageRequest) -> bytes:
        """Return encoded image bytes (PNG) that PIL can decode."""
        ...

    async def aclose(self) -> None: ...
