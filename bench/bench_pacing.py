"""Pacing at an account's images-per-minute limit: shared token bucket vs plain fixed concurrency.

The fake OpenAI server on 127.0.0.1 enforces LIMIT images per minute (a bucket of ``--burst``
images refilled at LIMIT/min; 429 with Retry-After beyond it). ``--time-scale K`` makes a minute
last 60/K seconds, so the run takes about a minute of wall time. Three clients, one after the
other in this run, each with ``--workers`` concurrent workers for ``--seconds``:

* ``fixed concurrency``: the workers send back to back and, on a 429, sleep the Retry-After
  they were given and try again (what a plain async client does);
* ``pacer, --images-per-minute``: the real OpenAIBackend with a shared Pacer at LIMIT;
* ``pacer, headers only``: the same with no rate given: it learns the limit from
  ``x-ratelimit-limit-images``;
* ``pacer, 1.5 x the limit``: a rate set too high: the headers cap it, 429s slow it down.

Acceptance is simulated by a deterministic gate on the plan key (``--acceptance``), so the
number that matters is images served per minute; goal: accepted/min >= 95% of LIMIT x
acceptance with <= 2% of requests answered 429.

    .venv/bin/python bench/bench_pacing.py
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import openai  # noqa: E402
from _benchutil import machine_line, save, table  # noqa: E402
from fakes.openai_server import FakeOpenAIServer  # noqa: E402

from generator.backends.base import CallBudget, ImageRequest  # noqa: E402
from generator.backends.openai_backend import OpenAIBackend, _retry_after_seconds  # noqa: E402
from generator.backends.pacing import Pacer  # noqa: E402

KEY = "sk-bench-pacing-0000"


def _accepted(k: int, rate: float) -> bool:
    h = int.from_bytes(hashlib.sha256(f"bench/{k}".encode()).digest()[:4], "big")
    return h / 2**32 < rate


def _req(k: int) -> ImageRequest:
    return ImageRequest(
        prompt=f"bench prompt {k}",
        plan_key=f"origin/{k}",
        seed=1,
        attempt=0,
        num_people=1,
        backdrop="x",
        backdrop_kind="absurd",
    )


async def _fixed(srv: FakeOpenAIServer, workers: int, seconds: float) -> list[int]:
    client = openai.AsyncOpenAI(api_key=KEY, base_url=srv.base_url, max_retries=0, timeout=30)
    done: list[int] = []
    counter = iter(range(10**9))
    end = time.monotonic() + seconds

    async def worker() -> None:
        k = next(counter)
        while time.monotonic() < end:
            try:
                await client.images.generate(
                    model="gpt-image-2",
                    prompt=f"bench prompt {k}",
                    size="1024x1024",
                    quality="low",
                    n=1,
                )
            except openai.RateLimitError as exc:
                await asyncio.sleep(_retry_after_seconds(exc.response.headers) or 1.0)
                continue
            if time.monotonic() <= end:
                done.append(k)
            k = next(counter)

    await asyncio.gather(*(worker() for _ in range(workers)))
    await client.close()
    return done


async def _paced(
    srv: FakeOpenAIServer, workers: int, seconds: float, per_minute: float | None
) -> list[int]:
    backend = OpenAIBackend(
        api_key=KEY,
        base_url=srv.base_url,
        budget=CallBudget(None),
        max_retries=50,
        pacer=Pacer(per_minute),
        output_format="png",
    )
    done: list[int] = []
    counter = iter(range(10**9))
    end = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < end:
            k = next(counter)
            try:
                await asyncio.wait_for(backend.generate(_req(k)), max(0.01, end - time.monotonic()))
            except TimeoutError:
                return
            done.append(k)

    await asyncio.gather(*(worker() for _ in range(workers)))
    await backend.aclose()
    return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=60.0, help="images per minute (the tier)")
    ap.add_argument("--time-scale", type=float, default=6.0, help="a minute lasts 60/K s")
    ap.add_argument("--burst", type=float, default=2.0, help="server bucket size, images")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20.0, help="wall seconds per client")
    ap.add_argument("--latency", type=float, default=0.3, help="server seconds per image")
    ap.add_argument("--acceptance", type=float, default=0.8)
    args = ap.parse_args()
    scaled_minutes = args.seconds * args.time_scale / 60.0
    rows = []
    verdicts = []
    for label, run in (
        (
            "fixed concurrency, retry after Retry-After",
            lambda s: _fixed(s, args.workers, args.seconds),
        ),
        (
            f"pacer, --images-per-minute {args.limit:g}",
            lambda s: _paced(s, args.workers, args.seconds, args.limit * args.time_scale),
        ),
        (
            "pacer, limit from x-ratelimit headers only",
            lambda s: _paced(s, args.workers, args.seconds, None),
        ),
        (
            f"pacer, --images-per-minute {1.5 * args.limit:g} (above the real limit)",
            lambda s: _paced(s, args.workers, args.seconds, 1.5 * args.limit * args.time_scale),
        ),
    ):
        with FakeOpenAIServer(
            api_key=KEY,
            latency=args.latency,
            images_per_minute=args.limit,
            time_scale=args.time_scale,
            rate_burst=args.burst,
        ) as srv:
            done = asyncio.run(run(srv))
            requests = srv.generation_count
            limited = srv.rate_limited
        accepted = sum(_accepted(k, args.acceptance) for k in done)
        per_min = accepted / scaled_minutes
        goal = args.limit * args.acceptance
        share_429 = limited / requests if requests else 0.0
        ok = per_min >= 0.95 * goal and share_429 <= 0.02
        verdicts.append(ok)
        rows.append(
            [
                label,
                len(done),
                f"{len(done) / scaled_minutes:.1f}",
                f"{per_min:.1f}",
                f"{per_min / goal:.1%}",
                requests,
                f"{limited} ({share_429:.1%})",
                "yes" if ok else "no",
            ]
        )
    text = "\n".join(
        [
            "# Pacing at an images-per-minute limit (`bench/bench_pacing.py`)",
            "",
            machine_line(),
            "",
            f"Fake server limit {args.limit:g} images/min (bucket of {args.burst:g}), time scale "
            f"{args.time_scale:g} (a minute lasts {60 / args.time_scale:.1f} s), {args.workers} "
            f"workers, {args.seconds:g} s per client ({scaled_minutes:.1f} scaled minutes), "
            f"{args.latency:g} s per image, simulated acceptance {args.acceptance:.0%}. "
            f"Goal: accepted/min >= 95% of {args.limit:g} x {args.acceptance:.0%} = "
            f"{0.95 * args.limit * args.acceptance:.1f}, with <= 2% of requests answered 429.",
            "",
            table(
                [
                    "client",
                    "images",
                    "images/min",
                    "accepted/min",
                    "of limit x acceptance",
                    "requests",
                    "answered 429",
                    "goal met",
                ],
                rows,
            ),
            "",
        ]
    )
    save("pacing", text)


if __name__ == "__main__":
    main()
