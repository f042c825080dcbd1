"""Start-up and OCR cost of a run, the code before the pipeline restructure against after it.

Run from the repository root:

    .venv/bin/python bench/bench_startup_ocr.py [--baseline REV] [--candidate REV|DIR]
        [--latency 1.0] [--repeats 3] [--ocr-samples 24]

Both trees run in the same session, interleaved (baseline, candidate, baseline, ...), each in
its own Python process with ``PYTHONPATH`` set to a copy of the tree that ``git archive REV``
exports into a temporary folder (``--candidate DIR`` uses that folder as it is). The baseline
defaults to the parent of the first commit whose subject starts with "pipeline stages:", the
candidate to HEAD. Each tree talks to its own ``FakeOpenAIServer(images="composite",
latency=L)`` (from its own tests/fakes, in a process of its own, on 127.0.0.1), whose pictures
are drawn before any timing; each tree makes one untimed run first (the tree's .pyc files, the
OS file cache).

Measured:

* time to the first accepted sample: ``dgm4plus generate --backend openai`` (the CLI, real
  ``openai`` client) with 2 + 2 + 2 targets at CONCURRENCY 4, from the process start to the
  first line of metadata.jsonl (polled every 5 ms), and the whole run's wall time;
* client CPU per accepted sample with STRICT_NO_TEXT: one ``fill_store`` run (bench/_fill_child.py)
  of ``--ocr-samples`` targets at CONCURRENCY 4, CPU of the client process plus the tesseract
  processes it ran, after torch / MTCNN / pytesseract were imported (start-up excluded in both).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchutil import ROOT, machine_line, median, save, table  # noqa: E402

CHILD = Path(__file__).resolve().parent / "_fill_child.py"
SEED = 4242
KEY = "sk-bench"


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def default_baseline() -> str:
    shas = git("log", "--format=%H", "--grep=^pipeline stages:").splitlines()
    if not shas:
        raise SystemExit("no commit starting 'pipeline stages:' found: pass --baseline REV")
    return shas[-1] + "^"


def export(rev: str, into: Path) -> tuple[Path, str]:
    """``git archive rev`` unpacked into ``into``; returns the folder and the short sha."""
    if Path(rev).is_dir():
        return Path(rev).resolve(), f"folder {rev}"
    sha = git("rev-parse", "--short", rev)
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", sha], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into, sha


def child_env(tree: Path, base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DGM4PLUS_", "OPENAI_"))}
    env.update(PYTHONPATH=str(tree), OPENAI_API_KEY=KEY, OPENAI_BASE_URL=base_url)
    return env


def first_sample(tree: Path, base_url: str, work: Path) -> dict[str, float]:
    """One CLI run: seconds from the process start to the first accepted record, and in all."""
    out = work / "DGM4"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "generator.cli",
        "generate",
        "--backend",
        "openai",
        "--out",
        str(out),
        "--seed",
        str(SEED),
        "--origin",
        "2",
        "--text-attribute",
        "2",
        "--text-swap",
        "2",
        "--concurrency",
        "4",
    ]
    meta = out / "metadata.jsonl"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=tree,
        env=child_env(tree, base_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = first_cpu = float("nan")
    while proc.poll() is None:
        if first != first and meta.exists() and b"\n" in meta.read_bytes():
            first = time.perf_counter() - t0
            first_cpu = process_cpu(proc.pid)
        time.sleep(0.005)
    total = time.perf_counter() - t0
    err = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{tree}: generate exited {proc.returncode}:\n{err}")
    if first != first:  # finished between two polls
        first = total
    return {"first": first, "first_cpu": first_cpu, "total": total}


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ocr_cpu(tree: Path, base_url: str, work: Path, n: int) -> dict[str, float]:
    out = work / "DGM4"
    shutil.rmtree(out, ignore_errors=True)
    a, b = divmod(n, 3)
    targets = [a + (1 if i < b else 0) for i in range(3)]
    proc = subprocess.run(
        [sys.executable, str(CHILD), str(out), str(SEED), "4", *map(str, targets), "1"],
        cwd=tree,
        env=child_env(tree, base_url),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{tree}: fill_store exited {proc.returncode}:\n{proc.stderr}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row["cpu_per_sample"] = row["cpu"] / max(1, row["accepted"])
    row["run_cpu_per_sample"] = row["run_cpu"] / max(1, row["accepted"])
    return row


#: The fake API of one tree, run in its own process: started, its pictures drawn for the first
#: plan items of every class (that tree's own plan, so its own prompts), then its URL printed;
#: it serves until its stdin closes.
SERVER = """
import sys
from generator.config import BUCKETS, load_config
from generator.plan import plan_item
from generator.text.datelines import load_cities
from tests.fakes.openai_server import FakeOpenAIServer

latency, n, seed = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
srv = FakeOpenAIServer(images="composite", latency=latency).start()
cfg = load_config(cli={"BACKEND": "openai", "SEED": seed}, env={})
cities = load_cities(None)
for bucket in BUCKETS:
    for k in range(n // 3 + 8):
        srv._image_b64(plan_item(cfg, cities, bucket, k).prompt)
print(srv.base_url, flush=True)
sys.stdin.read()
srv.stop()
"""


@contextlib.contextmanager
def tree_server(tree: Path, latency: float, n: int) -> Iterator[str]:
    """The tree's own FakeOpenAIServer in a subprocess; yields its base URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DGM4PLUS_", "OPENAI_"))}
    env["PYTHONPATH"] = str(tree)
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(latency), str(n), str(SEED)],
        cwd=tree,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    url = proc.stdout.readline().strip()
    if not url:
        raise SystemExit(f"{tree}: the fake server did not start")
    try:
        yield url
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def run(args: argparse.Namespace) -> str:
    tmp = Path(tempfile.mkdtemp(prefix="dgm4plus-bench-startup-"))
    try:
        trees = {
            "baseline": export(args.baseline or default_baseline(), tmp / "baseline"),
            "candidate": export(args.candidate, tmp / "candidate"),
        }
        results: dict[str, dict[str, list[dict[str, float]]]] = {
            name: {"first": [], "ocr": []} for name in trees
        }
        # Each tree talks to its own fake API (the API its tests define), both at latency L.
        with contextlib.ExitStack() as stack:
            urls = {
                name: stack.enter_context(tree_server(tree, args.latency, args.ocr_samples))
                for name, (tree, _) in trees.items()
            }
            for name, (tree, _) in trees.items():  # untimed: caches, .pyc files
                first_sample(tree, urls[name], tmp / f"warm-{name}")
            for rep in range(args.repeats):
                for name, (tree, _) in trees.items():
                    r = first_sample(tree, urls[name], tmp / f"run-{name}")
                    results[name]["first"].append(r)
                    print(
                        f"[{rep}] {name}: first sample {r['first']:.2f} s "
                        f"({r['first_cpu']:.2f} CPU s), run {r['total']:.2f} s",
                        file=sys.stderr,
                    )
                for name, (tree, _) in trees.items():
                    o = ocr_cpu(tree, urls[name], tmp / f"ocr-{name}", args.ocr_samples)
                    results[name]["ocr"].append(o)
                    print(
                        f"[{rep}] {name}: STRICT_NO_TEXT {o['run_cpu_per_sample'] * 1000:.0f} ms "
                        f"CPU per sample in Pipeline.run, {o['cpu_per_sample'] * 1000:.0f} in "
                        f"fill_store ({o['accepted']} accepted, {o['calls']} calls)",
                        file=sys.stderr,
                    )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return report(args, trees, results)


def report(args, trees, results) -> str:
    def med(name: str, part: str, key: str) -> float:
        return median([r[key] for r in results[name][part]])

    rows = []
    for name, (_, label) in trees.items():
        firsts = ", ".join(f"{r['first']:.2f}" for r in results[name]["first"])
        cpus = ", ".join(f"{r['run_cpu_per_sample'] * 1000:.0f}" for r in results[name]["ocr"])
        acc = results[name]["ocr"][0]
        rows.append(
            [
                f"{name} ({label})",
                f"{med(name, 'first', 'first'):.2f} ({firsts})",
                f"{med(name, 'first', 'first_cpu'):.2f}",
                f"{med(name, 'first', 'total'):.2f}",
                f"{med(name, 'ocr', 'run_cpu_per_sample') * 1000:.0f} ({cpus})",
                f"{med(name, 'ocr', 'cpu_per_sample') * 1000:.0f}",
                f"{acc['accepted']} / {acc['calls']}",
            ]
        )
    ratio_first = med("candidate", "first", "first") / med("baseline", "first", "first")
    ratio_first_cpu = med("candidate", "first", "first_cpu") / med("baseline", "first", "first_cpu")
    ratio_cpu = med("candidate", "ocr", "run_cpu_per_sample") / med(
        "baseline", "ocr", "run_cpu_per_sample"
    )
    ratio_fill = med("candidate", "ocr", "cpu_per_sample") / med(
        "baseline", "ocr", "cpu_per_sample"
    )
    header = [
        "code",
        "first accepted sample, s: median (runs)",
        "CPU s used by then",
        "6-sample run, s",
        "STRICT_NO_TEXT client CPU ms / accepted sample, Pipeline.run: median (runs)",
        "same, all of fill_store",
        "accepted / calls (OCR run)",
    ]
    return "\n".join(
        [
            "# Start-up and OCR: before and after the pipeline restructure",
            "",
            f"Each tree against its own FakeOpenAIServer(images='composite', latency="
            f"{args.latency} s) on 127.0.0.1, real `openai` client; {args.repeats} interleaved runs per tree, seed {SEED}, CONCURRENCY 4. "
            f"First sample: `dgm4plus generate --backend openai` with 2 + 2 + 2 targets, process "
            f"start to the first metadata.jsonl line. OCR: `fill_store` with STRICT_NO_TEXT and "
            f"{args.ocr_samples} targets, client + tesseract CPU after the imports, in "
            f"`Pipeline.run` and in all of `fill_store` (which adds fixed costs: the city table, "
            f"the store's checks). {machine_line()}.",
            "",
            table(header, rows, "lrrrrrr"),
            "",
            f"Candidate / baseline: first sample {ratio_first:.2f}x (CPU used by then "
            f"{ratio_first_cpu:.2f}x), STRICT_NO_TEXT CPU per accepted sample {ratio_cpu:.2f}x "
            f"in Pipeline.run ({ratio_fill:.2f}x over fill_store). "
            "'CPU s used by then': user + system seconds of the generate process when its first "
            "sample appeared (from /proc): on a shared machine the wall time also counts the "
            "waits for a core.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--baseline",
        default=None,
        help="git revision of the code before (default: parent of the first "
        "'pipeline stages:' commit)",
    )
    parser.add_argument("--candidate", default="HEAD", help="git revision, or a source folder")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per request (L)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ocr-samples", type=int, default=24)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    save("startup_ocr", run(args), args.out)


if __name__ == "__main__":
    main()
