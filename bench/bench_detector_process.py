"""A whole `dgm4plus generate` run with the detector in a child process (the default of a fresh
process) against the same run with the detector in the run's own process, side by side.

Run from the repository root:

    .venv/bin/python bench/bench_detector_process.py [--per-class 12] [--repeats 3]
        [--backend composite] [--latency 1.0]

Both are the same CLI command in a fresh Python process; the in-process variant imports torch
before calling ``generator.cli.main`` (a run whose process already has torch loaded keeps the
detector in-process: ``generator.vision.detector_process.start_for_run``). Alternating runs;
wall seconds, first accepted sample (the first line of metadata.jsonl, polled every 5 ms), and
the CPU seconds of the run with its children (the detector process included).
``--backend openai`` runs against ``FakeOpenAIServer(images="composite", latency=L)``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchutil import ROOT, machine_line, median, save, table  # noqa: E402

VARIANTS = {
    "detector process (default)": "from generator.cli import main; main()",
    "detector in the run's process": "import torch; from generator.cli import main; main()",
}


@contextlib.contextmanager
def fake_api(latency: float) -> Iterator[dict[str, str]]:
    sys.path.insert(0, str(ROOT))
    from tests.fakes.openai_server import FakeOpenAIServer

    srv = FakeOpenAIServer(images="composite", latency=latency).start()
    try:
        yield {"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": srv.base_url}
    finally:
        srv.stop()


def one(code: str, args: list[str], out: Path, env: dict[str, str]) -> dict[str, float]:
    shutil.rmtree(out, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "generate", "--out", str(out), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    meta, first = out / "metadata.jsonl", float("nan")
    while proc.poll() is None:
        if first != first and meta.exists() and b"\n" in meta.read_bytes():
            first = time.perf_counter() - t0
        time.sleep(0.005)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"generate exited {proc.returncode}:\n{err}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "first": first, "cpu": cpu}


def run(args: argparse.Namespace) -> str:
    n = args.per_class
    cli = ["--backend", args.backend, "--seed", "99", "--origin", str(n)]
    cli += ["--text-attribute", str(n), "--text-swap", str(n), "--no-progress", "-q"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DGM4PLUS_", "OPENAI_"))}
    results: dict[str, list[dict[str, float]]] = {k: [] for k in VARIANTS}
    tmp = Path(tempfile.mkdtemp(prefix="dgm4plus-bench-detproc-"))
    try:
        with contextlib.ExitStack() as stack:
            if args.backend == "openai":
                env.update(stack.enter_context(fake_api(args.latency)))
                cli += ["--concurrency", "4"]
            for code in VARIANTS.values():  # untimed: caches
                one(code, cli, tmp / "warm", env)
            for rep in range(args.repeats):
                for name, code in VARIANTS.items():
                    r = one(code, cli, tmp / "run", env)
                    results[name].append(r)
                    print(
                        f"[{rep}] {name}: {r['wall']:.2f} s, first {r['first']:.2f} s, "
                        f"CPU {r['cpu']:.2f} s",
                        file=sys.stderr,
                    )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    for name, runs in results.items():
        walls = ", ".join(f"{r['wall']:.2f}" for r in runs)
        rows.append(
            [
                name,
                f"{median([r['wall'] for r in runs]):.2f} ({walls})",
                f"{median([r['first'] for r in runs]):.2f}",
                f"{median([r['cpu'] for r in runs]):.2f}",
            ]
        )
    latency = (
        f", fake API latency {args.latency} s, CONCURRENCY 4" if args.backend == "openai" else ""
    )
    return "\n".join(
        [
            "# Detector process vs detector in the run's process",
            "",
            f"`dgm4plus generate --backend {args.backend}`, {n} + {n} + {n} samples{latency}; "
            f"{args.repeats} alternating runs each, fresh processes. {machine_line()}.",
            "",
            table(
                ["variant", "run wall s: median (runs)", "first sample s", "CPU s (with children)"],
                rows,
                "lrrr",
            ),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backend", choices=("composite", "openai"), default="composite")
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    save(f"detector_process_{args.backend}", run(args), args.out)


if __name__ == "__main__":
    main()
