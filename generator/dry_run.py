"""``dgm4plus generate --dry-run``: what a run would make, call and cost, with no API call.

Read-only: the store is only read (nothing is created, no lock is taken), no backend is built.
Expected calls come from this store's own acceptance (accepted samples per image call, summed
over the runs in ``runs.jsonl`` of the same backend), else a stated default; dollars from the
mean tokens per image measured in the store's runs of the same model, size and quality, else
the model table.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.backends.models import BATCH_DISCOUNT, Pricer, require_usable
from generator.config import BUCKETS, Config

__all__ = ["DEFAULT_ACCEPTED_PER_CALL", "DryRun", "dry_run", "format_dry_run", "run_dry"]

#: Accepted samples per image call when the store has no measured runs yet: the README's
#: "typical 10-20% rejection rate" (not measured on this store; the report says so).
DEFAULT_ACCEPTED_PER_CALL = 0.8
#: Reported images-per-minute limits of gpt-image-2 by account tier (DESIGN.md; unverified).
TIER_LIMITS = {"tier 1": 5, "tier 5": 250}


@dataclass(frozen=True)
class DryRun:
    to_make: dict[str, int]
    accepted_per_call: float
    acceptance_source: str
    expected_calls: int
    capped_calls: int  # after MAX_IMAGE_CALLS / MAX_COST
    usd_per_call: float | None
    price_source: str
    expected_usd: float | None
    minutes: dict[str, float]  # rate-limit-bound time by limit label
    warnings: list[str]
    batch: bool


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_bytes().splitlines():
        try:
            obj = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            continue  # a torn or foreign line: the dry run only estimates
        if isinstance(obj, dict):
            rows.append(obj)
    return rows


def _have(root: Path) -> dict[str, int]:
    have = {b: 0 for b in BUCKETS}
    # Raw lines: an estimate counts classes without parsing (or refusing) a single record.
    for rec in _jsonl(root / "metadata.jsonl"):
        if rec.get("fake_cls") in have:
            have[rec["fake_cls"]] += 1
    return have


def _num(v: Any) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0.0


def dry_run(cfg: Config, *, batch: bool = False) -> DryRun:
    if cfg.BACKEND == "openai":
        require_usable(cfg.GEN_MODEL)  # a shut-down model: the same one line as a real run
    root = Path(cfg.OUT_ROOT)
    have = _have(root)
    to_make = {b: max(0, cfg.targets[b] - have[b]) for b in BUCKETS}
    remaining = sum(to_make.values())
    runs = [r for r in _jsonl(root / "runs.jsonl") if r.get("backend") == cfg.BACKEND]
    calls = sum(_num(r.get("calls")) for r in runs)
    accepted = sum(_num(r.get("accepted")) for r in runs)
    if calls > 0 and accepted > 0:
        rate = accepted / calls
        source = f"measured in this store: {int(accepted)} accepted of {int(calls)} calls"
    else:
        rate = DEFAULT_ACCEPTED_PER_CALL
        source = f"default {DEFAULT_ACCEPTED_PER_CALL:.0%}: no measured run in this store"
    expected = math.ceil(remaining / rate) if remaining else 0
    warnings: list[str] = []

    usd_per_call: float | None
    if cfg.BACKEND != "openai":
        usd_per_call, price_source = 0.0, f"{cfg.BACKEND} runs locally: no API cost"
    else:
        pricer = Pricer(
            cfg.GEN_MODEL,
            cfg.GEN_SIZE,
            cfg.GEN_QUALITY,
            price_per_image=cfg.PRICE_PER_IMAGE,
            batch=batch,
        )
        same = [
            r
            for r in runs
            if (r.get("config") or {}).get("GEN_MODEL") == cfg.GEN_MODEL
            and (r.get("config") or {}).get("GEN_SIZE") == cfg.GEN_SIZE
            and (r.get("config") or {}).get("GEN_QUALITY") == cfg.GEN_QUALITY
        ]
        images = sum(_num((r.get("tokens") or {}).get("images")) for r in same)
        if images > 0 and pricer.prices is not None:
            t_in = sum(_num((r.get("tokens") or {}).get("input")) for r in same) / images
            t_out = sum(_num((r.get("tokens") or {}).get("output")) for r in same) / images
            usd_per_call = pricer.per_token_estimate(t_in, t_out)
            price_source = (
                f"measured mean tokens per image in this store ({t_in:.0f} in, "
                f"{t_out:.0f} out, {int(images)} images) at the table's prices"
            )
        else:
            usd_per_call = pricer.estimate()
            prices = pricer.prices
            if prices is not None:
                price_source = (
                    f"model table: {cfg.GEN_MODEL} {cfg.GEN_SIZE} {cfg.GEN_QUALITY}, "
                    f"prices as of {prices.as_of}" + ("" if prices.verified else " (unverified)")
                )
            elif cfg.PRICE_PER_IMAGE is not None:
                price_source = f"--price-per-image ${cfg.PRICE_PER_IMAGE}"
            else:
                price_source = f"unknown: {cfg.GEN_MODEL} is not in the model table"
                warnings.append("the cost is unknown: give --price-per-image to estimate it")
        if batch:
            price_source += f", batch price ({BATCH_DISCOUNT:.0%} of the synchronous price)"

    capped = expected
    if cfg.MAX_IMAGE_CALLS is not None:
        capped = min(capped, cfg.MAX_IMAGE_CALLS)
    if cfg.MAX_COST is not None and usd_per_call:
        capped = min(capped, int(cfg.MAX_COST / usd_per_call))
    if capped < expected:
        warnings.append(
            f"the caps stop the run after about {capped} of the {expected} calls "
            "expected: the targets would not be reached"
        )
    if cfg.BACKEND == "openai" and cfg.MAX_IMAGE_CALLS is None and cfg.MAX_COST is None:
        warnings.append("no spend cap is set: give --max-cost USD and/or --max-image-calls N")
    usd = None if usd_per_call is None else usd_per_call * capped
    minutes: dict[str, float] = {}
    if cfg.BACKEND == "openai" and not batch:
        if cfg.IMAGES_PER_MINUTE:
            minutes[f"--images-per-minute {cfg.IMAGES_PER_MINUTE:g}"] = (
                capped / cfg.IMAGES_PER_MINUTE
            )
        else:
            for tier, per_min in TIER_LIMITS.items():
                minutes[f"{tier} (~{per_min}/min, reported)"] = capped / per_min
    return DryRun(
        to_make,
        rate,
        source,
        expected,
        capped,
        usd_per_call,
        price_source,
        usd,
        minutes,
        warnings,
        batch,
    )


def _duration(minutes: float) -> str:
    if minutes < 1:
        return f"{minutes * 60:.0f} s"
    if minutes < 90:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"


def format_dry_run(cfg: Config, d: DryRun) -> list[str]:
    what = ", ".join(f"{b} {n}" for b, n in d.to_make.items())
    lines = [
        f"dry run: no API call made; store {cfg.OUT_ROOT}",
        f"to make: {sum(d.to_make.values())} samples ({what})",
        f"expected calls: {d.expected_calls} at {d.accepted_per_call:.2f} accepted per call "
        f"({d.acceptance_source})"
        + (f"; {d.capped_calls} within the caps" if d.capped_calls != d.expected_calls else ""),
    ]
    if cfg.BACKEND == "openai":
        lines.append(
            f"model: {cfg.GEN_MODEL}, {cfg.GEN_SIZE}, quality {cfg.GEN_QUALITY}"
            + (", Batch API" if d.batch else "")
        )
    if d.expected_usd is None:
        lines.append(f"expected cost: unknown ({d.price_source})")
    else:
        lines.append(
            f"expected cost: ${d.expected_usd:.2f} (${d.usd_per_call:.4f} per call; "
            f"{d.price_source})"
        )
    if d.batch:
        lines.append("time: the Batch API completes within its 24 h window (no per-minute pacing)")
    for label, minutes in d.minutes.items():
        lines.append(f"rate-limit-bound time at {label}: {_duration(minutes)}")
    lines += [f"warning: {w}" for w in d.warnings]
    return lines


def run_dry(cfg: Config, *, batch: bool = False) -> int:
    for line in format_dry_run(cfg, dry_run(cfg, batch=batch)):
        print(line)
    return 0
