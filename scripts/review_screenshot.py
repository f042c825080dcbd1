"""Make docs/review.png, the README's picture of the review page (headless Debian chromium).

    .venv/bin/python scripts/review_screenshot.py [STORE]

Without STORE it builds a small offline store with the composite backend first (out/screenshot/).
It opens `dgm4plus review`, rejects the first sample with the keyboard (so a rejected card shows),
takes the screenshot, then takes the rejection back (the store is left unreviewed).
"""

from __future__ import annotations

import io
import re
import signal
import subprocess
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "review.png"


def main() -> None:
    store = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "out" / "screenshot" / "DGM4"
    cli = [sys.executable, "-m", "generator.cli"]
    if len(sys.argv) == 1 and not (store / "metadata.jsonl").exists():
        subprocess.run(
            [
                *cli,
                "generate",
                "--backend",
                "composite",
                "--out",
                str(store),
                "--origin",
                "4",
                "--text-attribute",
                "4",
                "--text-swap",
                "4",
                "--strict-no-text",
                "--composite-signage-rate",
                "0.2",
                "--keep-rejected",
                "--no-progress",
            ],
            cwd=REPO,
            check=True,
        )
    proc = subprocess.Popen(
        [*cli, "review", str(store)], cwd=REPO, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    url = re.search(r"http://127\.0\.0\.1:\d+/", proc.stderr.readline())
    assert url, "no URL printed"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 820})
            page.goto(url.group(0))
            page.wait_for_function(
                "[...document.querySelectorAll('.pic img')].every(i => i.complete)"
            )
            page.keyboard.press("r")  # the first card is selected
            page.keyboard.press("1")  # preset: readable text or signage
            page.keyboard.press("Enter")
            page.wait_for_selector(".card.rejected")
            page.wait_for_function(
                "document.querySelector('#summary').textContent.includes('1 rejected')"
            )
            png = page.screenshot()
            page.keyboard.press("u")
            page.wait_for_function("!document.querySelector('.card.rejected')")
            browser.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    img = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=128, dither=Image.Dither.NONE)
    OUT.parent.mkdir(exist_ok=True)
    img.save(OUT, optimize=True)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
