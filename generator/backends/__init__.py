"""Image backends: ``openai`` (gpt-image-1) and ``composite`` (offline, deterministic).

Both take one unit of a shared :class:`CallBudget` per image call and raise the same errors
(:class:`Refused`, :class:`CallFailed`, :class:`BudgetExhausted`), so the pipeline treats them
alike.
"""

from __future__ import annotations

from typing import Any

from .base import (
    Backend,
    BackendError,
    BudgetExhausted,
    CallBudget,
    CallFailed,
    ImageRequest,
    MissingCredentials,
    Refused,
)

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendError",
    "BudgetExhausted",
    "CallBudget",
    "CallFailed",
    "ImageRequest",
    "MissingCredentials",
    "Refused",
    "make_backend",
]

BACKENDS = ("openai", "composite", "diffusers")


def make_backend(name: str, **kw: Any) -> Backend:
    """Build a backend by name; keyword arguments go to its constructor (``budget`` is required).

    The modules are imported lazily, so the offline backend never imports the openai SDK.
    """
    if name == "openai":
        from .openai_backend import OpenAIBackend

        return OpenAIBackend(**kw)
    if name == "composite":
        from .composite import CompositeBackend

        return CompositeBackend(**kw)
    if name == "diffusers":
        from .diffusers_backend import DiffusersBackend

        return DiffusersBackend(**kw)
    raise ValueError(f"unknown backend {name!r}; expected one of: {', '.join(BACKENDS)}")
