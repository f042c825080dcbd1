"""The review page in a real browser: Debian's chromium (installed by scripts/setup.sh), driven
by Playwright. The store is made by the real pipeline with the offline composite backend (MTCNN
boxes, kept gate rejects); the server is the real `dgm4plus review` command in a subprocess."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, read_jsonl, run_cli
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from generator.reviews import rejected_ids
from generator.text.tokenize import dgm4_words, words_untruncated

CHROMIUM = "/usr/bin/chromium"
PER_CLASS = 2


@pytest.fixture(scope="module")
def built_store(tmp_path_factory) -> Path:
    """Six samples through the real pipeline (the `generate` command, in a subprocess: the
    Playwright fixture owns this process's event loop), the gate's rejected attempts kept."""
    out = tmp_path_factory.mktemp("review") / "DGM4"
    run_cli(
        "generate",
        "--backend",
        "composite",
        "--out",
        str(out),
        "--seed",
        "777",
        "--origin",
        str(PER_CLASS),
        "--text-attribute",
        str(PER_CLASS),
        "--text-swap",
        str(PER_CLASS),
        "--composite-fault-rate",
        "0.5",
        "--keep-rejected",
        "--no-progress",
        check=True,
    )
    return out


@pytest.fixture()
def store(built_store, tmp_path) -> Path:
    """A fresh copy per test, so each test's decisions start from an unreviewed store."""
    dst = tmp_path / "DGM4"
    shutil.copytree(built_store, dst, ignore=shutil.ignore_patterns("store.lock"))
    return dst


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


class Served:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "generator.cli", "review", str(root)],
            cwd=REPO,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert found, line
        self.url = found.group(0)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(30)


@pytest.fixture()
def served(store) -> Iterator[Served]:
    s = Served(store)
    yield s
    if s.proc.poll() is None:
        s.stop()


def _open(browser: Browser, url: str) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []

    def on_console(m: ConsoleMessage) -> None:
        if m.type in ("error", "warning"):
            problems.append(f"{m.type}: {m.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.goto(url)
    page.wait_for_selector(".card")
    page.wait_for_function(
        "document.querySelectorAll('.pic img').length > 0 && "
        "[...document.querySelectorAll('.pic img')].every(i => i.complete)"
    )
    return page, problems


def _records(root: Path) -> list[dict]:
    return read_jsonl(root / "metadata.jsonl")


def test_page_loads_clean_with_one_card_per_sample_and_its_boxes(browser, served):
    page, problems = _open(browser, served.url)
    records = _records(served.root)
    cards = page.locator("#grid .card")
    assert cards.count() == len(records) == 3 * PER_CLASS
    for r in records:
        card = page.locator(f'#grid .card[data-id="{r["id"]}"]')
        assert card.locator(".box").count() == len(r["mtcnn_boxes"]) >= 1
        meta = card.locator(".meta").inner_text()
        for field in ("fake_cls", "shot", "backdrop_kind", "plan_key"):
            assert r[field] in meta
        assert card.locator("img").evaluate("i => i.naturalWidth") == 400
    page.wait_for_function("document.querySelector('#summary').textContent.includes('6 samples')")
    assert problems == []
    page.close()


def test_highlights_exactly_the_marked_words(browser, served):
    page, problems = _open(browser, served.url)
    for r in _records(served.root):
        card = page.locator(f'#grid .card[data-id="{r["id"]}"]')
        marked = [w for t in card.locator("mark").all_inner_texts() for w in words_untruncated(t)]
        words = dgm4_words(r["text"])
        assert marked == [words[i] for i in r["fake_text_pos"]], r["text"]
        assert card.locator(".cap").inner_text() == r["text"]
        assert (r["fake_cls"] == "origin") == (card.locator("mark").count() == 0)
    assert problems == []
    page.close()


def test_keyboard_reject_undo_and_export(browser, served, tmp_path):
    page, problems = _open(browser, served.url)
    records = _records(served.root)
    first, second, third = (r["id"] for r in records[1:4])
    page.keyboard.press("j")  # the first card is selected on load; j moves to the second
    page.keyboard.press("r")
    page.keyboard.type("readable signage")
    page.keyboard.press("Enter")
    page.wait_for_selector(f'.card.rejected[data-id="{first}"]')
    page.keyboard.press("r")  # the selection moved on to the next card
    page.keyboard.press("2")  # preset 2 fills "face artefact"
    page.keyboard.press("Enter")
    page.wait_for_selector(f'.card.rejected[data-id="{second}"]')
    page.keyboard.press("a")  # accept the third
    page.wait_for_selector(f'.card.accepted[data-id="{third}"]')
    page.keyboard.press("u")  # undo the accept
    page.wait_for_selector(f'.card.unreviewed[data-id="{third}"]')
    page.keyboard.press("u")  # undo the second rejection
    page.wait_for_selector(f'.card.unreviewed[data-id="{second}"]')
    assert (
        page.locator(f'.card[data-id="{first}"] .verdict').inner_text()
        == "rejected: readable signage"
    )

    ledger = read_jsonl(served.root / "reviews.jsonl")
    assert [(x["id"], x["decision"], x["reason"]) for x in ledger] == [
        (first, "reject", "readable signage"),
        (second, "reject", "face artefact"),
        (third, "accept", None),
        (third, "undo", None),
        (second, "undo", None),
    ]
    assert rejected_ids(served.root) == {first}

    page.select_option('select[name="status"]', "rejected")
    page.wait_for_function("document.querySelectorAll('#grid .card').length === 1")
    assert page.locator("#grid .card").get_attribute("data-id") == str(first)
    assert problems == []
    page.close()
    assert served.stop() == 0

    proc = run_cli("export-dgm4", "--data-dir", str(served.root), "--out", str(tmp_path / "hammer"))
    assert proc.returncode == 0, proc.stderr
    listed = {
        r["id"]
        for f in (tmp_path / "hammer").rglob("metadata/*.json")
        for r in json.loads(f.read_text())
    }
    assert listed == {r["id"] for r in records} - {first}
    proc = run_cli("export", "--data-dir", str(served.root), "--out", str(tmp_path / "release"))
    assert proc.returncode == 0, proc.stderr
    import pyarrow.parquet as pq

    ids = {
        i
        for f in (tmp_path / "release" / "data" / "all").rglob("*.parquet")
        for i in pq.read_table(f)["id"].to_pylist()
    }
    assert ids == {r["id"] for r in records} - {first}


def test_filters_detail_and_gate_view(browser, served):
    page, problems = _open(browser, served.url)
    records = _records(served.root)
    page.wait_for_function("document.querySelectorAll('select[name=fake_cls] option').length === 4")
    page.select_option('select[name="fake_cls"]', "text_swap")
    page.wait_for_function(
        f"document.querySelectorAll('#grid .card').length === {PER_CLASS} && "
        "[...document.querySelectorAll('#grid .card')].every(c => c.textContent.includes('text_swap'))"
    )
    page.keyboard.press("Enter")
    page.wait_for_selector("#detail-dialog[open]")
    assert page.locator("#detail-dialog").evaluate("d => d.scrollTop") == 0
    assert page.locator("#detail .pic img").is_visible()
    shown = page.locator("#detail").inner_text()
    rec = next(r for r in records if r["fake_cls"] == "text_swap")
    assert rec["prompt"] in shown and rec["literal_text"] in shown
    page.keyboard.press("Escape")
    page.wait_for_function("!document.querySelector('#detail-dialog').open")
    page.keyboard.press("g")
    page.wait_for_selector("#gate .card")
    assert page.locator("#gate").is_visible() and not page.locator("#grid").is_visible()
    assert not page.locator("#filters").is_visible()
    kept = [e for e in read_jsonl(served.root / "rejected.jsonl") if e.get("image")]
    assert kept, "the composite run at fault rate 0.5 keeps some rejected attempts"
    assert page.locator("#gate .card").count() == len(kept)
    assert page.locator("#gate .card img").count() == len(kept)
    assert kept[0]["reason"] in page.locator("#gate").inner_text()
    page.wait_for_function(
        "[...document.querySelectorAll('#gate img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert problems == []
    page.close()


def test_static_page_opens_from_disk_with_no_server(browser, store, tmp_path):
    out = tmp_path / "share" / "review.html"
    out.parent.mkdir()
    proc = run_cli("review", str(store), "--static", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stderr and "MB" in proc.stderr
    html = out.read_text()
    assert "http://" not in html and "https://" not in html
    assert not (store / "reviews.jsonl").exists()
    page, problems = _open(browser, out.as_uri())
    records = _records(store)
    assert page.locator("#grid .card").count() == len(records)
    for r in records:
        card = page.locator(f'#grid .card[data-id="{r["id"]}"]')
        marked = [w for t in card.locator("mark").all_inner_texts() for w in words_untruncated(t)]
        assert marked == [dgm4_words(r["text"])[i] for i in r["fake_text_pos"]]
    page.keyboard.press("r")
    page.keyboard.type("blurry")
    page.keyboard.press("Enter")
    page.wait_for_selector("#pending:not([hidden])")
    cmd = page.locator("#pending-cmd").inner_text()
    assert cmd == f"dgm4plus reject --data-dir DGM4 {records[0]['id']} --reason 'blurry'"
    assert problems == []
    page.close()
