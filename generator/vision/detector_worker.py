"""The child side of :class:`generator.vision.detector_process.DetectorProcess`.

``python -m generator.vision.detector_worker DEVICE THREADS``: builds the cascade, says
``("ready", device)``, then answers each ``("detect", rgb, min_size, thresholds, factor)`` read
from stdin with
``("ok", (boxes, points))`` or ``("error", message)`` on stdout, until stdin closes.
"""

from __future__ import annotations

import pickle
import signal
import sys
import warnings
from typing import IO, Any


def _reply(out: IO[bytes], kind: str, value: Any) -> None:
    pickle.dump((kind, value), out, 5)
    out.flush()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the run decides when this process ends
    warnings.simplefilter("ignore")
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the answers
    device, threads = argv[0], int(argv[1])
    try:
        import torch

        from generator.vision.faces import resolve_device
        from generator.vision.mtcnn import Cascade

        if threads > 0:
            torch.set_num_threads(threads)
        cascade = Cascade(resolve_device(None if device == "auto" else device))
    except Exception as exc:  # reported by the run, in one line
        _reply(out, "error", f"cannot build MTCNN: {type(exc).__name__}: {exc}")
        return 1
    _reply(out, "ready", str(cascade.device))
    while True:
        try:
            _, rgb, min_size, thresholds, factor = pickle.load(inp)
        except EOFError:
            return 0
        try:
            _reply(out, "ok", cascade.detect(rgb, min_size, thresholds, factor))
        except BrokenPipeError:
            return 0
        except Exception as exc:
            _reply(out, "error", f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
