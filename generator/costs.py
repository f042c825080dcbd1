"""What a run costs: the spend guard built from the knobs, and the run's cost statistics.

The dollars of a run are the sum of what each request cost, settled in the shared
:class:`~generator.backends.base.CallBudget`: a response's ``usage`` priced by the model table
(``generator/backends/models.py``), an estimate only where no usage came back, 0 for a failed
attempt without usage. The fields written to ``runs.jsonl`` (and read by the release card):

``model``               the model the backend sent (or its local name)
``cost_usd``            dollars spent by this run, usage-priced plus estimated parts
``cost_estimate_usd``   the part of ``cost_usd`` that is an estimate (no usage returned, or
                        ``PRICE_PER_IMAGE`` for a model the table does not price)
``cost_is_estimate``    true when any part of ``cost_usd`` is an estimate
``cost_basis``          settled requests by basis: ``usage`` / ``estimate`` / ``unknown``
``cost_unknown_calls``  requests whose cost is unknown (a model the table lacks, no price)
``tokens``              ``{"input": N, "output": N, "images": N}`` summed from the usage returned
``batch``               true for a Batch API run (priced at the batch discount)
"""

from __future__ import annotations

from typing import Any

from generator.backends.base import CallBudget
from generator.config import Config

__all__ = ["format_cost", "make_budget", "openai_kwargs", "run_cost"]


def make_budget(cfg: Config) -> CallBudget:
    return CallBudget(cfg.MAX_IMAGE_CALLS, cfg.MAX_COST if cfg.BACKEND == "openai" else None)


def openai_kwargs(cfg: Config) -> dict[str, Any]:
    """Keyword arguments of :class:`OpenAIBackend` from the knobs (all but the budget)."""
    from generator.backends.pacing import Pacer

    return {
        "model": cfg.GEN_MODEL,
        "size": cfg.GEN_SIZE,
        "quality": cfg.GEN_QUALITY,
        "max_retries": cfg.MAX_RETRIES,
        "timeout": cfg.REQUEST_TIMEOUT,
        "output_format": cfg.OUTPUT_FORMAT,
        "output_compression": cfg.OUTPUT_COMPRESSION,
        "moderation": cfg.MODERATION,
        "price_per_image": cfg.PRICE_PER_IMAGE,
        "pacer": Pacer(cfg.IMAGES_PER_MINUTE),
    }


def run_cost(
    budget: CallBudget, backend: Any, stats: Any, *, batch: bool | None = None
) -> dict[str, Any]:
    """The cost fields of a run (see the module docstring)."""
    if batch is None:
        batch = bool(getattr(backend, "batch", False))
    basis = {k: budget.basis.get(k, 0) for k in ("usage", "estimate", "unknown")}
    return {
        "model": getattr(backend, "model", None),
        "cost_usd": round(budget.spent_usd, 6),
        "cost_estimate_usd": round(budget.estimate_usd, 6),
        "cost_is_estimate": bool(basis["estimate"] or basis["unknown"]),
        "cost_basis": basis,
        "cost_unknown_calls": basis["unknown"],
        "tokens": {
            "input": int(getattr(stats, "tokens_in", 0)),
            "output": int(getattr(stats, "tokens_out", 0)),
            "images": int(getattr(stats, "images_with_usage", 0)),
        },
        "batch": batch,
    }


def format_cost(stats: dict[str, Any]) -> str:
    """The cost part of the summary line."""
    if "cost_usd" not in stats:  # a run written before costs came from usage
        return f"estimated cost ${stats.get('estimated_cost_usd', 0.0):.2f}"
    usd = float(stats["cost_usd"])
    text = f"cost ${usd:.4f}" if usd < 1 else f"cost ${usd:.2f}"
    est = float(stats.get("cost_estimate_usd") or 0.0)
    unknown = int(stats.get("cost_unknown_calls") or 0)
    basis = stats.get("cost_basis") or {}
    if basis.get("usage") and not est and not unknown:
        text += " (from usage)"
    elif est:
        text += f" (of which ${est:.4f} is an estimate: no usage came back, or --price-per-image)"
    if unknown:
        text += (
            f"; {unknown} request(s) of unknown cost (the model table does not price "
            f"{stats.get('model')}: give --price-per-image)"
        )
    if stats.get("batch"):
        text += ", at the batch price"
    return text
