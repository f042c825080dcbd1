"""SIGKILL chaos: no image the API delivered is lost, whatever instant a run is killed at.

The real ``generate`` command in a subprocess, with the real ``openai`` client (concurrency 8)
against the fake images server on 127.0.0.1 (tests/fakes/openai_server.py), is killed with
SIGKILL at least 20 times at seeded random instants (a quarter of them during start-up and
recovery), then resumed to the end. The server lists every image answer it wrote out in full
(``deliveries``). Every one must end up as an accepted sample, a rejected attempt in
rejected.jsonl, or a file in the spool; the resume reaches the exact targets; ``validate`` is
clean.

The one exception is physics: an answer the server has written may not have reached the program
yet. It waits in the kernel's socket buffer until the program reads it, and it is then base64
text until the SDK has parsed and decoded it, a few milliseconds before the spool write makes it
durable; a SIGKILL in between discards it (no client can keep bytes it has not got). Each kill
therefore freezes the process first (SIGSTOP) and counts as *in transit*: answers in its
sockets' unread bytes (``/proc/<pid>/net/tcp`` rx_queue), answers the server wrote to it after
the freeze, and answers written less than ``READ_WINDOW_S`` before it. The test requires, plan
key by plan key, that no other answer is missing: every image older than that is on record or in
the spool. ``--max-faces 2`` makes the server's three-person pictures fail the gate (every attempt
of their items: the server draws the same picture for the same prompt), so rejected attempts and
regenerations are part of every run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from conftest import REPO, read_jsonl
from fakes.openai_server import FakeOpenAIServer

from generator.config import BUCKETS, load_config
from generator.plan import plan_item
from generator.store import METADATA_JSONL, REJECTED_JSONL
from generator.text.datelines import load_cities
from generator.validate import validate_store

KILLS = 20
#: An answer written this shortly before a kill may not have been read and spooled yet: the
#: program reads it within milliseconds when it has the CPU, but the first answers of a run
#: arrive while the detector's warm-up imports torch, and this machine is shared (measured: up
#: to about 0.6 s). Without the spool, what a kill loses is older: every rejected attempt of an
#: unfinished item (seconds) and the images in the vision stage.
READ_WINDOW_S = 1.0
PER_CLASS = 12
SEED = 31337


def _cmd(out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "generator.cli",
        "generate",
        "--backend",
        "openai",
        "--out",
        str(out),
        "--seed",
        str(SEED),
        "--concurrency",
        "8",
        "--origin",
        str(PER_CLASS),
        "--text-attribute",
        str(PER_CLASS),
        "--text-swap",
        str(PER_CLASS),
        "--max-regen-attempts",
        "2",
        "--max-faces",
        "2",
        "--no-progress",
    ]


def _env(srv: FakeOpenAIServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DGM4PLUS_")}
    env.update(OPENAI_API_KEY="sk-chaos-test", OPENAI_BASE_URL=srv.base_url, OMP_NUM_THREADS="1")
    return env


def _ours(out: Path) -> dict[str, set[int]]:
    """plan_key -> the attempts whose delivered image is on record or in the spool."""
    have: dict[str, set[int]] = defaultdict(set)
    for r in read_jsonl(out / METADATA_JSONL):
        have[r["plan_key"]].add(r["attempt"])
    for e in read_jsonl(out / REJECTED_JSONL):
        if isinstance(e.get("attempt"), int):
            have[e["plan_key"]].add(e["attempt"])
    for bucket in BUCKETS:
        for p in (out / "spool" / bucket).glob("*-*.*"):
            if not p.name.endswith(".tmp"):
                k, attempt = p.name.split(".")[0].split("-")
                have[f"{bucket}/{k}"].add(int(attempt))
    return have


def _unread_ports(pid: int) -> set[int]:
    """Local ports of ``pid``'s TCP sockets that hold bytes it has not read."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[9] in inodes and int(cols[4].split(":")[1], 16) > 0:
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def _kill(proc: subprocess.Popen, srv: FakeOpenAIServer) -> list[tuple[float, str, int]]:
    """SIGKILL ``proc`` as of this instant (frozen first); returns the answers it never read:
    those in its sockets' unread bytes at that instant, and those written to it afterwards."""
    proc.send_signal(signal.SIGSTOP)
    stopped = time.time()
    time.sleep(0.02)  # the stop takes effect
    unread = _unread_ports(proc.pid)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while srv.in_flight and time.time() < deadline:  # answers to the dead process, if any
        time.sleep(0.01)
    return [
        d
        for d in list(srv.deliveries)
        if d[0] >= stopped - READ_WINDOW_S or (d[2] in unread and d[0] >= stopped - 60)
    ]


def test_sigkill_at_random_instants_loses_no_delivered_image(tmp_path):
    out = tmp_path / "DGM4"
    rng = random.Random(SEED)
    cfg = load_config(cli={"SEED": SEED, "BACKEND": "composite"})
    cities = load_cities(None)
    prompt_key = {
        plan_item(cfg, cities, b, k).prompt: f"{b}/{k}" for b in BUCKETS for k in range(120)
    }
    kill_times: list[float] = []
    never_read: list[tuple[float, str, int]] = []
    with FakeOpenAIServer(images="composite", latency=0.15, composite_size=512) as srv:
        env = _env(srv)
        runs = 0
        while len(kill_times) < KILLS:
            runs += 1
            assert runs < KILLS * 3, "the runs keep finishing before they can be killed"
            seen = len(srv.deliveries)
            proc = subprocess.Popen(
                _cmd(out), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            # Wait for this run's first delivered image (or a quarter of the kills land earlier,
            # during start-up and recovery), then kill at a random instant.
            early = rng.random() < 0.25
            deadline = time.time() + 60
            while not early and len(srv.deliveries) == seen and proc.poll() is None:
                assert time.time() < deadline, "no image was delivered within 60 s"
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 4.0 if early else 0.6))
            if proc.poll() is not None:  # it ended first: not a kill (and it must not have failed)
                assert proc.returncode == 0, f"run {runs} exited {proc.returncode}"
                continue
            kill_times.append(time.time())
            never_read += _kill(proc, srv)
        final = subprocess.run(
            _cmd(out), cwd=REPO, env=env, capture_output=True, text=True, timeout=300
        )
        deliveries = list(srv.deliveries)
    assert final.returncode == 0, final.stderr

    # every delivered image is accepted, rejected on record, or in the spool
    # (per plan key: each image missing from the record must be one that was in transit)
    delivered: Counter[str] = Counter(prompt_key[d[1]] for d in deliveries)
    in_transit: Counter[str] = Counter(prompt_key[d[1]] for d in set(never_read))
    have = _ours(out)
    missing = {key: n - len(have.get(key, set())) for key, n in delivered.items()}
    lost = {key: m - in_transit[key] for key, m in missing.items() if m > in_transit[key]}
    print(
        f"chaos: {len(kill_times)} kills in {runs} runs, {len(deliveries)} images delivered, "
        f"{sum(in_transit.values())} in transit at a kill, "
        f"{sum(m for m in missing.values() if m > 0)} not on record, {sum(lost.values())} lost"
    )
    assert len(kill_times) >= KILLS
    assert not lost, f"delivered images neither accepted, rejected nor spooled: {lost}"

    # the exact targets, a clean store, nothing left over in the spool
    records = read_jsonl(out / METADATA_JSONL)
    assert Counter(r["fake_cls"] for r in records) == dict.fromkeys(BUCKETS, PER_CLASS)
    assert not list((out / "spool").rglob("*-*.*"))
    assert validate_store(out) == []
