"""Images/s of the whole pipeline on the diffusers backend against the bare diffusers pipeline.

Run from the repository root (CPU; no download: a tiny random FluxPipeline is built first):

    .venv/bin/python bench/bench_diffusers.py [--sizes 128 256] [--batch-sizes 1 4] [--images 48] [--repeat 3]

For each image size, side by side in one process, at the same batch size (each of ``--batch-sizes``):

* bare: ``FluxPipeline.__call__`` on batches of that many prompts with one CPU generator
  per image (output ``np``), after one warm-up call; images / wall seconds of the calls.
* pipeline: ``fill_store`` with ``--backend diffusers`` on the same folder (``CONCURRENCY`` =
  batch size, so batches fill), ``MIN_FACES=0`` so that every noise image goes through the
  whole chain (MTCNN gate, crop, pHash dedup, JPEG, durable store writes), ``MAX_REGEN_ATTEMPTS=0``;
  images / the run's own seconds (``runs.jsonl``: from the pipeline's start, MTCNN's warm-up
  included, the model's load from disk excluded as for the bare side).

* backend alone: the diffusers backend's ``generate`` for every prompt at once (batched as in
  the pipeline, per-image generators, per-image model parts on the CPU, PNG encoding), no
  vision stage and no store: where the pipeline's cost goes.

The three run interleaved ``--repeat`` times; the table gives medians (and every bare rate).
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

from bench._benchutil import machine_line, median, save, table  # noqa: E402


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


def backend_rate(folder: Path, size: int, batch: int, images: int) -> float:
    """The diffusers backend alone (per-image generators, per-image model parts on the CPU,
    PNG encoding), requests gathered into batches; no vision stage, no store."""
    import asyncio

    from generator.backends.base import CallBudget, ImageRequest
    from generator.backends.diffusers_backend import DiffusersBackend

    backend = DiffusersBackend(
        budget=CallBudget(None),
        model=str(folder),
        device="cpu",
        steps=2,
        size=(size, size),
        batch_size=batch,
    )
    reqs = [
        ImageRequest(
            prompt=f"a nurse number {i} standing on the moon news photo",
            plan_key=f"origin/{i}",
            seed=1,
            attempt=0,
            num_people=1,
            backdrop="moon",
            backdrop_kind="absurd",
        )
        for i in range(images)
    ]

    async def go() -> float:
        await backend.generate(reqs[0])  # warm-up
        t0 = time.perf_counter()
        await asyncio.gather(*(backend.generate(r) for r in reqs))
        elapsed = time.perf_counter() - t0
        await backend.aclose()
        return images / elapsed

    return asyncio.run(go())


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
    ap.add_argument("--repeat", type=int, default=3)
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
                bare, alone, ours = [], [], []
                run: dict = {}
                for rep in range(args.repeat):  # interleaved, so drifting load hits all three
                    bare.append(bare_rate(folder, size, batch, args.images))
                    alone.append(backend_rate(folder, size, batch, args.images))
                    rate, run = pipeline_rate(
                        folder, size, batch, args.images, work / f"b{batch}r{rep}"
                    )
                    ours.append(rate)
                b, a, o = median(bare), median(alone), median(ours)
                rows.append(
                    [
                        f"{size}x{size}",
                        batch,
                        f"{b:.2f}",
                        f"{a:.2f} ({a / b:.0%})",
                        f"{o:.2f}",
                        f"**{o / b:.1%}**",
                        " / ".join(f"{x:.2f}" for x in bare),
                        run["accepted"],
                        run["pipeline_calls"],
                    ]
                )
    text = "\n".join(
        [
            "# diffusers backend: pipeline vs bare diffusers (CPU, tiny random FluxPipeline, 2 steps)",
            "",
            f"Machine: {machine_line()}",
            f"Command: `.venv/bin/python bench/bench_diffusers.py --sizes {' '.join(map(str, args.sizes))} "
            f"--batch-sizes {' '.join(map(str, args.batch_sizes))} --images {args.images} "
            f"--repeat {args.repeat}`",
            "",
            table(
                [
                    "size",
                    "batch",
                    "bare images/s",
                    "backend alone (vs bare)",
                    "pipeline images/s",
                    "pipeline / bare",
                    "bare runs",
                    "stored (last run)",
                    "pipeline calls (last run)",
                ],
                rows,
            ),
            "",
            f"Medians of {args.repeat} interleaved repetitions of bare, backend alone and pipeline.",
            "GPU figures: unmeasured (no GPU was available where this ran).",
        ]
    )
    save("diffusers", text)


if __name__ == "__main__":
    main()
