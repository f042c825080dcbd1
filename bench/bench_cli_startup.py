"""CLI start-up: `dgm4plus --version` and `generate --help`, today's parser vs a full build.

The baseline builds what the CLI used to build for every invocation: every command's flags (which
imports each command's module, the store's included) and shtab. Both run in fresh processes,
interleaved, so machine load affects them alike.

Run: .venv/bin/python bench/bench_cli_startup.py [RUNS]
"""

from __future__ import annotations

import subprocess
import sys
import time

from _benchutil import ROOT, machine_line, median, save, table

CASES = {
    "--version": ["--version"],
    "generate --help": ["generate", "--help"],
}
NOW = "from generator import cli; import sys; sys.exit(cli.main({argv!r}))"
# The old behaviour: the whole parser (every command's args module) and shtab, then the command.
FULL = (
    "import shtab; from generator import cli; import sys; cli.build_parser(); "
    "sys.exit(cli.main({argv!r}))"
)


def _run(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, timeout=120
    )
    return time.perf_counter() - t0


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 9
    rows = []
    for label, argv in CASES.items():
        now: list[float] = []
        full: list[float] = []
        for _ in range(runs):
            full.append(_run(FULL.format(argv=argv)))
            now.append(_run(NOW.format(argv=argv)))
        rows.append(
            [
                f"`dgm4plus {label}`",
                f"{median(full):.3f} s",
                f"{median(now):.3f} s",
                f"{median(now) / median(full):.2f}x",
            ]
        )
    text = (
        "CLI start-up, median of "
        f"{runs} fresh processes each, interleaved ({machine_line()}).\n\n"
        + table(["command", "full parser + shtab (before)", "today", "ratio"], rows)
    )
    save("bench_cli_startup", text)


if __name__ == "__main__":
    main()
