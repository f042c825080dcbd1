"""Child process of bench_startup_ocr.py (not a benchmark itself).

Runs one ``fill_store`` of the source tree on ``PYTHONPATH`` (the working directory) against the
OpenAI endpoint in ``OPENAI_BASE_URL`` and prints one JSON line: wall seconds, CPU seconds of
this process and of the processes it waited for (tesseract) over ``fill_store`` and over
``Pipeline.run`` alone, accepted samples and calls.
torch, MTCNN, pytesseract and imagehash are imported (and MTCNN run once) before the clock
starts, so both trees are measured per sample, without their one-time start-up.

    python bench/_fill_child.py OUT SEED CONCURRENCY ORIGIN TEXT_ATTRIBUTE TEXT_SWAP STRICT
"""

from __future__ import annotations

import json
import resource
import sys
import time


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    out, seed, conc, a, b, c, strict = sys.argv[1:8]
    import imagehash  # noqa: F401 - start-up paid before the clock
    import pytesseract  # noqa: F401
    from PIL import Image

    from generator.vision.faces import FaceDetector

    FaceDetector(detect_size=512).detect(Image.new("RGB", (256, 256), (90, 120, 150)))

    from generator import pipeline
    from generator.config import load_config
    from generator.pipeline import fill_store

    # CPU of Pipeline.run alone too: fill_store's fixed costs (city table, store checks) differ
    # between trees and are start-up, not per sample.
    marks: dict[str, float] = {}
    run = pipeline.Pipeline.run

    async def timed_run(self):  # type: ignore[no-untyped-def]
        marks["cpu0"] = cpu_seconds()
        try:
            return await run(self)
        finally:
            marks["cpu1"] = cpu_seconds()

    pipeline.Pipeline.run = timed_run  # type: ignore[method-assign]

    cfg = load_config(
        cli={
            "BACKEND": "openai",
            "OUT_ROOT": out,
            "SEED": int(seed),
            "CONCURRENCY": int(conc),
            "TARGET_LITERAL": int(a),
            "TARGET_INV_EMO": int(b),
            "TARGET_IRRELEV": int(c),
            "STRICT_NO_TEXT": strict == "1",
        },
        env={},
    )
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    stats = fill_store(cfg, progress=False)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    run_cpu = marks["cpu1"] - marks["cpu0"]
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "run_cpu": run_cpu,
                "accepted": stats.accepted,
                "calls": stats.calls,
            }
        )
    )


if __name__ == "__main__":
    main()
