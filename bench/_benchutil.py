"""Small helpers shared by the benchmarks in this folder (not a benchmark itself).

Every benchmark prints a markdown report and writes the same text to bench/results/<name>.md.
"""

from __future__ import annotations

import os
import platform
import re
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def machine_line() -> str:
    """One line describing where the numbers come from (load average included: the machine
    may be shared, and CPU-time numbers drift with it)."""
    try:
        load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:  # pragma: no cover - platforms without getloadavg
        load = "load average unknown"
    parts = [
        f"Python {platform.python_version()}",
        f"{platform.machine()}",
        f"{os.cpu_count()} logical CPUs",
        load,
    ]
    try:
        import torch

        parts.insert(1, f"torch {torch.__version__}")
    except ImportError:  # pragma: no cover
        pass
    return ", ".join(parts)


def table(header: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> str:
    """A markdown table; ``align`` holds one of l/r per column (default: first l, rest r)."""
    if not align:
        align = "l" + "r" * (len(header) - 1)
    marks = {"l": ":---", "r": "---:", "c": ":---:"}
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(marks[a] for a in align) + "|",
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def save(name: str, text: str, out: Path | None = None) -> Path:
    """Print ``text`` and write it to bench/results/<name>.md (or ``out``)."""
    path = out if out is not None else RESULTS / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not text.endswith("\n"):
        text += "\n"
    path.write_text(text, encoding="utf-8")
    print(text)
    print(f"(written to {path})", file=sys.stderr)
    return path


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    if not values:
        return float("nan")
    xs = sorted(values)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50.0)


def children_cpu() -> float:
    """CPU seconds (user + system) of waited-for child processes (e.g. tesseract)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class ThreadCPU:
    """``with ThreadCPU() as t: ...``: t.seconds is this thread's CPU time inside the block,
    plus the CPU of any child process waited for inside it (tesseract)."""

    def __enter__(self) -> ThreadCPU:
        self._t = time.thread_time()
        self._c = children_cpu()
        self._w = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.thread_time() - self._t + children_cpu() - self._c
        self.wall = time.perf_counter() - self._w


# ----------------------------------------------------------------------------------------
# MTCNN settings: "SIZE[@MARGIN][fFACTOR][tP,R[,O]]", e.g. "none", "512", "256@0.8",
# "256@0.8f0.6", "256@0.8f0.6t0.8,0.9"

_SETTING = re.compile(
    r"^(none|full|\d+)(?:@(\d*\.?\d+))?(?:f(\d*\.?\d+))?(?:t(\d*\.?\d+(?:,\d*\.?\d+){1,2}))?$",
    re.IGNORECASE,
)
SETTING_HELP = (
    "SIZE[@MARGIN][fFACTOR][tP,R[,O]]: FaceDetector(detect_size=SIZE) ('none' = full "
    "resolution) with MIN_FACE_MARGIN=MARGIN (default 0.6), MTCNN pyramid factor FACTOR "
    "(default 0.709) and P-Net, R-Net[, O-Net] thresholds (default 0.6,0.7,0.7)"
)


@dataclass(frozen=True)
class Setting:
    label: str
    detect_size: int | None  # None: full resolution
    margin: float | None  # FaceDetector.MIN_FACE_MARGIN; None: the class's own value
    factor: float | None  # MTCNN pyramid factor; None: facenet's 0.709
    thresholds: tuple[float, ...] | None = None  # P-Net, R-Net[, O-Net]; None: 0.6, 0.7, 0.7

    @property
    def is_default_full(self) -> bool:
        return (
            self.detect_size is None
            and self.margin is None
            and self.factor is None
            and self.thresholds is None
        )


def parse_setting(text: str) -> Setting:
    m = _SETTING.match(text.strip())
    if not m:
        raise SystemExit(
            f"bad MTCNN setting {text!r}: expected {SETTING_HELP}; e.g. none, "
            "512, 256@0.8, 256@0.8f0.6, 256@0.8f0.6t0.8,0.9"
        )
    size_s, margin_s, factor_s, thr_s = m.groups()
    size = None if size_s.lower() in ("none", "full") else int(size_s)
    label = (
        ("none" if size is None else str(size))
        + (f"@{margin_s}" if margin_s else "")
        + (f"f{factor_s}" if factor_s else "")
        + (f"t{thr_s}" if thr_s else "")
    )
    thresholds = tuple(float(x) for x in thr_s.split(",")) if thr_s else None
    return Setting(
        label,
        size,
        float(margin_s) if margin_s else None,
        float(factor_s) if factor_s else None,
        thresholds,
    )


def make_detector(s: Setting, min_face_px: int = 110):
    """A FaceDetector for setting ``s`` (torch on one thread, as in the pipeline)."""
    from generator.vision.faces import FaceDetector

    det = FaceDetector(detect_size=s.detect_size, min_face_px=min_face_px, threads=1)
    if s.margin is not None:
        det.MIN_FACE_MARGIN = s.margin  # instance attribute: this detector only
    if s.factor is not None:
        det.factor = s.factor  # instance attributes, passed to the cascade on each call
    if s.thresholds is not None:
        thr = list(det.thresholds)
        thr[: len(s.thresholds)] = s.thresholds
        det.thresholds = tuple(thr)
    return det


def pyramid(det, size: tuple[int, int]) -> tuple[int, int]:
    """(largest level's short side, number of levels) of MTCNN's P-Net pyramid for an image
    of ``size`` given to ``det.detect`` (mirrors the cascade's pyramid)."""
    scale = det.detection_scale(size)
    side = min(round(size[0] * scale), round(size[1] * scale))
    m = 12.0 / det.min_face_size(size)
    first = int(side * m + 1)
    minl, levels = side * m, 0
    while minl >= 12:
        levels += 1
        minl *= det.factor
    return first, levels


def machine_busy() -> tuple[float, float]:
    """(busy CPU seconds, total CPU seconds) of the whole machine so far, from /proc/stat
    (Linux); (nan, nan) elsewhere.  The difference of two readings around a run shows how much
    CPU other processes took meanwhile."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return float("nan"), float("nan")
    hz = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return (total - idle) / hz, total / hz


def code_line() -> str:
    """Which code was measured: the git commit and any uncommitted change under generator/
    (other work may be editing it while a benchmark runs)."""
    import subprocess

    def git(*args: str) -> str:
        try:
            out = subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return out.stdout

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    status = git("status", "--porcelain", "--", "generator").splitlines()
    changed = [line[3:] for line in status if len(line) > 3]
    if changed:
        return f"code: git {head} + uncommitted changes in {', '.join(changed)}"
    return f"code: git {head}"
