"""Benchmark: DGM4Plus builder vs. the `datasets` ImageFolder loader, and the Parquet export.

Both loaders prepare the same N JPEGs with the same metadata, side by side in one run, each
into a fresh cache, repeated and interleaved (the median is reported):

* ``DGM4Plus(config_name="all").download_and_prepare()`` reads the store's ``metadata.jsonl``,
  checks every record and embeds each JPEG's bytes in the Arrow cache;
* ``load_dataset("imagefolder", data_dir=...)`` reads a ``metadata.jsonl`` of ``file_name`` plus
  the same fields (images hard-linked from the store, so the bytes on disk are the same files).

Then the export: wall time of ``export_dataset`` (four configs, card, contact sheet), its size on
disk, and the time ``load_dataset(<export>, "all")`` takes to load it into a fresh cache.

    .venv/bin/python bench/bench_builder.py            # N=600
    .venv/bin/python bench/bench_builder.py --n 3000 --repeats 5

Prints a markdown table and writes it to ``bench/results/builder.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import datasets  # noqa: E402

from dgm4plus import DGM4Plus  # noqa: E402
from generator import store_reader  # noqa: E402
from generator.release.export import export_dataset  # noqa: E402
from tests.fixtures_store import make_store  # noqa: E402

FIELDS = (
    "id",
    "text",
    "fake_cls",
    "fake_text_pos",
    "fake_image_box",
    "mtcnn_boxes",
    "shot",
    "backdrop",
    "backdrop_kind",
    "num_people",
    "face_probs",
    "seed",
)


def make_imagefolder(store_root: Path, records: list[dict], folder: Path) -> Path:
    """An ImageFolder tree over the same JPEGs (hard links) with a metadata.jsonl."""
    folder.mkdir(parents=True)
    with open(folder / "metadata.jsonl", "w", encoding="utf-8") as fh:
        for rec in records:
            src = store_root.parent / rec["image"]
            name = f"{rec['fake_cls']}/{src.name}"
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            os.link(src, folder / name)
            row = {"file_name": name, **{k: rec[k] for k in FIELDS}}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return folder


def time_builder(store_root: Path, cache: Path) -> float:
    # Every run checks every image again, as a first download_and_prepare in a process does
    # (the check is remembered per process, which only an export's four configs share).
    store_reader._VERIFIED.clear()
    t0 = time.perf_counter()
    b = DGM4Plus(config_name="all", data_dir=str(store_root), cache_dir=str(cache))
    b.download_and_prepare()
    return time.perf_counter() - t0


def time_imagefolder(folder: Path, cache: Path) -> float:
    t0 = time.perf_counter()
    datasets.load_dataset("imagefolder", data_dir=str(folder), cache_dir=str(cache))
    return time.perf_counter() - t0


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=600, help="images in the store (split over 3 classes)")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each loader (median kept)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "builder.md")
    args = ap.parse_args(argv)
    per_bucket = max(1, args.n // 3)
    datasets.disable_progress_bars()

    with tempfile.TemporaryDirectory(prefix="dgm4plus-bench-") as tmp_s:
        tmp = Path(tmp_s)
        t0 = time.perf_counter()
        store = make_store(tmp / "store", per_bucket=per_bucket)
        make_s = time.perf_counter() - t0
        n = len(store.records)
        imgfolder = make_imagefolder(store.root, store.records, tmp / "imagefolder")
        store_mb = folder_mb(store.root)

        builder_s, folder_s = [], []
        for r in range(args.repeats):
            order = [("b", time_builder), ("f", time_imagefolder)]
            if r % 2:
                order.reverse()
            for key, fn in order:
                cache = tmp / f"cache-{key}-{r}"
                if key == "b":
                    builder_s.append(fn(store.root, cache))
                else:
                    folder_s.append(fn(imgfolder, cache))

        store_reader._VERIFIED.clear()
        t0 = time.perf_counter()
        export = export_dataset(store.root, tmp / "export")
        export_s = time.perf_counter() - t0
        data_mb = folder_mb(export / "data")
        all_mb = folder_mb(export / "data" / "all")
        load_s = []
        for r in range(args.repeats):
            t0 = time.perf_counter()
            datasets.load_dataset(str(export), "all", cache_dir=str(tmp / f"cache-load-{r}"))
            load_s.append(time.perf_counter() - t0)

    b_med, f_med, l_med = (statistics.median(x) for x in (builder_s, folder_s, load_s))
    lines = [
        f"# Builder benchmark (N = {n} images, {args.repeats} runs each, median)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, datasets {datasets.__version__}. "
        f"Store: {store_mb:.1f} MB of JPEG + metadata (fixture made in {make_s:.1f} s).",
        "",
        "| what | time (s) | examples/s | ratio |",
        "|---|---|---|---|",
        f"| DGM4Plus builder, prepare `all` (bytes embedded) | {b_med:.2f} | {n / b_med:,.0f} "
        f"| {f_med / b_med:.2f}× ImageFolder's rate |",
        f"| `datasets` ImageFolder, prepare (same images + metadata) | {f_med:.2f} "
        f"| {n / f_med:,.0f} | 1.00× |",
        f"| export_dataset (4 configs + card + contact sheet) | {export_s:.2f} "
        f"| {n / export_s:,.0f} | – |",
        f'| load_dataset(export, "all") into a fresh cache | {l_med:.2f} | {n / l_med:,.0f} '
        f"| {f_med / l_med:.2f}× ImageFolder's rate |",
        "",
        "| export size | MB |",
        "|---|---|",
        f"| data/ (all four configs) | {data_mb:.1f} |",
        f"| data/all only | {all_mb:.1f} |",
        f"| store images + metadata | {store_mb:.1f} |",
        "",
        "Not the same work: ImageFolder's Arrow cache keeps each image's file path (bytes are "
        "read at access time) and infers loose types (`fake_cls` a string, boxes of any length); "
        "the builder checks every record, embeds the JPEG bytes and writes the typed schema "
        "(ClassLabel, fixed-length boxes), so its cache is self-contained.",
        "",
        "Runs (s): builder "
        + ", ".join(f"{x:.2f}" for x in builder_s)
        + "; imagefolder "
        + ", ".join(f"{x:.2f}" for x in folder_s)
        + "; export load "
        + ", ".join(f"{x:.2f}" for x in load_s)
        + ".",
        "",
    ]
    table = "\n".join(lines)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
