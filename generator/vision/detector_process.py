"""The MTCNN cascade in a child process, started first thing in a run.

Why: importing torch costs about 1.5 s of CPU, nearly all of it Python code that holds the
interpreter lock. In the run's own process that import competes with reading the city table,
importing the API client and sending the first requests, and the first answer waits for both. In
a child started before all that, it runs on another core: the detector is ready about when the
first answer arrives. The child answers one detection at a time over its stdin/stdout pipes; it
leaves when its stdin closes (the run ended, or died: nothing lingers), and lives in a session of
its own so that a Ctrl-C meant for the run does not kill it while the run finishes in-flight
images. :func:`start_for_run` decides whether a run uses one.
"""

from __future__ import annotations

import contextlib
import pickle
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from generator.vision.faces import FACTOR, THRESHOLDS

if TYPE_CHECKING:
    from generator.config import Config

__all__ = ["DetectorFailed", "DetectorProcess", "start_for_run"]

#: The worker's module, run as ``python -m``: it imports torch and the cascade, nothing else.
WORKER = "generator.vision.detector_worker"


class DetectorFailed(RuntimeError):
    """The detector process could not start, or stopped answering."""


class DetectorProcess:
    """A :class:`generator.vision.mtcnn.Cascade` in a child process, with the same ``detect``.

    Thread-safe: callers take turns (the child detects one image at a time, on its own core).
    """

    def __init__(self, device: str | None = None, threads: int | None = 1) -> None:
        self.device = device or "auto"
        self._lock = threading.Lock()
        self._ready = False
        self._failed: DetectorFailed | None = None
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-m", WORKER, self.device, str(threads or 0)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise DetectorFailed("the face detector process was closed")
        return proc.stdin, proc.stdout

    def _receive(self) -> Any:
        if self._failed is not None:  # the first failure is the one worth reading
            raise self._failed
        _, out = self._pipes()
        try:
            kind, value = pickle.load(out)
        except (EOFError, pickle.UnpicklingError, OSError):
            code = None
            with contextlib.suppress(subprocess.TimeoutExpired, AttributeError):
                code = self._proc.wait(timeout=5)  # type: ignore[union-attr]
            self._failed = DetectorFailed(f"the face detector process stopped (exit code {code})")
            raise self._failed from None
        if kind == "error":
            if not self._ready:  # it could not start: it has left
                self._failed = DetectorFailed(f"face detector: {value}")
                raise self._failed
            raise RuntimeError(f"face detector: {value}")  # this image only: a failed attempt
        return value

    def wait_ready(self) -> str:
        """Block until the child has built the cascade; returns its device (``cpu``, ...)."""
        with self._lock:
            return self._wait_ready()

    def _wait_ready(self) -> str:
        if not self._ready:
            self.device = str(self._receive())
            self._ready = True
        return self.device

    def detect(
        self,
        rgb: np.ndarray,
        min_size: float,
        thresholds: Sequence[float] = THRESHOLDS,
        factor: float = FACTOR,
    ) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`generator.vision.mtcnn.Cascade.detect`."""
        request = ("detect", np.ascontiguousarray(rgb), float(min_size), tuple(thresholds), factor)
        with self._lock:
            self._wait_ready()
            inp, _ = self._pipes()
            try:
                pickle.dump(request, inp, 5)
                inp.flush()
            except OSError:
                pass  # the child is gone: _receive says so
            boxes, points = self._receive()
            return boxes, points

    def close(self) -> None:
        """End the child: a ready one leaves when its stdin closes (killed if it does not within
        5 s); one still importing torch has nothing to finish and is killed at once (a run that
        stops early, on bad input, does not wait for it)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if not self._ready:
            proc.kill()
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> DetectorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_for_run(cfg: Config) -> DetectorProcess | None:
    """A detector process for a run when one helps, else ``None`` (the run's own process builds
    the detector, as before).

    It helps when torch is not imported yet: then the import overlaps the run's start. It does
    not when torch is already loaded (a test session, a notebook that used torch) or when the
    run itself loads torch (the diffusers backend), and then the run keeps one process.
    """
    if "torch" in sys.modules or cfg.BACKEND == "diffusers":
        return None
    from generator.vision.process import VisionSettings

    return DetectorProcess(device=VisionSettings.from_config(cfg).device)
