"""Near-duplicate search: PHashIndex (multi-index hashing) vs a brute-force numpy scan.

Run from the repository root:  .venv/bin/python bench/bench_dedup.py [--sizes 10000 100000]

Both sides answer the same queries over the same stored random 64-bit hashes, side by side in
one run: half the queries are fresh random hashes (almost always no match), half are stored
hashes with 1..r bits flipped (a near-duplicate is found).  Every answer of the index is
checked against the scan.  The table is printed and written to bench/results/dedup.md.
"""

from __future__ import annotations

import argparse
import functools
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.vision.dedup import PHashIndex  # noqa: E402


def brute_force_find(hashes: np.ndarray, keys: list[str], q: int, r: int) -> list[tuple[str, int]]:
    """The original script's approach, vectorised: popcount of XOR against every stored hash."""
    dist = np.bitwise_count(hashes ^ np.uint64(q))
    hit = np.flatnonzero(dist <= r)
    result = [(keys[i], int(dist[i])) for i in hit]
    result.sort(key=lambda kd: (kd[1], kd[0]))
    return result


def make_queries(rng: random.Random, stored: list[int], r: int, n: int) -> list[int]:
    queries = [rng.getrandbits(64) for _ in range(n // 2)]
    for _ in range(n - n // 2):
        h = stored[rng.randrange(len(stored))]
        for b in rng.sample(range(64), rng.randint(1, max(1, r))):
            h ^= 1 << b
        queries.append(h)
    rng.shuffle(queries)
    return queries


def per_query_us(fn, queries, repeats: int = 3) -> float:
    """Mean time per query of the fastest of ``repeats`` passes (the machine may be shared)."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for q in queries:
            fn(q)
        best = min(best, time.perf_counter() - t)
    return best / len(queries) * 1e6


def run(sizes: list[int], radii: list[int], seed: int) -> str:
    rows = []
    for n in sizes:
        rng = random.Random(seed + n)
        stored = [rng.getrandbits(64) for _ in range(n)]
        keys = [f"{i:07d}" for i in range(n)]

        t = time.perf_counter()
        array_hashes = np.array(stored, dtype=np.uint64)
        brute_build = time.perf_counter() - t

        t = time.perf_counter()
        one_by_one = PHashIndex()
        for h, k in zip(stored, keys, strict=True):
            one_by_one.add(h, k)
        add_build = time.perf_counter() - t
        del one_by_one

        for r in radii:
            t = time.perf_counter()
            index = PHashIndex(max_distance=r)
            index.add_many(array_hashes, keys)
            bulk_build = time.perf_counter() - t

            queries = make_queries(rng, stored, r, 4000)
            # the scan is slow at large sizes: fewer queries keep the run short
            brute_queries = queries[: max(100, min(len(queries), 40_000_000 // n))]
            for q in brute_queries[:200]:
                assert index.find(q) == brute_force_find(array_hashes, keys, q, r), q
            idx_us = per_query_us(index.find, queries)
            brute_us = per_query_us(
                functools.partial(brute_force_find, array_hashes, keys, r=r), brute_queries
            )
            rows.append(
                (
                    f"{n:,}",
                    r,
                    f"{idx_us:,.1f}",
                    f"{brute_us:,.1f}",
                    f"{brute_us / idx_us:,.1f}x",
                    f"{add_build:.2f} s / {bulk_build:.2f} s",
                    f"{brute_build:.3f} s",
                    f"{index.memory_bytes() / 2**20:,.1f} MiB",
                    f"{array_hashes.nbytes / 2**20:,.1f} MiB",
                )
            )
            del index
            print(f"done n={n:,} r={r}", file=sys.stderr)

    header = (
        "stored",
        "r",
        "index µs/query",
        "scan µs/query",
        "speed-up",
        "index build: add() / add_many()",
        "scan build",
        "index memory",
        "scan memory",
    )
    lines = [
        "# pHash near-duplicate search: PHashIndex vs brute-force scan",
        "",
        f"Random 64-bit hashes; 4,000 queries per row (half fresh, half stored hashes with "
        f"1..r bits flipped; the scan answers up to 100..4,000 of them), fastest of 3 passes; "
        f"the scan is numpy `bitwise_count(hashes ^ q) <= r`. "
        f"Python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.machine()}, one process, seed {seed}. "
        "Memory excludes the key strings (shared by both).",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--radii", type=int, nargs="+", default=[3, 7])
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "dedup.md", help="markdown file"
    )
    args = parser.parse_args()
    table = run(args.sizes, args.radii, args.seed)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
