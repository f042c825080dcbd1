"""Shards + merge against one process, on the composite backend (offline).

Run from the repository root:

    .venv/bin/python bench/bench_shards.py [--per-class 12] [--shards 2] [--seed 99]

Side by side, each in fresh temporary folders, each through the real command in its own process:

* one process: ``dgm4plus generate --backend composite`` with the targets;
* shards: ``dgm4plus generate --shard I/N`` for every I at once (N processes), then
  ``dgm4plus merge``; wall time from the first start to the end of the merge.

Reported: wall seconds of both, the merge's own seconds, and whether the merged store accepted
the same plan keys with the same image bytes as the one process.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._benchutil import machine_line, save, table  # noqa: E402


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "generator.cli", *args]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DGM4PLUS_")}
    env["OMP_NUM_THREADS"] = "1"
    return env


def _keys_and_images(root: Path) -> tuple[list[str], dict[str, str]]:
    rows = [json.loads(line) for line in (root / "metadata.jsonl").read_text().splitlines() if line]
    images = {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*.jpg"))
    }
    return sorted(r["plan_key"] for r in rows), images


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--per-class", type=int, default=12)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--seed", type=int, default=99)
    args = ap.parse_args()
    knobs = [
        "--backend",
        "composite",
        "--seed",
        str(args.seed),
        "--origin",
        str(args.per_class),
        "--text-attribute",
        str(args.per_class),
        "--text-swap",
        str(args.per_class),
        "--concurrency",
        "2",
        "--no-progress",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        t0 = time.perf_counter()
        subprocess.run(
            _cmd("generate", *knobs, "--out", str(base / "one" / "DGM4")),
            env=_env(),
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        one_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                _cmd(
                    "generate",
                    *knobs,
                    "--shard",
                    f"{i}/{args.shards}",
                    "--out",
                    str(base / f"s{i}" / "DGM4"),
                ),
                env=_env(),
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for i in range(args.shards)
        ]
        for p in procs:
            _, err = p.communicate()
            if p.returncode != 0:
                raise SystemExit(f"shard failed: {err.decode()[-500:]}")
        t1 = time.perf_counter()
        subprocess.run(
            _cmd(
                "merge",
                *(str(base / f"s{i}" / "DGM4") for i in range(args.shards)),
                "--out",
                str(base / "merged" / "DGM4"),
            ),
            env=_env(),
            check=True,
            capture_output=True,
            cwd=ROOT,
        )
        t2 = time.perf_counter()
        keys_one, img_one = _keys_and_images(base / "one" / "DGM4")
        keys_m, img_m = _keys_and_images(base / "merged" / "DGM4")
    rows = [
        ["one process", f"{one_s:.1f}", "", len(keys_one), ""],
        [
            f"{args.shards} shards in parallel + merge",
            f"{t2 - t0:.1f}",
            f"{t2 - t1:.2f}",
            len(keys_m),
            "yes" if keys_m == keys_one else f"no ({len(set(keys_m) ^ set(keys_one))} keys differ)",
        ],
    ]
    same_bytes = "yes" if img_m == img_one else "no"
    text = "\n".join(
        [
            "# Shards + merge vs one process (composite backend)",
            "",
            f"Machine: {machine_line()}",
            f"Command: `.venv/bin/python bench/bench_shards.py --per-class {args.per_class} "
            f"--shards {args.shards} --seed {args.seed}`",
            "",
            table(["run", "wall s", "merge s", "accepted", "same plan keys as one process"], rows),
            "",
            f"Same image bytes as one process: {same_bytes}.",
        ]
    )
    save("shards", text)


if __name__ == "__main__":
    main()
