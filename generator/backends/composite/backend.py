"""The ``composite`` backend: deterministic composites, one budget unit per call."""

from __future__ import annotations

import asyncio

from generator.backends.base import BudgetExhausted, CallBudget, Generated, ImageRequest

from .render import CompositeImage, render_composite


class CompositeBackend:
    """Offline backend: deterministic composites, one budget unit per call like the real one."""

    name = "composite"
    model = "composite"  # what samples record as their model (local, free)

    def __init__(
        self,
        budget: CallBudget,
        fault_rate: float = 0.15,
        signage_rate: float = 0.0,
        size: int = 1024,
        png_level: int = 0,
    ) -> None:
        for label, rate in (("fault_rate", fault_rate), ("signage_rate", signage_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{label} must be within 0..1, got {rate}")
        self.budget = budget
        self.fault_rate = fault_rate
        self.signage_rate = signage_rate
        self.size = size
        self.png_level = png_level
        self.calls = 0
        self.retries = 0  # never retries; kept so run statistics read both backends alike

    def __repr__(self) -> str:
        return (
            f"CompositeBackend(fault_rate={self.fault_rate}, signage_rate={self.signage_rate}, "
            f"size={self.size}, calls={self.calls})"
        )

    def render(self, req: ImageRequest) -> CompositeImage:
        """Draw the image for ``req`` (no budget taken): the picture and what is in it."""
        return render_composite(
            req.seed,
            req.plan_key,
            req.attempt,
            req.num_people,
            req.backdrop,
            req.backdrop_kind,
            fault_rate=self.fault_rate,
            signage_rate=self.signage_rate,
            size=self.size,
            png_level=self.png_level,
        )

    def generate_sync(self, req: ImageRequest) -> bytes:
        self._take(req)
        return self.render(req).png

    async def generate(self, req: ImageRequest) -> Generated:
        self._take(req)
        image = await asyncio.to_thread(self.render, req)
        return Generated(data=image.png, model=self.model, cost_usd=0.0, cost_basis="free")

    def _take(self, req: ImageRequest) -> None:
        if not self.budget.try_acquire():
            raise BudgetExhausted(
                f"{req.plan_key} attempt {req.attempt}: MAX_IMAGE_CALLS budget of "
                f"{self.budget.max_calls} image calls is spent"
            )
        self.calls += 1

    async def aclose(self) -> None:
        return None
