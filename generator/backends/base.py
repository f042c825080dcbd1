"""Shared types of the image backends: the request, the result, the errors and the budget.

The protocol every backend follows (openai, composite, diffusers...):

* ``name`` (``"openai"``...) and ``model`` (the model name it records on samples: the backend
  owns it, the pipeline never guesses it from the config).
* ``async generate(req) -> Generated``: the image bytes plus what the call cost. A backend
  reserves one unit of the shared :class:`CallBudget` **before every request it sends**
  (retries included) with ``budget.reserve(worst_case_usd)``, and settles it with the real cost
  (``budget.settle(ticket, cost_usd)``) once the answer is in; a failed attempt that returned
  no usage settles at 0. So ``MAX_IMAGE_CALLS`` and ``MAX_COST`` hold whatever the concurrency.
  When ``reserve`` says no it raises :class:`BudgetExhausted` with ``code`` = the cap's knob.
* ``async aclose()``.

A local backend (composite, diffusers) returns ``Generated(..., cost_usd=0.0, cost_basis="free")``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = [
    "COST_BASES",
    "Backend",
    "BackendError",
    "BudgetExhausted",
    "CallBudget",
    "CallFailed",
    "Deferred",
    "Generated",
    "ImageRequest",
    "MissingCredentials",
    "Refused",
    "Ticket",
    "Usage",
]

#: How a call's cost was found: priced from the response's usage by the model table; an
#: estimate (no usage came back, or ``PRICE_PER_IMAGE`` for a model the table lacks); unknown
#: (an unknown model without a price); free (a local backend).
COST_BASES = ("usage", "estimate", "unknown", "free")


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


@dataclass(frozen=True)
class Usage:
    """Token usage of one image call (the response's ``usage``)."""

    input_text_tokens: int = 0
    input_image_tokens: int = 0
    output_image_tokens: int = 0
    output_text_tokens: int = 0

    @property
    def input_tokens(self) -> int:
        return self.input_text_tokens + self.input_image_tokens

    @property
    def output_tokens(self) -> int:
        return self.output_image_tokens + self.output_text_tokens


@dataclass(frozen=True)
class Generated:
    """One generated image and what it cost."""

    data: bytes  # encoded image bytes (PNG, JPEG or WebP) that PIL decodes
    model: str  # the model that made it, as the backend names it
    usage: Usage | None = None  # None when the backend has no token usage
    cost_usd: float = 0.0
    cost_basis: str = "free"  # one of COST_BASES

    @property
    def cost_is_estimate(self) -> bool:
        return self.cost_basis in ("estimate", "unknown")


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


class Deferred(BackendError):
    """This attempt is made later, not now (batch mode: it goes into the next batch). The item
    is left unfinished (built again on resume) and the run goes on."""


class MissingCredentials(BackendError):
    """No API key was given; raised before any call is made."""


@dataclass
class Ticket:
    """One reserved call: ``worst_usd`` is held against MAX_COST until it is settled."""

    worst_usd: float
    settled: bool = False


class CallBudget:
    """A spend guard: at most ``max_calls`` requests and ``max_cost`` dollars.

    Both caps are checked *before* each request is sent, atomically (a lock guards the
    counters, so neither asyncio tasks nor threads can over-spend): ``reserve(worst)`` takes one
    call and holds the worst case of its cost; ``settle`` replaces that hold by the real cost.
    A request is let through only if the dollars spent, plus every hold still open, plus its own
    worst case stay within ``max_cost``: the cap holds whatever the concurrency, as long as no
    call costs more than its worst case (a backend's worst case is an upper bound by design).
    ``None`` means no cap.
    """

    def __init__(self, max_calls: int | None, max_cost: float | None = None) -> None:
        if max_calls is not None and (isinstance(max_calls, bool) or max_calls < 0):
            raise ValueError(f"max_calls must be None or an integer >= 0, got {max_calls!r}")
        if max_cost is not None and not (max_cost >= 0):
            raise ValueError(f"max_cost must be None or a number >= 0, got {max_cost!r}")
        self.max_calls = max_calls
        self.max_cost = max_cost
        self._used = 0
        self._lock = threading.Lock()
        self.spent_usd = 0.0  # settled cost of every request
        self.held_usd = 0.0  # worst cases of requests still in flight
        self.refused_by: str | None = None  # the knob of the cap that last said no
        self.basis: dict[str, int] = {b: 0 for b in COST_BASES}  # settled calls by cost basis
        self.estimate_usd = 0.0  # the part of spent_usd that is an estimate

    def try_acquire(self) -> bool:
        """Take one unit with no cost hold; False (and nothing taken) when a cap is reached."""
        return self.reserve(0.0) is not None

    def reserve(self, worst_usd: float) -> Ticket | None:
        """Take one call and hold ``worst_usd``; None (nothing taken) when a cap says no."""
        with self._lock:
            if self.max_calls is not None and self._used >= self.max_calls:
                self.refused_by = "MAX_IMAGE_CALLS"
                return None
            if (
                self.max_cost is not None
                and self.spent_usd + self.held_usd + worst_usd > self.max_cost + 1e-12
            ):
                self.refused_by = "MAX_COST"
                return None
            self._used += 1
            self.held_usd += worst_usd
            return Ticket(worst_usd)

    def settle(self, ticket: Ticket, cost_usd: float, basis: str = "usage") -> None:
        """The request is answered (or failed): release its hold, book its real cost."""
        with self._lock:
            if ticket.settled:
                return
            ticket.settled = True
            self.held_usd = max(0.0, self.held_usd - ticket.worst_usd)
            self.spent_usd += cost_usd
            self.basis[basis] = self.basis.get(basis, 0) + 1
            if basis in ("estimate", "unknown"):
                self.estimate_usd += cost_usd

    def cap_message(self) -> str:
        if self.refused_by == "MAX_COST":
            return (
                f"MAX_COST of ${self.max_cost:.2f} would be exceeded by one more call "
                f"(${self.spent_usd:.4f} spent)"
            )
        return f"MAX_IMAGE_CALLS budget of {self.max_calls} image calls is spent"

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
        return (
            f"CallBudget(max_calls={self.max_calls}, used={self._used}, "
            f"max_cost={self.max_cost}, spent_usd={self.spent_usd:.4f})"
        )


@runtime_checkable
class Backend(Protocol):
    """What the pipeline needs from an image backend."""

    name: str

    model: str

    async def generate(self, req: ImageRequest) -> Generated:
        """The image (bytes PIL can decode) and its cost; see the module docstring."""
        ...

    async def aclose(self) -> None: ...
