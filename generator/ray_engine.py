"""``dgm4plus generate --ray``: the shards of a run as Ray tasks, then one merge.

Each task builds one shard store (``generate --shard I/N`` in a Ray worker) and the driver
merges them into ``--out``. With ``RAY_ADDRESS`` set (or ``ray start`` on this machine) the tasks
go to that cluster; otherwise a local one is started. Tasks ask for one GPU each when the cluster
has GPUs and the backend is ``diffusers`` (so each loads its model once on its own GPU, and MTCNN
runs on that GPU too), one CPU otherwise. Shard stores live beside the output, in
``<out>.shards/``, which on a multi-machine cluster must be a shared file system (NFS, Lustre...).

Resuming: run the same command again; every shard resumes its own store and the merge is
written again. Spend caps (``MAX_IMAGE_CALLS``, ``MAX_COST``) and the account's pace
(``IMAGES_PER_MINUTE``) are split between the shards, so their sum is never exceeded.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from generator import console
from generator.config import Config, load_config
from generator.errors import UsageError


def shard_root(cfg: Config, index: int, count: int) -> Path:
    """Where shard ``index`` of ``count`` of this run is stored."""
    return cfg.OUT_ROOT.parent / f"{cfg.OUT_ROOT.name}.shards" / f"shard-{index:03d}-of-{count:03d}"


def split_cap(total: float | int | None, index: int, count: int) -> float | int | None:
    """Shard ``index``'s part of a cap, so the parts add up to the cap exactly."""
    if total is None:
        return None
    if isinstance(total, int):
        return total // count + (1 if index < total % count else 0)
    return total / count


def shard_knobs(cfg: Config, index: int, count: int) -> dict[str, Any]:
    """The knobs of one shard's run (JSON-friendly: they travel to the Ray worker)."""
    knobs = cfg.public_dict()
    knobs.update(
        {
            "SHARD": f"{index}/{count}",
            "RAY": False,
            "RAY_SHARDS": None,
            "OUT_ROOT": str(shard_root(cfg, index, count)),
            "MAX_IMAGE_CALLS": split_cap(cfg.MAX_IMAGE_CALLS, index, count),
        }
    )
    for shared in ("MAX_COST", "IMAGES_PER_MINUTE"):  # one account's dollars and rate limit
        if knobs.get(shared) is not None:
            knobs[shared] = split_cap(float(knobs[shared]), index, count)
    return knobs


def build_shard(knobs: dict[str, Any]) -> dict[str, Any]:
    """Build one shard store (runs inside a Ray worker); a summary for the driver."""
    from generator.pipeline import fill_store

    cfg = load_config(cli=knobs, env={})
    try:
        stats = fill_store(cfg, progress=False)
    except UsageError as exc:
        return {"shard": cfg.SHARD, "error": str(exc)}
    return {
        "shard": cfg.SHARD,
        "root": str(cfg.OUT_ROOT),
        "calls": stats.calls,
        "accepted": stats.accepted,
        "final_counts": stats.final_counts,
        "targets": cfg.targets,
        "stopped_by": stats.stopped_by,
        "fatal": stats.fatal,
    }


def _gpus(ray: Any) -> int:
    return int(ray.cluster_resources().get("GPU", 0))


def run_ray(cfg: Config, num_cpus: int | None = None) -> int:
    """Generate every shard on Ray, then merge; exit codes as ``generate``."""
    import ray

    from generator.merge import merge_stores

    started = False
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS") or None
        ray.init(
            address=address,
            num_cpus=None if address else num_cpus,
            include_dashboard=False,
            logging_level=logging.WARNING,
            log_to_driver=True,
        )
        started = True
    try:
        gpus = _gpus(ray)
        use_gpu = gpus > 0 and cfg.BACKEND == "diffusers"
        count = cfg.RAY_SHARDS or (gpus if use_gpu else int(ray.cluster_resources().get("CPU", 1)))
        count = max(1, count)
        task = ray.remote(build_shard).options(
            num_gpus=1 if use_gpu else 0, num_cpus=1, max_retries=0
        )
        console.notice(
            f"{count} shard(s) on Ray ({gpus} GPU(s) in the cluster"
            f"{', one per task' if use_gpu else ''})"
        )
        refs = [task.remote(shard_knobs(cfg, i, count)) for i in range(count)]
        results: list[dict[str, Any]] = ray.get(refs)
    finally:
        if started:
            ray.shutdown()
    errors = [r for r in results if "error" in r]
    if errors:
        console.error(f"shard {errors[0]['shard']}: {errors[0]['error']}")
        return 2
    fatal = [r for r in results if r.get("fatal")]
    if fatal:
        console.error(f"the image API refused the run: {fatal[0]['fatal']}")
        return 2
    roots = [Path(r["root"]) for r in results]
    report = merge_stores(roots, cfg.OUT_ROOT)
    console.notice(f"{report.line()}; calls {sum(r['calls'] for r in results)}")
    if any(r["stopped_by"] in ("SIGINT", "SIGTERM") for r in results):
        return 130
    short = [
        r for r in results if any(r["final_counts"].get(b, 0) < t for b, t in r["targets"].items())
    ]
    if short:
        console.warn("stopped short of the targets; run the same command again to resume")
        return 3
    if any(report.counts[b] < t for b, t in cfg.full_targets.items()):
        console.warn(
            f"near-duplicates across shards were left out; to top up, run the same "
            f"command without --ray on {cfg.OUT_ROOT} (a later --ray merge then refuses to "
            "overwrite it)"
        )
        return 3
    return 0
