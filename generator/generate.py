"""Generation as an explicit step for Python callers: fill a store, get the run's statistics.

``dgm4plus generate`` is the command-line form. The builder's ``generate=True`` calls
:func:`generate_to_targets`, which raises :class:`TargetsNotReached` (with the reason) instead of
letting ``download_and_prepare`` return a partial dataset::

    from generator.generate import generate, targets_short

    stats = generate("DGM4", knobs={"BACKEND": "composite", "TARGET_LITERAL": 5})
    if stats.fatal or targets_short(stats, cfg): ...
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from generator.config import Config
    from generator.pipeline import RunStats


class TargetsNotReached(RuntimeError):
    """The generation stopped before every class reached its target.

    ``cause`` is one of ``budget`` (MAX_IMAGE_CALLS / MAX_COST spent), ``refusal`` (the image
    API refused the run, or too many plan items in a row were rejected), ``signal`` (SIGINT /
    SIGTERM) or ``unknown``; ``stats`` is the run's :class:`~generator.pipeline.RunStats` and
    ``short`` maps each class to the samples it still lacks. The store keeps everything accepted
    so far: run again to resume.
    """

    def __init__(self, cause: str, message: str, stats: RunStats, short: dict[str, int]) -> None:
        super().__init__(message)
        self.cause = cause
        self.stats = stats
        self.short = short


def make_config(
    data_dir: str | os.PathLike[str],
    knobs: Mapping[str, Any] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """The run's Config: ``knobs`` (knob names, any case) over ``DGM4PLUS_*`` in ``env`` over
    the TOML ``config_file``; ``OUT_ROOT`` is ``data_dir`` (a different one is refused)."""
    from generator.config import knob_names, load_config

    root = Path(data_dir).expanduser()
    root = root if root.is_absolute() else Path.cwd() / root
    by_lower = {name.lower(): name for name in knob_names()}
    values: dict[str, Any] = {}
    for key, value in (knobs or {}).items():
        name = by_lower.get(str(key).lower())
        if name is None:
            raise UsageError(f"generator_knobs: unknown knob {key!r}")
        values[name] = value
    if "OUT_ROOT" in values:
        other = Path(values["OUT_ROOT"]).expanduser()
        other = other if other.is_absolute() else Path.cwd() / other
        if other != root:
            raise UsageError(
                f"generator_knobs: OUT_ROOT {str(values['OUT_ROOT'])!r} differs from "
                f"data_dir {str(root)!r}"
            )
    values["OUT_ROOT"] = str(root)
    toml = None if config_file is None else Path(config_file)
    return load_config(cli=values, env=os.environ if env is None else env, toml_path=toml)


def generate(
    data_dir: str | os.PathLike[str],
    *,
    knobs: Mapping[str, Any] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    progress: bool = True,
) -> RunStats:
    """Fill (or resume) the store at ``data_dir`` toward the targets; return the run's stats.

    This spends money with the ``openai`` backend (bounded by MAX_IMAGE_CALLS / MAX_COST). It
    returns whether or not the targets were reached: see :func:`targets_short` and
    :func:`generate_to_targets`.
    """
    from generator.pipeline import fill_store

    return fill_store(make_config(data_dir, knobs, config_file, env), progress=progress)


def targets_short(stats: RunStats, cfg: Config) -> dict[str, int]:
    """Class -> samples still missing after the run (empty when every target was reached)."""
    counts = stats.final_counts
    return {b: t - counts.get(b, 0) for b, t in cfg.targets.items() if counts.get(b, 0) < t}


def stop_cause(stats: RunStats) -> str:
    """Why a run stopped short, as one word: budget, refusal, signal or unknown."""
    why = stats.stopped_by or ""
    if stats.fatal:
        return "refusal"
    if why in ("SIGINT", "SIGTERM"):
        return "signal"
    if "MAX_IMAGE_CALLS" in why or "MAX_COST" in why or "budget" in why.lower():
        return "budget"
    if "reject" in why:
        return "refusal"
    return "unknown"


def generate_to_targets(
    data_dir: str | os.PathLike[str],
    *,
    knobs: Mapping[str, Any] | None = None,
    config_file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    progress: bool = True,
) -> RunStats:
    """:func:`generate`, then raise :class:`TargetsNotReached` unless every target was met."""
    from generator.pipeline import fill_store

    cfg = make_config(data_dir, knobs, config_file, env)
    stats = fill_store(cfg, progress=progress)
    require_targets(stats, cfg)
    return stats


def require_targets(stats: RunStats, cfg: Config) -> None:
    """Raise :class:`TargetsNotReached` saying why, unless the run reached every target."""
    short = targets_short(stats, cfg)
    if not short and not stats.fatal:
        return
    cause = stop_cause(stats)
    missing = ", ".join(f"{b} needs {n} more" for b, n in short.items()) or "none missing"
    refused = stats.rejected.get("refused", 0)
    detail = {
        "budget": f"the spend cap was reached ({stats.stopped_by}; {stats.calls} calls made)",
        "refusal": (
            f"the image API refused the run: {stats.fatal}"
            if stats.fatal
            else f"{stats.stopped_by}; {refused} plan items refused by the image API"
        ),
        "signal": f"interrupted by {stats.stopped_by}",
        "unknown": f"stopped by {stats.stopped_by or 'an unknown cause'}",
    }[cause]
    raise TargetsNotReached(
        cause,
        f"generate: targets not reached in {cfg.OUT_ROOT} ({missing}): {detail}; "
        "the store keeps what was accepted, run again to resume",
        stats,
        short,
    )


__all__ = [
    "TargetsNotReached",
    "generate",
    "generate_to_targets",
    "make_config",
    "require_targets",
    "stop_cause",
    "targets_short",
]
