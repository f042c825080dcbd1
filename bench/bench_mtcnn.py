"""Our torch-only MTCNN cascade against facenet-pytorch's ``detect_face``, side by side.

Run from the repository root:

    .venv/bin/python bench/bench_mtcnn.py [--images 200] [--repeats 5]

* Start-up: a fresh Python process that imports what detection needs and builds the three
  networks (ours: ``import torch`` + ``Cascade()``; facenet-pytorch: ``from facenet_pytorch
  import MTCNN`` + ``MTCNN()``, which imports torchvision), wall and CPU seconds, the two
  alternating ``--repeats`` times.
* Detection: ``--images`` composite drawings (as ``bench_gate_agreement.py`` draws them: 1-3
  people, some faults), downscaled to the pipeline's 512-pixel detection size, each given to
  both implementations with the pipeline's minimum face size; thread CPU per image (torch on one
  thread), and how many results are bit-identical (boxes, probabilities and landmarks).
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchutil import ROOT, machine_line, median, save, table  # noqa: E402

STARTUP = {
    "ours (torch + Cascade)": (
        "import torch; torch.set_num_threads(1)\n"
        "from generator.vision.mtcnn import Cascade\n"
        "Cascade('cpu')\n"
    ),
    "facenet-pytorch (torch + torchvision + MTCNN)": (
        "import torch; torch.set_num_threads(1)\n"
        "from facenet_pytorch import MTCNN\n"
        "MTCNN(device='cpu')\n"
    ),
}
TAIL = "import os, sys; t = os.times(); print(t.user + t.system, 'torchvision' in sys.modules)\n"


def startup(repeats: int) -> dict[str, list[tuple[float, float, bool]]]:
    out: dict[str, list[tuple[float, float, bool]]] = {k: [] for k in STARTUP}
    for _ in range(repeats):
        for name, code in STARTUP.items():
            t0 = time.perf_counter()
            run = subprocess.run(
                [sys.executable, "-c", code + TAIL],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            wall = time.perf_counter() - t0
            cpu, tv = run.stdout.split()
            out[name].append((wall, float(cpu), tv == "True"))
    return out


def draw(n: int, seed: int):
    from PIL import Image

    from generator.backends.base import CallBudget, ImageRequest
    from generator.backends.composite import CompositeBackend
    from generator.config import BUCKETS, load_config
    from generator.plan import plan_item
    from generator.text.datelines import load_cities

    cities = load_cities(None)
    cfg = load_config(cli={"BACKEND": "composite", "SEED": seed}, env={})
    backend = CompositeBackend(CallBudget(None), png_level=1)
    buckets = list(BUCKETS)
    images = []
    for i in range(n):
        item = plan_item(cfg, cities, buckets[i % 3], i // 3)
        req = ImageRequest(
            prompt=item.prompt,
            plan_key=item.plan_key,
            seed=seed,
            attempt=(i // 7) % 3,
            num_people=item.num_people,
            backdrop=item.backdrop,
            backdrop_kind=item.backdrop_kind,
        )
        images.append(Image.open(io.BytesIO(backend.render(req).png)).convert("RGB"))
    return images


def run(args: argparse.Namespace) -> str:
    start = startup(args.repeats)

    import numpy as np
    import torch
    from facenet_pytorch import MTCNN
    from facenet_pytorch.models.utils.detect_face import detect_face
    from PIL import Image

    from generator.vision.faces import FaceDetector
    from generator.vision.mtcnn import FACTOR, THRESHOLDS, Cascade

    torch.set_num_threads(1)
    images = draw(args.images, args.seed)
    det = FaceDetector(detect_size=512, min_face_px=110, device="cpu")  # sizes as the pipeline
    ours, theirs = Cascade("cpu"), MTCNN(device="cpu").eval()
    t_ours: list[float] = []
    t_theirs: list[float] = []
    same = faces = 0
    for img in images:
        scale = det.detection_scale(img.size)
        size = (round(img.width * scale), round(img.height * scale))
        small = img.resize(size, Image.Resampling.BILINEAR)
        arr, min_size = np.asarray(small), det.min_face_size(img.size)
        t = time.thread_time()
        with torch.inference_mode():
            b1, p1 = detect_face(
                small, min_size, theirs.pnet, theirs.rnet, theirs.onet, THRESHOLDS, FACTOR, "cpu"
            )
        t_theirs.append(time.thread_time() - t)
        t = time.thread_time()
        b2, p2 = ours.detect(arr, min_size)
        t_ours.append(time.thread_time() - t)
        b1 = np.asarray(b1[0], dtype=object).astype(np.float32).reshape(-1, 5)
        p1 = np.asarray(p1[0], dtype=object).astype(np.float32).reshape(-1, 5, 2)
        same += int(b1.shape == b2.shape and np.array_equal(b1, b2) and np.array_equal(p1, p2))
        faces += len(b2)

    rows = []
    for name, runs in start.items():
        rows.append(
            [
                name,
                f"{median([r[0] for r in runs]):.2f} ({', '.join(f'{r[0]:.2f}' for r in runs)})",
                f"{median([r[1] for r in runs]):.2f}",
                "yes" if runs[0][2] else "no",
            ]
        )
    det_rows = [
        ["ours", f"{median(t_ours) * 1000:.1f}", f"{sum(t_ours):.1f}"],
        ["facenet-pytorch detect_face", f"{median(t_theirs) * 1000:.1f}", f"{sum(t_theirs):.1f}"],
    ]
    return "\n".join(
        [
            "# MTCNN: our torch-only cascade vs facenet-pytorch's detect_face",
            "",
            f"{machine_line()}. Start-up: fresh processes, {args.repeats} alternating runs each.",
            "",
            table(
                ["start-up", "wall s: median (runs)", "CPU s", "imports torchvision"],
                rows,
                "lrrl",
            ),
            "",
            f"Detection: {len(images)} composite images (seed {args.seed}) at the pipeline's "
            f"512-pixel detection size; {faces} faces found by ours; **{same} of "
            f"{len(images)}** results bit-identical (boxes, probabilities, landmarks).",
            "",
            table(["detector", "thread CPU ms / image (median)", "total s"], det_rows, "lrr"),
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=5150)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    save("mtcnn", run(args), args.out)


if __name__ == "__main__":
    main()
