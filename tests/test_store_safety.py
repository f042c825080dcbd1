"""The store never loses a paid image or a file it did not write, and lets one writer in.

Real pipeline runs with the offline composite backend and real MTCNN; the crash states are made
the way a crash makes them (files present, lines missing)."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO, read_jsonl, run_cli

from generator.backends import make_backend
from generator.backends.base import CallBudget, ImageRequest
from generator.config import BUCKETS, load_config
from generator.errors import UsageError
from generator.pipeline import fill_store
from generator.plan import plan_item
from generator.store import METADATA_JSON, METADATA_JSONL, QUARANTINE, REJECTED_JSONL, record_id
from generator.text.datelines import load_cities
from generator.validate import validate_store


def cfg_for(out: Path, n: int = 2, **kw):
    knobs = {
        "BACKEND": "composite",
        "OUT_ROOT": out,
        "TARGET_LITERAL": n,
        "TARGET_INV_EMO": n,
        "TARGET_IRRELEV": n,
        "SEED": 4242,
        "COMPOSITE_FAULT_RATE": 0.2,
        "CONCURRENCY": 2,
    }
    knobs.update(kw)
    return load_config(cli=knobs)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def keys(root: Path) -> list[str]:
    return sorted(r["plan_key"] for r in read_jsonl(root / METADATA_JSONL))


@pytest.fixture(scope="module")
def base_store(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("safety") / "DGM4"
    fill_store(cfg_for(out), progress=False)
    assert validate_store(out) == []
    return out


@pytest.fixture()
def store(base_store, tmp_path) -> Path:
    out = tmp_path / "DGM4"
    shutil.copytree(base_store, out)
    return out


def _drop_last_record(out: Path, from_snapshot: bool) -> dict:
    lines = (out / METADATA_JSONL).read_text().splitlines(keepends=True)
    last = json.loads(lines[-1])
    (out / METADATA_JSONL).write_text("".join(lines[:-1]))
    if from_snapshot:
        snap = json.loads((out / METADATA_JSON).read_text())
        (out / METADATA_JSON).write_text(json.dumps([r for r in snap if r["id"] != last["id"]]))
    return last


@pytest.mark.parametrize("damage", ["missing", "empty", "shorter"])
def test_lost_ledger_is_refused_untouched_and_repair_restores_it(store, damage):
    meta = store / METADATA_JSONL
    if damage == "missing":
        meta.unlink()
    elif damage == "empty":
        meta.write_text("")
    else:
        _drop_last_record(store, from_snapshot=False)
        _drop_last_record(store, from_snapshot=False)
    before = tree_bytes(store)
    with pytest.raises(UsageError) as info:
        fill_store(cfg_for(store), progress=False)
    msg = str(info.value)
    assert "\n" not in msg and f"dgm4plus repair {store}" in msg and "metadata.json lists 6" in msg
    assert tree_bytes(store) == before  # refused before anything was written
    proc = run_cli("repair", str(store))
    assert proc.returncode == 0, proc.stderr
    assert "rebuilt with 6 records" in proc.stdout
    assert len(read_jsonl(meta)) == 6
    stats = fill_store(cfg_for(store, MAX_IMAGE_CALLS=0), progress=False)  # nothing to pay for
    assert stats.calls == 0 and sum(stats.final_counts.values()) == 6
    assert validate_store(store) == []


def test_whole_last_record_without_newline_is_kept_and_completed(store):
    meta = store / METADATA_JSONL
    meta.write_bytes(meta.read_bytes().rstrip(b"\n"))
    stats = fill_store(cfg_for(store, MAX_IMAGE_CALLS=0), progress=False)
    assert stats.calls == 0 and sum(stats.final_counts.values()) == 6
    assert meta.read_bytes().endswith(b"}\n") and len(read_jsonl(meta)) == 6
    assert validate_store(store) == []


def test_orphan_of_ours_is_adopted_junk_is_quarantined_foreign_files_left_alone(
    store, base_store, capsys
):
    lost = _drop_last_record(store, from_snapshot=True)  # crash between image and record
    image = store.parent / lost["image"]
    assert image.exists()
    cfg = cfg_for(store)
    junk = store / BUCKETS["text_swap"][1] / f"{record_id(cfg, 'text_swap', 40)}.jpg"
    junk.write_bytes(b"not a jpeg")  # ours by name, broken
    notes = store / BUCKETS["origin"][1] / "NOTES.txt"
    notes.write_text("my notes")
    photo = store / BUCKETS["text_attribute"][1] / "holiday.jpg"
    photo.write_bytes(b"\xff\xd8\xff user photo")
    half = store / BUCKETS["origin"][1] / f"{record_id(cfg, 'origin', 41)}.jpg.tmp"
    half.write_bytes(b"half")
    stats = fill_store(cfg_for(store, MAX_IMAGE_CALLS=0), progress=False)
    err = capsys.readouterr().err
    assert stats.calls == 0  # the orphan became its sample again: nothing paid twice
    assert keys(store) == keys(base_store)
    adopted = [r for r in read_jsonl(store / METADATA_JSONL) if r["id"] == lost["id"]]
    assert len(adopted) == 1 and adopted[0]["plan_key"] == lost["plan_key"]
    assert adopted[0]["text"] == lost["text"] and adopted[0]["attempt"] is None
    assert len(adopted[0]["mtcnn_boxes"]) >= 1
    assert "adopted as " + lost["plan_key"] in err
    # ours but broken: moved, with the reason on file
    assert not junk.exists() and not half.exists()
    log = read_jsonl(store / QUARANTINE / "quarantine.jsonl")
    reasons = {e["file"]: e["reason"] for e in log}
    assert "does not decode" in reasons[junk.relative_to(store).as_posix()]
    assert "interrupted" in reasons[half.relative_to(store).as_posix()]
    assert (store / QUARANTINE / junk.relative_to(store)).read_bytes() == b"not a jpeg"
    # not ours: untouched, reported
    assert notes.read_text() == "my notes" and photo.read_bytes() == b"\xff\xd8\xff user photo"
    assert f"{notes}: not written by dgm4plus; left alone" in err
    assert f"{photo}: not written by dgm4plus; left alone" in err


def test_symlinked_class_folder_is_refused(store, tmp_path):
    elsewhere = tmp_path / "users_photos"
    folder = store / BUCKETS["text_swap"][1]
    shutil.move(str(folder), elsewhere)
    folder.symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "me.jpg").write_bytes(b"mine")
    before = tree_bytes(elsewhere)
    with pytest.raises(UsageError, match="symbolic link"):
        fill_store(cfg_for(store), progress=False)
    assert tree_bytes(elsewhere) == before


def _delivered_bytes(cfg, bucket: str, k: int, attempt: int) -> bytes:
    backend = make_backend(
        "composite",
        budget=CallBudget(None),
        fault_rate=cfg.COMPOSITE_FAULT_RATE,
        signage_rate=cfg.COMPOSITE_SIGNAGE_RATE,
    )
    item = plan_item(cfg, load_cities(cfg.CITY_DATA_PATH), bucket, k)
    req = ImageRequest(
        prompt=item.prompt,
        plan_key=item.plan_key,
        seed=cfg.SEED,
        attempt=attempt,
        num_people=item.num_people,
        backdrop=item.backdrop,
        backdrop_kind=item.backdrop_kind,
    )
    result = asyncio.run(backend.generate(req))
    return getattr(result, "data", result)


def test_spooled_image_is_processed_on_resume_with_no_new_call(store, base_store):
    lost = _drop_last_record(store, from_snapshot=True)
    (store.parent / lost["image"]).unlink()  # the crash came before the JPEG was written
    bucket, k = lost["plan_key"].split("/")
    cfg = cfg_for(store)
    data = _delivered_bytes(cfg, bucket, int(k), lost["attempt"])
    spooled = store / "spool" / bucket / f"{k}-{lost['attempt']}.png"
    spooled.parent.mkdir(parents=True, exist_ok=True)
    spooled.write_bytes(data)
    stats = fill_store(cfg_for(store, MAX_IMAGE_CALLS=0), progress=False)
    assert stats.calls == 0 and keys(store) == keys(base_store)
    again = [r for r in read_jsonl(store / METADATA_JSONL) if r["id"] == lost["id"]][0]
    assert again["phash"] == lost["phash"] and again["attempt"] == lost["attempt"]
    assert not spooled.exists()  # settled once its record is durable
    assert validate_store(store) == []


@pytest.mark.parametrize("keep", [False, True])
def test_budget_stop_records_every_rejected_attempt_and_resume_never_repays_them(tmp_path, keep):
    out = tmp_path / "DGM4"
    # every attempt fails the gate: 3 calls go to origin/0's attempts 0, 1, 2 and the budget stops
    knobs = dict(
        COMPOSITE_FAULT_RATE=1.0,
        MAX_REGEN_ATTEMPTS=5,
        CONCURRENCY=1,
        TARGET_INV_EMO=0,
        TARGET_IRRELEV=0,
        TARGET_LITERAL=1,
        KEEP_REJECTED=keep,
    )
    stats = fill_store(cfg_for(out, MAX_IMAGE_CALLS=3, **knobs), progress=False)
    assert stats.calls == 3 and stats.stopped_by == "MAX_IMAGE_CALLS"
    lines = read_jsonl(out / REJECTED_JSONL)
    assert [(e["plan_key"], e["attempt"]) for e in lines] == [
        ("origin/0", 0),
        ("origin/0", 1),
        ("origin/0", 2),
    ]
    for e in lines:
        if keep:
            assert e["image"] == f"rejected/origin/0-{e['attempt']}.png"
            assert (out / e["image"]).read_bytes()[:4] == b"\x89PNG"
        else:
            assert e["image"] is None
    assert not any((out / "spool").rglob("*.png"))
    # the resume starts at attempt 3: 3 more calls finish origin/0 (6 attempts), then origin/1 starts
    stats = fill_store(cfg_for(out, MAX_IMAGE_CALLS=4, **knobs), progress=False)
    lines = read_jsonl(out / REJECTED_JSONL)
    attempts = [(e["plan_key"], e.get("attempt")) for e in lines]
    assert attempts[:6] == [("origin/0", a) for a in range(6)]
    assert ("origin/0", None) in attempts  # the item's own verdict, once all attempts are spent
    assert attempts[-1] == ("origin/1", 0)
    assert len(set(attempts)) == len(attempts)


HOLD = textwrap.dedent(
    """
    import sys, time
    from generator.lock import StoreLock
    with StoreLock(sys.argv[1], purpose="generate"):
        print("held", flush=True)
        time.sleep(120)
    """
)


def test_second_writer_exits_2_naming_the_holder(store):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        before = tree_bytes(store)
        for args in (
            ["generate", "--backend", "composite", "--out", str(store), "--seed", "4242"],
            ["repair", str(store)],
        ):
            res = run_cli(*args)
            assert res.returncode == 2, res.stderr
            lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
            assert (
                len(lines) == 1 and f"pid {proc.pid}" in lines[0] and "Traceback" not in res.stderr
            )
        assert tree_bytes(store) == before
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # the holder died by SIGKILL: nothing stale, the next writer gets in
    stats = fill_store(cfg_for(store, MAX_IMAGE_CALLS=0), progress=False)
    assert stats.calls == 0


def test_validate_while_a_writer_runs_checks_only_what_is_committed(store, capfd):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    cfg = cfg_for(store)
    first = sorted((store / BUCKETS["origin"][1]).glob("*.jpg"))[0]
    in_progress = store / BUCKETS["origin"][1] / f"{record_id(cfg, 'origin', 77)}.jpg"
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        shutil.copy(first, in_progress)  # a writer's image whose record is not written yet
        with open(store / METADATA_JSONL, "a") as fh:
            fh.write('{"id": 1000000077, "ima')  # the line it is appending right now
        capfd.readouterr()
        assert validate_store(store) == []
        err = capfd.readouterr().err
        assert f"pid {proc.pid}" in err and "checked the 6 records committed so far" in err
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    problems = validate_store(store)  # no writer now: the leftovers are problems
    assert any("orphan" in p for p in problems) and any("torn" in p for p in problems)


def test_snapshots_built_in_steps_equal_one_dump_of_the_ledger(tmp_path):
    """metadata.json is rewritten every SNAP_EVERY samples from the records' JSON kept between
    snapshots: its bytes are those of one json.dumps of the whole ledger, after a resume too."""
    import json

    from generator.config import load_config
    from generator.pipeline import fill_store

    out = tmp_path / "DGM4"

    def run(n: int) -> None:
        knobs = {"BACKEND": "composite", "SEED": 31, "SNAP_EVERY": 2, "OUT_ROOT": str(out)}
        knobs.update(TARGET_LITERAL=n, TARGET_INV_EMO=n, TARGET_IRRELEV=n, CONCURRENCY=2)
        fill_store(load_config(cli=knobs, env={}), progress=False)

    for n in (2, 4):  # a run, then a resume that appends to the records it opened
        run(n)
        ledger = [json.loads(x) for x in (out / "metadata.jsonl").read_text().splitlines()]
        assert len(ledger) == 3 * n
        want = json.dumps(ledger, ensure_ascii=False) + "\n"
        assert (out / "metadata.json").read_text(encoding="utf-8") == want
