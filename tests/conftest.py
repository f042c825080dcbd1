"""Shared test helpers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict | None = None,
    timeout: float = 300,
    check: bool = False,
) -> subprocess.CompletedProcess:
    """Run the real `dgm4plus` command in a subprocess (as a user would)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DGM4PLUS_")}
    full_env.pop("OPENAI_API_KEY", None)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "generator.cli", *args],
        cwd=cwd or REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"dgm4plus {' '.join(args)} -> {proc.returncode}\n{proc.stderr}")
    return proc


@pytest.fixture(autouse=True)
def _quiet_threads(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True)
def _console_reset():
    """A test that runs the CLI in process (main(argv)) configures logging for that run; undo it
    so later tests see logging's defaults (and caplog their records)."""
    yield
    from generator import console

    console.reset()
