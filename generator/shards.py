"""Plan shards: which plan items a ``--shard I/N`` run builds, as a pure rule on k.

Shard I of N owns every plan key whose index k satisfies ``k mod N == I``, in every bucket. The
rule needs nothing but (k, N), so every machine of a Slurm array or a Ray cluster agrees on it
without talking to the others. Shard I's target for a bucket is the number of its own keys below
the bucket's target, so the shards' targets add up to the run's target exactly, and when no item
is rejected the shards accept together exactly the keys one unsharded run accepts. A rejected
item is replaced by the shard's next own key (an unsharded run takes the next key of any shard).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from generator.errors import ConfigError

if TYPE_CHECKING:
    from generator.config import Config

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_SIZE = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")
_DEVICE = re.compile(r"^(auto|cpu|cuda|cuda:\d+|mps)$")


@dataclass(frozen=True)
class Shard:
    index: int  # I, 0-based
    count: int  # N

    def owns(self, k: int) -> bool:
        return k % self.count == self.index

    def share(self, target: int) -> int:
        """How many of the keys 0..target-1 this shard owns."""
        if target <= self.index:
            return 0
        return (target - self.index + self.count - 1) // self.count

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str, knob: str = "SHARD") -> Shard:
    """``"I/N"`` with 0 <= I < N; anything else is a :class:`ConfigError` naming ``knob``."""
    m = _SHARD.match(text)
    if not m:
        raise ConfigError(
            knob, f"expected I/N such as 0/4 (shard I of N, counted from 0); got {text!r}"
        )
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1 or index >= count:
        raise ConfigError(knob, f"expected 0 <= I < N in I/N; got {text!r}")
    return Shard(index, count)


def config_shard(cfg: Config) -> Shard | None:
    return None if cfg.SHARD is None else parse_shard(cfg.SHARD)


def shard_targets(cfg: Config) -> dict[str, int]:
    """The per-bucket targets a run builds: the config's, or this shard's share of them."""
    shard = config_shard(cfg)
    if shard is None:
        return dict(cfg.targets)
    return {bucket: shard.share(t) for bucket, t in cfg.targets.items()}


def parse_size(text: str, knob: str = "DIFFUSERS_SIZE") -> tuple[int, int]:
    """``"WxH"`` with both sides multiples of 16 in 64..4096 -> (width, height)."""
    m = _SIZE.match(text)
    if not m:
        raise ConfigError(knob, f"expected WxH such as 1024x1024; got {text!r}")
    w, h = int(m.group(1)), int(m.group(2))
    for side in (w, h):
        if side % 16 or not 32 <= side <= 4096:
            raise ConfigError(
                knob, f"each side must be a multiple of 16 between 32 and 4096; got {text!r}"
            )
    return w, h


def check_scale_out_knobs(cfg: Config) -> None:
    """Validate the spellings of SHARD, DIFFUSERS_SIZE and DEVICE, and their combinations."""
    if cfg.SHARD is not None:
        parse_shard(cfg.SHARD)
        if cfg.RAY:
            raise ConfigError("SHARD", "--ray makes its own shards; drop --shard (or --ray)")
    if cfg.DIFFUSERS_SIZE is not None:
        parse_size(cfg.DIFFUSERS_SIZE)
    if not _DEVICE.match(cfg.DEVICE):
        raise ConfigError("DEVICE", f"expected auto, cpu, cuda, cuda:N or mps; got {cfg.DEVICE!r}")


def merge_args(p: argparse.ArgumentParser) -> None:
    """Flags of ``dgm4plus merge`` (kept here: this module imports nothing heavy)."""
    p.add_argument(
        "stores",
        nargs="+",
        type=Path,
        metavar="STORE",
        help="shard stores made by `dgm4plus generate --shard I/N` (any order)",
    )
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="DIR",
        help="the merged store (new, or an earlier merge that it replaces)",
    )


def cmd_merge(ns: argparse.Namespace) -> int:
    from generator.merge import run_merge

    return run_merge(ns.stores, ns.out)
