"""Review page on a large store: time to the first page in a real browser, ours vs a naive page.

A synthetic store of N samples (default 100,000) is written under /tmp: records shaped like the
generator's (long prompts included), one small 400x256 JPEG per class hard-linked under every
record's name. Then, side by side, each in a fresh process and a fresh headless chromium page:

* **ours** — ``dgm4plus review STORE``: the time from starting the command to the first card's
  image painted in the browser, split into "server up" (URL printed) and "page"; then the first
  filtered query (which waits for the background index), a page turn deep in the store, and ten
  infinite-scroll pages in the browser;
* **naive** — a server that parses every record and renders every card into one HTML page (the
  obvious first version), timed the same way.

    .venv/bin/python bench/bench_review.py            # N = 100,000
    .venv/bin/python bench/bench_review.py --n 20000  # quicker
"""

from __future__ import annotations

import argparse
import html
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _benchutil import ROOT, machine_line, save, table
from PIL import Image, ImageDraw

CHROMIUM = "/usr/bin/chromium"
BUCKETS = {
    "origin": "origin/generated",
    "text_attribute": "manipulation/text_attribute",
    "text_swap": "manipulation/text_swap",
}
SHOTS = ("wide shot", "medium shot", "close-up")


def _jpeg(seed: int) -> bytes:
    img = Image.new("RGB", (400, 256), (40 + seed * 60, 90, 160))
    d = ImageDraw.Draw(img)
    d.ellipse([150, 60, 230, 160], fill=(226, 190, 160))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def build_store(parent: Path, n: int) -> Path:
    root = parent / "DGM4"
    if (root / "metadata.jsonl").exists() and (root / ".bench-n").read_text() == str(n):
        return root
    shutil.rmtree(parent, ignore_errors=True)
    masters = {}
    for i, (bucket, folder) in enumerate(BUCKETS.items()):
        (root / folder).mkdir(parents=True)
        masters[bucket] = root / f".master-{bucket}.jpg"
        masters[bucket].write_bytes(_jpeg(i))
    with open(root / "metadata.jsonl", "w", encoding="utf-8") as fh:
        for j in range(n):
            bi, k = j % 3, j // 3
            bucket = list(BUCKETS)[bi]
            rid = 1_000_000_000 + bi * 100_000_000 + k
            rel = f"DGM4/{BUCKETS[bucket]}/{rid}.jpg"
            os.link(masters[bucket], parent / rel)
            head = f"OSLO, Norway — A nurse number {k} greets supporters in a mid-air library of floating books"
            text = {
                "origin": head + ".",
                "text_attribute": head + ", looking visibly anxious.",
                "text_swap": f"OSLO, Norway — Fishermen haul nets onto pier {k}.",
            }[bucket]
            pos = {"origin": [], "text_attribute": [18, 19, 20], "text_swap": [3, 4, 5, 6, 7, 8]}[
                bucket
            ]
            rec = {
                "id": rid,
                "image": rel,
                "text": text,
                "fake_cls": bucket,
                "fake_image_box": [],
                "fake_text_pos": pos,
                "mtcnn_boxes": [[150, 60, 230, 160]],
                "plan_key": f"{bucket}/{k}",
                "literal_text": head + ".",
                "backdrop": "a mid-air library of floating books",
                "backdrop_kind": "absurd" if k % 7 else "realistic",
                "shot": SHOTS[k % 3],
                "lighting": "golden hour",
                "dateline": "OSLO, Norway",
                "role": "nurse",
                "event": "greets supporters",
                "num_people": 1,
                "prompt": "A candid news photograph, photojournalism style: one nurse greets supporters "
                "in a mid-air library of floating books, medium shot, golden hour light; exactly "
                "one person with a clear, unobstructed face; no readable text, letters, logos "
                "or watermarks anywhere; the backdrop is blatantly impossible. " * 2,
                "phash": f"{rid:016x}",
                "face_probs": [0.99],
                "backend": "composite",
                "model": "composite",
                "quality": "low",
                "seed": 777,
                "attempt": 0,
            }
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    (root / "store.json").write_text(
        json.dumps(
            {"SEED": 777, "ID_OFFSET": 1_000_000_000, "POST_W": 400, "POST_H": 256, "format": 1}
        )
    )
    (root / ".bench-n").write_text(str(n))
    return root


# ---- the naive baseline: every card in one page -------------------------------------------


def serve_naive(root: Path) -> None:
    """Parse all records, render every card into one HTML page, serve it (run as a child)."""
    from generator.review.catalog import card_of
    from generator.schema import Sample, SampleRules

    rules = SampleRules()

    records = [
        json.loads(line)
        for line in (root / "metadata.jsonl").read_bytes().splitlines()
        if line.strip()
    ]
    by_id = {r["id"]: r for r in records}
    parts = [
        "<!doctype html><html><head><meta charset=utf-8><link rel=icon href='data:,'><style>"
        ".g{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:14px}"
        ".pic{position:relative;aspect-ratio:400/256}.pic img{width:100%;height:100%}"
        ".box{position:absolute;border:2px solid #0ef}</style></head><body><div class=g>"
    ]
    for r in records:
        c = card_of(
            Sample.from_json_trusted(r, where=("naive", None), rules=rules), (400, 256), None
        )
        boxes = "".join(
            f"<div class=box style='left:{b[0]}%;top:{b[1]}%;width:{b[2]}%;height:{b[3]}%'></div>"
            for b in c["boxes"]
        )
        cap = "".join(
            f"<mark>{html.escape(t)}</mark>" if m else html.escape(t) for t, m in c["segments"]
        )
        parts.append(
            f"<article class=card><div class=pic><img loading=lazy src='image/{c['id']}'>{boxes}</div>"
            f"<p>{cap}</p><p>{c['fake_cls']} · {c['shot']} · {c['backdrop_kind']} · {c['plan_key']}</p></article>"
        )
    parts.append("</div></body></html>")
    page = "".join(parts).encode()

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):  # noqa: ANN002
            pass

        def do_GET(self):  # noqa: N802
            if self.path == "/":
                body, ctype = page, "text/html; charset=utf-8"
            else:
                m = re.fullmatch(r"/image/(\d+)", self.path)
                rec = by_id.get(int(m.group(1))) if m else None
                if rec is None:
                    self.send_error(404)
                    return
                body, ctype = (root.parent / rec["image"]).read_bytes(), "image/jpeg"
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(
        f"naive: serving {len(records)} cards ({len(page) / 1e6:.1f} MB of HTML) at "
        f"http://127.0.0.1:{srv.server_address[1]}/",
        file=sys.stderr,
        flush=True,
    )
    srv.serve_forever()


# ---- timing ------------------------------------------------------------------------------

FIRST_CARD = (
    "() => { const i = document.querySelector('.card img');"
    " return i && i.complete && i.naturalWidth > 0; }"
)


def time_first_page(browser, cmd: list[str], timeout: float) -> dict[str, float | str]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # the tab is ready first
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        up = time.perf_counter() - t0
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)  # type: ignore[union-attr]
        t1 = time.perf_counter()
        page.goto(url, timeout=timeout * 1000, wait_until="commit")
        page.wait_for_function(FIRST_CARD, timeout=timeout * 1000, polling=20)
        shown = time.perf_counter()
        out: dict[str, float | str] = {
            "server up": up,
            "page": shown - t1,
            "total": shown - t0,
            "cards in DOM": page.evaluate("document.querySelectorAll('.card').length"),
            "line": line.strip(),
        }
        out["url"] = url
        out["_page"] = page  # type: ignore[assignment]
        out["_proc"] = proc  # type: ignore[assignment]
        return out
    except Exception:
        proc.kill()
        raise


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/dgm4plus-bench-review"))
    ap.add_argument("--serve-naive", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_naive:
        serve_naive(args.serve_naive)
        return
    from playwright.sync_api import sync_playwright

    t = time.perf_counter()
    reused = (args.dir / "DGM4" / ".bench-n").exists()
    root = build_store(args.dir, args.n)
    build_s = time.perf_counter() - t
    built = "reused from an earlier run" if reused and build_s < 1 else f"built in {build_s:,.1f} s"
    size_mb = (root / "metadata.jsonl").stat().st_size / 2**20
    ours_cmd = [sys.executable, "-m", "generator.cli", "review", str(root)]
    naive_cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-naive", str(root)]
    rows, extra = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        ours = time_first_page(browser, ours_cmd, timeout=120)
        page, proc = ours.pop("_page"), ours.pop("_proc")
        # A filtered query right after opening (it waits for the background index).
        t = time.perf_counter()
        page.select_option('select[name="fake_cls"]', "text_swap")
        swaps = len(range(2, args.n, 3))
        page.wait_for_function(
            f"document.querySelector('#status-line').textContent.includes('of {swaps} shown')",
            timeout=120_000,
            polling=20,
        )
        filtered = time.perf_counter() - t
        # Page turns deep in the store, through the API (the server's share of scrolling).
        turns = []
        for j in range(20):
            t = time.perf_counter()
            page.evaluate(
                f"fetch('api/samples?offset={(j + 1) * args.n // 21}&limit=60').then(r => r.json())"
            )
            turns.append(time.perf_counter() - t)
        # Infinite scroll in the browser: ten more pages of cards.
        page.select_option('select[name="fake_cls"]', "")
        page.wait_for_function("document.querySelectorAll('#grid .card').length >= 60", polling=20)
        t = time.perf_counter()
        for _ in range(10):
            have = page.evaluate("document.querySelectorAll('#grid .card').length")
            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            page.wait_for_function(
                f"document.querySelectorAll('#grid .card').length > {have}", polling=20
            )
        scroll10 = time.perf_counter() - t
        dom = page.evaluate("document.querySelectorAll('#grid .card').length")
        page.close()
        proc.send_signal(2)
        proc.wait(30)

        naive = time_first_page(browser, naive_cmd, timeout=600)
        npage, nproc = naive.pop("_page"), naive.pop("_proc")
        t = time.perf_counter()
        npage.evaluate(
            "window.scrollTo(0, document.body.scrollHeight / 2); document.body.offsetHeight"
        )
        naive_jump = time.perf_counter() - t
        npage.close()
        nproc.kill()
        nproc.wait(30)
        browser.close()

    def ms(x: float | str) -> str:
        return f"{float(x) * 1000:,.0f}" if isinstance(x, float) else str(x)

    rows.append(
        [
            "**ours** (`dgm4plus review`, paged)",
            ms(ours["server up"]),
            ms(ours["page"]),
            f"**{ms(ours['total'])}**",
            ours["cards in DOM"],
        ]
    )
    rows.append(
        [
            "naive (every card in one page)",
            ms(naive["server up"]),
            ms(naive["page"]),
            f"**{ms(naive['total'])}**",
            naive["cards in DOM"],
        ]
    )
    turns.sort()
    extra = [
        [
            "first filtered query after opening (class = text_swap, waits for the index)",
            f"{filtered * 1000:,.0f} ms",
        ],
        [
            "page turn deep in the store (API, 60 cards), median of 20",
            f"{turns[10] * 1000:,.1f} ms (max {turns[-1] * 1000:,.1f})",
        ],
        [
            f"10 infinite-scroll pages in the browser (to {dom} cards)",
            f"{scroll10 * 1000:,.0f} ms ({scroll10 * 100:,.0f} ms a page)",
        ],
        [
            "naive page: one jump to the middle (layout of every card)",
            f"{naive_jump * 1000:,.0f} ms",
        ],
    ]
    text = "\n\n".join(
        [
            f"# Review page: time to the first page, {args.n:,} samples",
            f"Synthetic store: {args.n:,} records ({size_mb:,.0f} MiB of metadata.jsonl), images hard-linked "
            f"({built}, not part of the result). {machine_line()}. Headless Debian chromium "
            'via Playwright; each side in a fresh process and page. "First page" = the first card\'s image '
            "painted. Command: `.venv/bin/python bench/bench_review.py"
            + (f" --n {args.n}" if args.n != 100_000 else "")
            + "`.",
            table(["page", "server up ms", "page ms", "total ms", "cards in the DOM"], rows),
            table(["ours, after opening", "time"], extra, align="lr"),
        ]
    )
    save("review", text)


if __name__ == "__main__":
    main()
