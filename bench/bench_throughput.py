"""Accepted samples per second of the real pipeline against a fake OpenAI server with latency.

Run from the repository root:

    .venv/bin/python bench/bench_throughput.py [--latency 1.0] [--concurrency 1 4 16]
        [--mult 4 --extra 4] [--detect-size 512]

Each run: a fresh store in a temporary folder, the real ``Pipeline`` (as ``fill_store`` builds
it) with the real ``OpenAIBackend`` (api_key "sk-bench") talking HTTP to ``FakeOpenAIServer``
(``images="composite"``, ``latency=L``) on 127.0.0.1, ``CONCURRENCY=C``, progress off, targets
summing to ``mult x C + extra`` samples (split over the three buckets).

The fake server draws its composite picture on first sight of a prompt, on the machine that runs
the pipeline; a real API draws remotely.  So the pictures for the plan's prompts are drawn
before the timed run (the server's own cache is filled through its own drawing method), and
the server's CPU per answer (JSON encoding, socket writes) is measured and subtracted where the
report says "client".

Reported per C:

* accepted/s end to end (store open excluded; Pipeline construction and run included) and in
  steady state: the commits are ordered, and with C slots they come in waves one L apart, so
  the steady rate is measured between the first commit and the commit m x C later (m whole
  waves; the last, partly filled wave and the ramp are left out);
* ideal = C / L x acceptance rate (accepted / plan items attempted), and steady / ideal;
* calls, the largest number of requests the server had in flight at once, and the mean number
  in flight over the steady window;
* CPU seconds per image: the vision stages (Vision.process in the worker threads), and every
  client-side CPU second of the process (pipeline + OpenAI client + decode) per call, from which
  CPU capacity = cores / client CPU per image.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchutil import (  # noqa: E402
    ROOT,
    code_line,
    machine_busy,
    machine_line,
    median,
    save,
    table,
)

sys.path.insert(0, str(ROOT))


def split_targets(total: int) -> tuple[int, int, int]:
    base, rest = divmod(total, 3)
    return tuple(base + (1 if i < rest else 0) for i in range(3))  # type: ignore[return-value]


class InflightSampler:
    """Samples the server's in-flight count every ``period`` seconds, in a thread."""

    def __init__(self, srv, period: float = 0.005) -> None:
        self.srv, self.period = srv, period
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), self.srv.in_flight))
            self._stop.wait(self.period)

    def __enter__(self) -> InflightSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def mean(self, t0: float, t1: float) -> float:
        xs = [n for t, n in self.samples if t0 <= t <= t1]
        return sum(xs) / len(xs) if xs else float("nan")


def one_run(srv, conc: int, total: int, args, cities) -> dict:
    from generator.backends.base import CallBudget
    from generator.backends.openai_backend import OpenAIBackend
    from generator.config import load_config
    from generator.pipeline import Pipeline
    from generator.store import Store

    a, b, c = split_targets(total)
    tmp = Path(tempfile.mkdtemp(prefix="dgm4plus-bench-tp-"))
    try:
        cfg = load_config(
            cli={
                "BACKEND": "openai",
                "OUT_ROOT": str(tmp / "DGM4"),
                "SEED": args.seed,
                "CONCURRENCY": conc,
                "TARGET_LITERAL": a,
                "TARGET_INV_EMO": b,
                "TARGET_IRRELEV": c,
                "DETECT_SIZE": args.detect_size,
                "STRICT_NO_TEXT": args.ocr,
            },
            env={},
        )
        budget = CallBudget(cfg.MAX_IMAGE_CALLS)
        backend = OpenAIBackend(
            api_key="sk-bench",
            base_url=srv.base_url,
            model=cfg.GEN_MODEL,
            size=cfg.GEN_SIZE,
            quality=cfg.GEN_QUALITY,
            budget=budget,
            max_retries=cfg.MAX_RETRIES,
            timeout=cfg.REQUEST_TIMEOUT,
        )
        store, _rec = Store.open(cfg.OUT_ROOT, cfg)

        commits: list[tuple[float, bool]] = []  # (time, accepted)
        append_accepted, append_rejected = store.append_accepted, store.append_rejected

        def on_accepted(record, jpeg):
            append_accepted(record, jpeg)
            commits.append((time.perf_counter(), True))

        def on_rejected(entry):
            append_rejected(entry)
            commits.append((time.perf_counter(), False))

        store.append_accepted, store.append_rejected = on_accepted, on_rejected

        vision_cpu: list[tuple[int, float]] = []  # (worker thread, CPU seconds) per call
        lock = threading.Lock()

        async def go() -> tuple:
            pipe = Pipeline(cfg, backend, budget, store, cities, progress=False)
            process = pipe.vision.process

            def timed_process(*args):
                t = time.thread_time()
                try:
                    return process(*args)
                finally:
                    with lock:
                        vision_cpu.append((threading.get_ident(), time.thread_time() - t))

            pipe.vision.process = timed_process
            try:
                stats = await pipe.run()
            finally:
                await backend.aclose()
            return stats

        srv.max_in_flight = 0
        srv.server_cpu = 0.0
        calls0 = srv.generation_count
        cpu0 = time.process_time()
        busy0, _ = machine_busy()
        with InflightSampler(srv) as sampler:
            t0 = time.perf_counter()
            stats = asyncio.run(go())
            t1 = time.perf_counter()
        cpu = time.process_time() - cpu0
        busy = machine_busy()[0] - busy0
        calls = srv.generation_count - calls0
        items = stats.accepted + sum(stats.rejected.values())
        # steady state: m whole waves of C commits after the first commit
        times = [t for t, _ in commits]
        m = (len(times) - 1) // conc
        if m >= 1:
            w0, w1 = times[0], times[m * conc]
            acc_in_window = sum(ok for _, ok in commits[: m * conc])
            steady = acc_in_window / (w1 - w0)
            inflight_mean = sampler.mean(w0, w1)
            window = f"commits 0..{m * conc} ({w1 - w0:.1f} s)"
        else:
            steady, inflight_mean, window = float("nan"), float("nan"), "too few commits"
        # Each worker thread builds its own MTCNN on its first call: split that start-up off.
        firsts, rest = {}, []
        for tid, sec in vision_cpu:
            if tid in firsts:
                rest.append(sec)
            else:
                firsts[tid] = sec
        per_image = median(rest) if rest else median(list(firsts.values()))
        startup = sum(max(0.0, f - per_image) for f in firsts.values())
        return {
            "C": conc,
            "total": total,
            "accepted": stats.accepted,
            "items": items,
            "rejected": dict(stats.rejected),
            "calls": calls,
            "budget_calls": stats.calls,
            "wall": t1 - t0,
            "cores_used": cpu / (t1 - t0),
            "others": max(0.0, busy - cpu) / (t1 - t0),
            "first_commit": times[0] - t0 if times else float("nan"),
            "end_to_end": stats.accepted / (t1 - t0),
            "steady": steady,
            "window": window,
            "max_in_flight": srv.max_in_flight,
            "inflight_mean": inflight_mean,
            "vision_cpu": per_image,
            "startup": startup / max(1, len(firsts)),
            "workers": len(firsts),
            "client_cpu": (cpu - srv.server_cpu - startup) / max(1, calls),
            "server_cpu": srv.server_cpu / max(1, calls),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prewarm(srv, args, totals: list[int], cities) -> float:
    """Draw the pictures of every prompt the runs may ask for, before any timing."""
    from generator.config import BUCKETS, load_config
    from generator.plan import plan_item

    cfg = load_config(cli={"BACKEND": "openai", "SEED": args.seed}, env={})
    t0 = time.perf_counter()
    need = split_targets(max(totals))
    for bucket, n in zip(BUCKETS, need, strict=True):
        for k in range(int(n * 1.5) + 4):  # slack for rejected items
            srv._image_b64(plan_item(cfg, cities, bucket, k).prompt)
    return time.perf_counter() - t0


def instrument_server(srv) -> None:
    """Count the fake server's CPU per answer (it shares this process and its cores)."""
    answer = srv._answer
    lock = threading.Lock()

    def timed(h, body, fault):
        t = time.thread_time()
        try:
            return answer(h, body, fault)
        finally:
            with lock:
                srv.server_cpu += time.thread_time() - t

    srv.server_cpu = 0.0
    srv._answer = timed


def run(args: argparse.Namespace) -> str:
    import torch

    torch.set_num_threads(1)
    from generator.text.datelines import load_cities
    from tests.fakes.openai_server import FakeOpenAIServer

    cities = load_cities(None)
    # One-time process start-up (imports of facenet_pytorch / torchvision, first torch ops) is
    # paid here, not by the first timed run.
    from PIL import Image

    from generator.vision.faces import FaceDetector

    FaceDetector(detect_size=512).detect(Image.new("RGB", (256, 256), (90, 120, 150)))
    totals = [args.mult * c + args.extra for c in args.concurrency]
    rows, results = [], []
    with FakeOpenAIServer(images="composite", latency=args.latency) as srv:
        instrument_server(srv)
        warm_s = prewarm(srv, args, totals, cities)
        print(f"pre-drew the server's pictures in {warm_s:.0f} s", file=sys.stderr)
        for conc, total in zip(args.concurrency, totals, strict=True):
            r = one_run(srv, conc, total, args, cities)
            results.append(r)
            print(f"C={conc}: {r['accepted']} accepted in {r['wall']:.1f} s", file=sys.stderr)
    cores = os.cpu_count() or 1
    for r in results:
        acc_rate = r["accepted"] / r["items"] if r["items"] else float("nan")
        ideal = r["C"] / args.latency * acc_rate
        capacity = cores / r["client_cpu"]
        rej = ", ".join(f"{k} {v}" for k, v in r["rejected"].items() if v) or "none"
        rows.append(
            [
                r["C"],
                f"{r['accepted']}/{r['items']} ({rej})",
                r["calls"],
                f"{r['steady']:.2f}",
                f"{r['end_to_end']:.2f}",
                f"{ideal:.2f}",
                f"{r['steady'] / ideal:.0%}",
                f"{r['end_to_end'] / ideal:.0%}",
                r["max_in_flight"],
                f"{r['inflight_mean']:.1f}",
                f"{r['vision_cpu'] * 1000:.0f}",
                f"{r['startup'] * 1000:.0f} x {r['workers']}",
                f"{r['client_cpu'] * 1000:.0f}",
                f"{capacity:.1f}",
                f"{r['cores_used']:.2f} / {r['others']:.2f}",
                f"{r['wall']:.1f} s; {r['window']}",
            ]
        )
    header = [
        "C",
        "accepted/items (rejected)",
        "calls",
        "steady accepted/s",
        "end-to-end accepted/s",
        "ideal C/L x acc",
        "steady/ideal",
        "end-to-end/ideal",
        "max in flight",
        "mean in flight (steady)",
        "vision CPU ms/img (median)",
        "MTCNN start-up ms x workers",
        "client CPU ms/call",
        "CPU capacity img/s",
        "cores used: this run / other processes",
        "wall; steady window",
    ]
    server_ms = sum(r["server_cpu"] for r in results) / len(results) * 1000
    lines = [
        "# Pipeline throughput: real OpenAIBackend vs a fake server with latency",
        "",
        f"FakeOpenAIServer(images='composite', latency={args.latency} s) on 127.0.0.1, real "
        f"`Pipeline` + `OpenAIBackend` (HTTP, api_key sk-bench), fresh store per run, "
        f"DETECT_SIZE={args.detect_size}, STRICT_NO_TEXT={args.ocr}, targets = {args.mult} x C + "
        f"{args.extra} samples over the three buckets, seed {args.seed}, progress off. "
        f"The server's pictures were drawn before timing ({warm_s:.0f} s); its CPU per answer "
        f"(~{server_ms:.0f} ms, JSON + socket) is left out of 'client CPU'. {machine_line()}; "
        f"{code_line()}.",
        "",
        table(header, rows, "r" + "l" + "r" * 13 + "l"),
        "",
        "Steady accepted/s: accepted commits between the first commit and the commit m x C "
        "later, over that time (whole waves only: the ramp before the first answer and the "
        "partly filled last wave are left out). End to end: accepted / wall time of "
        "`Pipeline(...)` + `run()`. Ideal: C / L x acceptance rate (accepted / plan items "
        "attempted). Vision CPU: `Vision.process` (decode, MTCNN, gate, crop, OCR if on, pHash, "
        "JPEG) per call, thread CPU, median; each worker thread builds its own MTCNN on its "
        "first call (start-up column: that call's extra CPU). Client CPU: all process CPU minus "
        f"the fake server's and the MTCNN start-up, per call. CPU capacity = {cores} cores / "
        "client CPU per call. Cores used: this process's CPU seconds / wall seconds of the run, "
        "and the machine's other busy CPU (from /proc/stat) over the same time: the machine is "
        "shared, so a CPU-bound run gets only what the others leave.",
        "",
        "## Where the CPU becomes the limit",
        "",
        *note(results, args, cores),
        "",
    ]
    return "\n".join(lines)


def note(results: list[dict], args: argparse.Namespace, cores: int) -> list[str]:
    """The reading of the table, with its numbers."""
    client = median([r["client_cpu"] for r in results])
    vision = median([r["vision_cpu"] for r in results])
    acc = sum(r["accepted"] for r in results) / max(1, sum(r["items"] for r in results))
    capacity = cores / client
    c_star = capacity * args.latency / acc
    out = [
        f"- Client CPU per image is about {client * 1000:.0f} ms ({vision * 1000:.0f} ms of it in "
        f"the vision stages, the rest HTTP/JSON, base64 + PIL verify in the backend, commit), "
        f"so {cores} cores process at most ~{capacity:.1f} images/s. With L = {args.latency:g} s "
        f"and acceptance {acc:.0%}, the requests ask for C / L x acc images/s: the CPU is the "
        f"limit from C ~ {c_star:.0f} upward (C / L > {capacity:.1f} / acc).",
    ]
    for r in results:
        acc_r = r["accepted"] / r["items"] if r["items"] else float("nan")
        ideal = r["C"] / args.latency * acc_r
        left = max(0.0, cores - r["others"])
        avail = left / r["client_cpu"]
        bound = "CPU-bound" if ideal > 0.9 * capacity else "latency-bound"
        out.append(
            f"- C={r['C']} ({bound}: asks {ideal:.1f}/s, {cores}-core capacity {capacity:.1f}/s): "
            f"steady {r['steady']:.2f}/s = {r['steady'] / ideal:.0%} of ideal; the server had "
            f"{r['inflight_mean']:.1f} of {r['C']} requests in flight on average "
            f"({r['inflight_mean'] / r['C']:.0%}). Other processes used {r['others']:.2f} "
            f"cores meanwhile (this run {r['cores_used']:.2f}); the {left:.2f} cores they left "
            f"allow ~{avail:.1f} images/s."
        )
    out.append(
        "- Below the CPU limit, steady / ideal is bounded by the share of the C slots that "
        "have a request at the server (mean in flight / C): any time a slot spends after its "
        "answer arrived (decode, vision, commit) or before its next request leaves is lost. "
        "Above it, work queues for the CPU worker threads and the server sees fewer requests "
        "than C."
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per request (L)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--mult", type=int, default=4, help="targets = mult x C + extra")
    parser.add_argument("--extra", type=int, default=4)
    parser.add_argument("--detect-size", default="512", help="DETECT_SIZE knob ('none': full)")
    parser.add_argument("--ocr", action="store_true", help="STRICT_NO_TEXT on (tesseract)")
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    save("throughput", run(args), args.out)


if __name__ == "__main__":
    main()
