"""The detector process: the same answers as the cascade in this process, a clear failure when
it cannot start or dies, no child left behind, and runs that use it store the same samples."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from generator.config import load_config
from generator.vision.detector_process import DetectorFailed, DetectorProcess, start_for_run
from generator.vision.faces import FaceDetector
from generator.vision.mtcnn import Cascade
from tests.test_vision_mtcnn import IMAGES

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def child():
    with DetectorProcess(device="cpu") as det:
        yield det


def test_answers_equal_the_cascade_here(child):
    import torch

    torch.set_num_threads(1)  # as the child (and FaceDetector) run it: threads change last bits
    here = Cascade("cpu")
    assert child.wait_ready() == "cpu"
    for name in ("astronaut", "scene", "backdrop", "border"):
        arr = np.asarray(IMAGES[name])
        want, got = here.detect(arr, 20), child.detect(arr, 20)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])


def test_face_detector_over_the_child_gives_the_same_faces(child):
    img = IMAGES["scene_full"]
    local = FaceDetector(detect_size=512, min_face_px=110, device="cpu").detect(img)
    remote = FaceDetector(detect_size=512, min_face_px=110, cascade=child).detect(img)
    assert remote == local and len(local) == 3


def test_a_child_that_cannot_start_says_why_in_one_line():
    det = DetectorProcess(device="no-such-device")
    try:
        with pytest.raises(DetectorFailed, match=r"^face detector: cannot build MTCNN: .*device"):
            det.detect(np.zeros((64, 64, 3), np.uint8), 12)
        with pytest.raises(DetectorFailed, match="cannot build MTCNN"):  # and again, the same
            det.wait_ready()
    finally:
        det.close()


def test_a_child_that_dies_is_reported_not_waited_for():
    det = DetectorProcess(device="cpu")
    try:
        det.wait_ready()
        assert det._proc is not None
        os.kill(det._proc.pid, signal.SIGKILL)
        with pytest.raises(DetectorFailed, match=r"stopped \(exit code -9\)"):
            det.detect(np.zeros((64, 64, 3), np.uint8), 12)
    finally:
        det.close()
    assert det._proc is None
    with pytest.raises(DetectorFailed):
        det.detect(np.zeros((64, 64, 3), np.uint8), 12)


def _gone(pid: int, within: float = 30.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie of ours counts as gone
            if Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z":
                return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


def test_the_child_leaves_when_the_run_is_killed(tmp_path):
    """SIGKILL to the run closes the child's stdin: it leaves by itself."""
    code = (
        "import os, signal, sys\n"
        "from generator.vision.detector_process import DetectorProcess\n"
        "d = DetectorProcess(device='cpu'); d.wait_ready()\n"
        "print(d._proc.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == -signal.SIGKILL
    assert _gone(int(run.stdout.strip()))


def test_ctrl_c_to_the_run_does_not_reach_the_child(child):
    """The child has a session of its own: a terminal's SIGINT goes to the run's group only."""
    assert child._proc is not None
    assert os.getsid(child._proc.pid) != os.getsid(0)


def test_a_run_uses_a_child_only_when_torch_is_not_loaded_yet(tmp_path):
    cfg = load_config(cli={"BACKEND": "composite", "OUT_ROOT": str(tmp_path)}, env={})
    assert "torch" in sys.modules and start_for_run(cfg) is None  # pytest has torch loaded
    code = (
        "import sys\n"
        "from generator.config import load_config\n"
        "from generator.vision.detector_process import start_for_run\n"
        "for backend in ('composite', 'openai', 'diffusers'):\n"
        "    d = start_for_run(load_config(cli={'BACKEND': backend}, env={}))\n"
        "    print(backend, type(d).__name__)\n"
        "    d and d.close()\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [
        "composite",
        "DetectorProcess",
        "openai",
        "DetectorProcess",
        "diffusers",
        "NoneType",
        "False",
    ]


def test_cli_run_with_the_child_stores_what_an_in_process_run_stores(tmp_path):
    """The same plan through `dgm4plus generate` in a fresh process (detector in a child) and
    through fill_store here (detector in this process): the same records and image bytes."""
    from generator.pipeline import fill_store

    args = ["--backend", "composite", "--seed", "7", "--origin", "3", "--text-attribute", "2"]
    args += ["--text-swap", "2", "--concurrency", "2", "--no-progress", "-q"]
    cli_out = tmp_path / "cli" / "DGM4"
    subprocess.run(
        [sys.executable, "-m", "generator", "generate", "--out", str(cli_out), *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=600,
    )
    here_out = tmp_path / "here" / "DGM4"
    cfg = load_config(
        cli={
            "BACKEND": "composite",
            "SEED": 7,
            "TARGET_LITERAL": 3,
            "TARGET_INV_EMO": 2,
            "TARGET_IRRELEV": 2,
            "CONCURRENCY": 2,
            "OUT_ROOT": str(here_out),
        },
        env={},
    )
    fill_store(cfg, progress=False)

    def records(root: Path) -> list[dict]:
        lines = (root / "metadata.jsonl").read_text().splitlines()
        return sorted((json.loads(line) for line in lines), key=lambda r: r["id"])

    a, b = records(cli_out), records(here_out)
    assert len(a) == 7 and a == b
    for r in a:
        assert (cli_out.parent / r["image"]).read_bytes() == (
            here_out.parent / r["image"]
        ).read_bytes()


def test_a_dead_detector_stops_the_run_and_the_resume_loses_nothing(tmp_path, monkeypatch):
    """Every image would fail without a detector: the run stops with one line instead of
    rejecting paid images, keeps what was delivered, and the same command completes it with
    the records a clean run stores."""
    import generator.pipeline as pipeline
    from generator.errors import UsageError

    def cli(out: Path) -> dict:
        return {
            "BACKEND": "composite",
            "SEED": 11,
            "TARGET_LITERAL": 2,
            "TARGET_INV_EMO": 1,
            "TARGET_IRRELEV": 1,
            "CONCURRENCY": 2,
            "OUT_ROOT": str(out),
        }

    out = tmp_path / "broken" / "DGM4"
    monkeypatch.setattr(
        pipeline, "start_for_run", lambda cfg: DetectorProcess(device="no-such-device")
    )
    with pytest.raises(UsageError, match=r"cannot build MTCNN.*the same command resumes"):
        pipeline.fill_store(load_config(cli=cli(out), env={}), progress=False)
    assert not (out / "metadata.jsonl").exists() or not (out / "metadata.jsonl").read_text()
    rejected = out / "rejected.jsonl"
    assert not rejected.exists() or "failed" not in rejected.read_text()
    assert any((out / "spool").rglob("*")), "the delivered images are kept"

    monkeypatch.setattr(pipeline, "start_for_run", lambda cfg: None)
    pipeline.fill_store(load_config(cli=cli(out), env={}), progress=False)
    clean = tmp_path / "clean" / "DGM4"
    pipeline.fill_store(load_config(cli=cli(clean), env={}), progress=False)
    assert (out / "metadata.jsonl").read_text() == (clean / "metadata.jsonl").read_text()


def test_a_run_that_stops_before_its_first_image_does_not_wait_for_torch():
    """close() before the child is ready kills it: a run refused at once (bad key, held lock)
    is not held up by the import it will never use."""
    det = DetectorProcess(device="cpu")
    proc = det._proc
    assert proc is not None
    det.close()
    assert proc.returncode == -signal.SIGKILL
