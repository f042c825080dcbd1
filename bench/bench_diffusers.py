"""Images/s of the whole pipeline on the diffusers backend against the bare diffusers pipeline.

Run from the repository root (CPU; no download: a tiny random FluxPipeline is built first):

    .venv/bin/python bench/bench_diffusers.py [--sizes 128 256] [--batch-sizes 1 4] [--images 48]

For each image size, side by side in one process, at the same batch size (each of ``--batch-sizes``):

* bare: ``FluxPipeline.__call__`` on batches of that many prompts with one CPU generator
  per image (output ``np``), after one warm-up call; images / wall seconds of the calls.
* pipeline: ``fill_store`` with ``--backend diffusers`` on the same folder (``CONCURRENCY`` =
  batch size, so batches fill), ``MIN_FACES=0`` so that every noise image goes through the
  whole chain (MTCNN gate, crop, pHash dedup, JPEG, durable store writes), ``MAX_REGEN_ATTEMPTS=0``;
  images / the run's own seconds (``runs.jsonl``: from the pipeline's start, MTCNN's warm-up
  included, the model's load from disk excluded as for the bare side).

The bare side runs before and after the pipeline; the ratio uses the faster of the two.
torch runs one thread in both (``torch.set_num_threads(1)``, as the pipeline's MTCNN sets it).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._benchutil import machine_line, save, table  # noqa: E402


def bare_rate(folder: Path, size: int, batch: int, images: int) -> float:
    import torch
    from diffusers import DiffusionPipeline

    pipe = DiffusionPipeline.from_pretrained(str(folder), dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    prompts = [f"a nurse number {i} standing on the moon news photo" for i in range(images)]

    def call(i: int) -> None:
        gens = [torch.Generator("cpu").manual_seed(j) for j in range(i, i + batch)]
        pipe(
            prompt=prompts[i : i + batch],
            generator=gens,
            num_inference_steps=2,
            guidance_scale=0.0,
            width=size,
            height=size,
            max_sequence_length=32,
            output_type="np",
        )

    call(0)  # warm-up
    t0 = time.perf_counter()
    for i in range(0, images, batch):
        call(i)
    return images / (time.perf_counter() - t0)


def pipeline_rate(
    folder: Path, size: int, batch: int, images: int, work: Path
) -> tuple[float, dict]:
    from generator.config import load_config
    from generator.pipeline import fill_store

    per = images // 3
    out = work / f"DGM4-{size}"
    cfg = load_config(
        cli={
            "BACKEND": "diffusers",
            "DIFFUSERS_MODEL": str(folder),
            "DEVICE": "cpu",
            "DIFFUSERS_STEPS": 2,
            "DIFFUSERS_SIZE": f"{size}x{size}",
            "BATCH_SIZE": batch,
            "CONCURRENCY": 2 * batch,
            "MIN_FACES": 0,
            "MAX_REGEN_ATTEMPTS": 0,
            "POST_W": size,
            "POST_H": (size * 5 // 8) // 16 * 16,
            "OUT_ROOT": str(out),
            "TARGET_LITERAL": images - 2 * per,
            "TARGET_INV_EMO": per,
            "TARGET_IRRELEV": per,
        },
        env={},
    )
    fill_store(cfg, progress=False)
    run = json.loads((out / "runs.jsonl").read_text().splitlines()[-1])
    return run["images"] / run["seconds"], run


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--images", type=int, default=48)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from tests.tiny_diffusers import build_tiny_flux

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = build_tiny_flux(work / "tiny-flux")
        for size in args.sizes:
            for batch in args.batch_sizes:
                b1 = bare_rate(folder, size, batch, args.images)
                ours, run = pipeline_rate(folder, size, batch, args.images, work / f"b{batch}")
                b2 = bare_rate(folder, size, batch, args.images)
                bare = max(b1, b2)
                rows.append(
                    [
                        f"{size}x{size}",
                        batch,
                        f"{b1:.2f} / {b2:.2f}",
                        f"{ours:.2f}",
                        f"{ours / bare:.1%}",
                        run["accepted"],
                        run["pipeline_calls"],
                        f"{run['device_seconds']:.1f}",
                    ]
                )
    text = "\n".join(
        [
            "# diffusers backend: pipeline vs bare diffusers (CPU, tiny random FluxPipeline, 2 steps)",
            "",
            f"Machine: {machine_line()}",
            f"Command: `.venv/bin/python bench/bench_diffusers.py --sizes {' '.join(map(str, args.sizes))} "
            f"--batch-sizes {' '.join(map(str, args.batch_sizes))} --images {args.images}`",
            "",
            table(
                [
                    "size",
                    "batch",
                    "bare images/s (before / after)",
                    "pipeline images/s",
                    "pipeline / bare",
                    "stored",
                    "pipeline calls",
                    "device-seconds",
                ],
                rows,
            ),
            "",
            "GPU figures: unmeasured (no GPU was available where this ran).",
        ]
    )
    save("diffusers", text)


if __name__ == "__main__":
    main()
