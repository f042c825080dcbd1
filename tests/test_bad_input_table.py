"""Bad input, one row per case: exit code 2, exactly one line on stderr naming the file, flag or
field, no traceback, and the store's bytes unchanged.

Rows run the real command line (``generator.cli.main``) in this process, so a traceback would be
an exception escaping ``main`` (the test fails on it). A store is compared byte for byte before
and after, except ``store.lock``: any writer that gets as far as the lock creates it (empty, it
holds no data and describes no holder once released).

Record-level cases (a record with ``phash: "zz"``, ``plan_key: "bogus"``, ``text: null``, a
string ``id``, a duplicated line, an 800x600 image) are parsed by S's schema
(generator/schema.py); their rows here check the command-line end of it.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures_store import make_store

from generator.cli import main

REPO = Path(__file__).resolve().parents[1]
LOCK = "store.lock"


def tree_bytes(root: Path) -> dict[str, bytes | None]:
    if not root.exists():
        return {}
    out: dict[str, bytes | None] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.name == LOCK:
            continue
        out[rel] = p.read_bytes() if p.is_file() else None
    return out


@pytest.fixture(scope="module")
def fixture_store(tmp_path_factory) -> Path:
    # 30 a class: every class has train, validation and test samples (no empty-split warnings)
    return make_store(tmp_path_factory.mktemp("bad") / "src", per_bucket=30).root


def _csv(tmp: Path, name: str, population: str = "100000") -> list[str]:
    path = tmp / "worldcities.csv"
    body = "city,city_ascii,country,iso2,admin_name,population\n"
    body += f'"{name}","{name}",Kenya,KE,Nairobi,{population}\n'
    body += "Oslo,Oslo,Norway,NO,Oslo,700000\n"
    path.write_text(body, encoding="utf-8")
    return ["--city-data", str(path)]


def _geonames(tmp: Path, name: str) -> list[str]:
    """A cities1000.txt (19 tab-separated columns) whose first city is ``name``."""

    def row(n: str, pop: str) -> str:
        cols = [
            "1",
            n,
            n,
            "",
            "0",
            "0",
            "P",
            "PPL",
            "KE",
            "",
            "",
            "",
            "",
            "",
            pop,
            "",
            "0",
            "Africa/Nairobi",
            "2020-01-01",
        ]
        return "\t".join(cols) + "\n"

    path = tmp / "cities1000.txt"
    path.write_text(row(name, "100000") + row("Oslo", "700000"), encoding="utf-8")
    return ["--city-data", str(path)]


def _gen(store: Path, *extra: str) -> list[str]:
    return [
        "generate",
        "--backend",
        "composite",
        "--out",
        str(store),
        "--seed",
        "123456789",
        "--origin",
        "3",
        "--text-attribute",
        "3",
        "--text-swap",
        "3",
        *extra,
    ]


Setup = Callable[[Path, Path], list[str]]  # (tmp, store) -> argv, after damaging what it needs


def _toml_not_utf8(tmp: Path, store: Path) -> list[str]:
    (tmp / "run.toml").write_bytes(b"SEED = 123456789\n# caf\xe9 \xff\n")
    return _gen(store, "--config", str(tmp / "run.toml"))


def _store_json(value: str) -> Setup:
    def setup(tmp: Path, store: Path, cmd: str = "generate") -> list[str]:
        (store / "store.json").write_text(value)
        return _gen(store)

    return setup


def _store_json_for(value: str, cmd: str) -> Setup:
    def setup(tmp: Path, store: Path) -> list[str]:
        (store / "store.json").write_text(value)
        return _reader(cmd, tmp, store)

    return setup


def _reader(cmd: str, tmp: Path, store: Path) -> list[str]:
    if cmd == "validate":
        return ["validate", str(store)]
    return [cmd, "--data-dir", str(store), "--out", str(tmp / f"out-{cmd}")]


def _runs_garbage(cmd: str) -> Setup:
    def setup(tmp: Path, store: Path) -> list[str]:
        runs = (store / "runs.jsonl").read_text()
        (store / "runs.jsonl").write_text("{not json at all\n" + runs)
        return _reader(cmd, tmp, store)

    return setup


def _meta_folder(cmd: str) -> Setup:
    def setup(tmp: Path, store: Path) -> list[str]:
        (store / "metadata.jsonl").unlink()
        (store / "metadata.jsonl").mkdir()
        (store / "metadata.jsonl" / "x").write_text("x")
        return _gen(store) if cmd == "generate" else _reader(cmd, tmp, store)

    return setup


def _folder_instead(name: str) -> Setup:
    def setup(tmp: Path, store: Path) -> list[str]:
        path = store / name
        path.unlink(missing_ok=True)
        path.mkdir()
        return _gen(store)

    return setup


def _truncated_jpeg(cmd: str) -> Setup:
    def setup(tmp: Path, store: Path) -> list[str]:
        img = sorted((store / "origin" / "generated").glob("*.jpg"))[0]
        data = img.read_bytes()
        img.write_bytes(data[: len(data) // 2])
        return _reader(cmd, tmp, store)

    return setup


def _dgm4_export(tmp: Path, store: Path) -> Path:
    from generator.release.dgm4_export import export_dgm4

    out = tmp / "hammer"
    export_dgm4(store, out)
    return out


def _huge_id_offset(tmp: Path, store: Path) -> list[str]:
    manifest = json.loads((store / "store.json").read_text())
    manifest["ID_OFFSET"] = 2**63 - 10
    (store / "store.json").write_text(json.dumps(manifest))
    return _reader("export", tmp, store)


def _record(cmd: str, change: Callable[[dict], object], line: int = 5) -> Setup:
    """Damage record ``line`` of metadata.jsonl (and the snapshot alike) with ``change``."""

    def setup(tmp: Path, store: Path) -> list[str]:
        lines = (store / "metadata.jsonl").read_text().splitlines()
        rec = json.loads(lines[line - 1])
        change(rec)
        lines[line - 1] = json.dumps(rec)
        (store / "metadata.jsonl").write_text("\n".join(lines) + "\n")
        (store / "metadata.json").write_text(json.dumps([json.loads(x) for x in lines]))
        return _gen(store) if cmd == "generate" else _reader(cmd, tmp, store)

    return setup


def _duplicate_line(cmd: str) -> Setup:
    def setup(tmp: Path, store: Path) -> list[str]:
        lines = (store / "metadata.jsonl").read_text().splitlines()
        lines.insert(7, lines[6])
        (store / "metadata.jsonl").write_text("\n".join(lines) + "\n")
        return _gen(store) if cmd == "generate" else _reader(cmd, tmp, store)

    return setup


def _image_800x600(tmp: Path, store: Path) -> list[str]:
    from PIL import Image

    img = sorted((store / "origin" / "generated").glob("*.jpg"))[0]
    Image.new("RGB", (800, 600), "gray").save(img, format="JPEG")
    return _reader("export", tmp, store)


def _set(key: str, value: object) -> Callable[[dict], object]:
    return lambda rec: rec.__setitem__(key, value)


# S's record-level cases, each through generate and export: the file, the line and the field.
RECORD_ROWS: dict[str, tuple[Setup, str]] = {
    f"record-{name}-{cmd}": (_record(cmd, change), f"metadata.jsonl:5: field '{field}'")
    for name, change, field in (
        ("phash-zz", _set("phash", "zz"), "phash"),
        ("plan-key-bogus", _set("plan_key", "bogus"), "plan_key"),
        ("text-null", _set("text", None), "text"),
        ("id-string", _set("id", "1000000001"), "id"),
    )
    for cmd in ("generate", "export")
}
RECORD_ROWS["record-duplicate-line-generate"] = (_duplicate_line("generate"), "appears twice")
RECORD_ROWS["record-duplicate-line-export"] = (_duplicate_line("export"), "metadata.jsonl")
RECORD_ROWS["image-800x600-export"] = (_image_800x600, "800x600")


ROWS: dict[str, tuple[Setup, str]] = {
    # (setup, a piece of the one line: the file, flag or field it must name)
    "toml-not-utf8": (_toml_not_utf8, "run.toml"),
    "config-is-a-folder": (lambda t, s: _gen(s, "--config", str(t)), "--config"),
    "out-is-a-file": (lambda t, s: _gen(t / "afile"), "--out"),
    "out-under-a-file": (lambda t, s: _gen(t / "afile" / "DGM4"), "is a file"),
    "out-not-encodable": (lambda t, s: _gen(Path(str(t / "caf") + "\udce9")), "--out"),
    "out-is-the-package": (lambda t, s: _gen(REPO / "generator"), "package"),
    "out-inside-the-package": (lambda t, s: _gen(REPO / "generator" / "DGM4"), "package"),
    "out-inside-the-tests": (lambda t, s: _gen(REPO / "tests" / "DGM4"), "tests/"),
    "city-population-inf": (lambda t, s: _gen(s, *_csv(t, "Nairobi", "inf")), "population"),
    "city-population-1e400": (lambda t, s: _gen(s, *_csv(t, "Nairobi", "1e400")), "population"),
    "city-name-newline": (
        lambda t, s: _gen(s, *_csv(t, "NAIROBI\nBREAKING NEWS")),
        "worldcities.csv:2",
    ),
    "city-name-nul": (lambda t, s: _gen(s, *_csv(t, "NAIRO\x00BI")), "worldcities.csv"),
    "city-name-2M": (lambda t, s: _gen(s, *_csv(t, "A" * 2_000_000)), "worldcities.csv"),
    "city-name-2M-geonames": (
        lambda t, s: _gen(s, *_geonames(t, "A" * 2_000_000)),
        "2,000,000 characters",
    ),
    "city-name-newline-geonames": (
        lambda t, s: _gen(s, *_geonames(t, "NAIROBI\x0bNEWS")),
        "control character",
    ),
    "post-size-70000x16": (lambda t, s: _gen(s, "--post-w", "70000", "--post-h", "16"), "POST_W"),
    "id-offset-overflows": (lambda t, s: _gen(s, "--id-offset", str(2**63 - 10)), "ID_OFFSET"),
    "store-json-list-generate": (_store_json("[]"), "store.json"),
    "store-json-null-generate": (_store_json("null"), "store.json"),
    "store-json-list-validate": (_store_json_for("[1, 2]", "validate"), "store.json"),
    "store-json-null-export": (_store_json_for("null", "export"), "store.json"),
    "store-json-list-export-dgm4": (_store_json_for("[]", "export-dgm4"), "store.json"),
    "runs-garbage-line-export": (_runs_garbage("export"), "runs.jsonl:1"),
    "runs-garbage-line-validate": (_runs_garbage("validate"), "runs.jsonl:1"),
    "metadata-is-a-folder-generate": (_meta_folder("generate"), "metadata.jsonl"),
    "metadata-is-a-folder-validate": (_meta_folder("validate"), "metadata.jsonl"),
    "metadata-is-a-folder-export": (_meta_folder("export"), "metadata.jsonl"),
    "truncated-jpeg-export": (_truncated_jpeg("export"), ".jpg"),
    "truncated-jpeg-export-dgm4": (_truncated_jpeg("export-dgm4"), ".jpg"),
    "id-offset-overflows-export": (_huge_id_offset, "ID_OFFSET"),
    "snapshot-is-a-folder-generate": (_folder_instead("metadata.json"), "metadata.json"),
    "runs-is-a-folder-generate": (_folder_instead("runs.jsonl"), "runs.jsonl"),
    "rejected-is-a-folder-generate": (_folder_instead("rejected.jsonl"), "rejected.jsonl"),
    "out-is-an-export-dgm4-tree": (lambda t, s: _gen(_dgm4_export(t, s) / "DGM4"), "export"),
    **RECORD_ROWS,
}


@pytest.mark.parametrize("case", list(ROWS))
def test_bad_input_is_one_line_exit_2_and_nothing_changes(case, fixture_store, tmp_path, capfd):
    setup, names = ROWS[case]
    store = tmp_path / "DGM4"
    shutil.copytree(fixture_store, store)
    (tmp_path / "afile").write_text("a file, not a folder")
    argv = setup(tmp_path, store)
    before = tree_bytes(tmp_path)  # the store, and every other file the row made
    package = sorted(p.name for p in (REPO / "generator").iterdir())
    capfd.readouterr()
    code = main(argv)
    err = capfd.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert names in lines[0], lines[0]
    assert len(lines[0]) < 600
    assert tree_bytes(tmp_path) == before
    assert (tmp_path / "afile").read_text() == "a file, not a folder"
    assert sorted(p.name for p in (REPO / "generator").iterdir()) == package
    assert not (REPO / "tests" / "DGM4").exists()


@pytest.fixture()
def small_disk(tmp_path):
    """A 64 MiB tmpfs (the tests run as root here and in CI): a real ENOSPC, unmounted after."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, f"cannot mount a tmpfs for the disk-full test: {proc.stderr}"
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_is_one_line_the_store_stays_consistent_and_resume_completes(small_disk, capfd):
    from generator.validate import validate_store

    store = small_disk / "DGM4"
    ballast = small_disk / "ballast"
    # leave room for a few delivered images only (the composite backend's PNGs are ~1 MiB)
    with open(ballast, "wb") as fh:
        fh.write(b"\0" * (61 * 1024 * 1024))
    argv = _gen(
        store,
        "--origin",
        "6",
        "--text-attribute",
        "6",
        "--text-swap",
        "6",
        "--composite-fault-rate",
        "0",
        "--no-progress",
    )
    capfd.readouterr()
    code = main(argv)
    err = capfd.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip() and "GeoNames" not in ln]
    assert code == 2, err
    assert len(lines) == 1 and os.strerror(errno.ENOSPC) in lines[0] and "Traceback" not in err, err
    partial = (store / "metadata.jsonl").read_text() if (store / "metadata.jsonl").exists() else ""
    assert all(json.loads(line) for line in partial.splitlines())  # whole lines only
    ballast.unlink()  # space freed: the same command completes the store
    assert main(argv) == 0
    assert validate_store(store) == []
    assert len((store / "metadata.jsonl").read_text().splitlines()) == 18
