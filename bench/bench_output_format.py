"""What the API's ``output_format`` costs the client: bytes on the wire and decode time.

The same 1024x1024 pictures (composites: procedural backdrops with photographic cut-outs of
people, the closest offline stand-in for a generated photo) encoded the way the Images API can
return them: PNG, JPEG and WebP at ``output_compression`` 100 (the API's default) and 85. For
each: the base64 payload size (what the JSON response carries) and the client's work per image
(base64 decode, the backend's full decode check, and the pipeline's decode to RGB), best of
``--repeats``. The default ``OUTPUT_FORMAT`` is chosen from this table.

    .venv/bin/python bench/bench_output_format.py
"""

from __future__ import annotations

import argparse
import base64
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _benchutil import machine_line, save, table  # noqa: E402
from PIL import Image  # noqa: E402

from generator.backends.composite import render_composite  # noqa: E402
from generator.backends.openai_backend import _decode_image  # noqa: E402

FORMATS = (("png", None), ("jpeg", 100), ("jpeg", 85), ("webp", 100), ("webp", 85))


def _encode(img: Image.Image, fmt: str, quality: int | None) -> bytes:
    buf = io.BytesIO()
    if fmt == "png":
        img.save(buf, format="PNG")  # Pillow's default zlib level 6
    else:
        img.save(buf, format=fmt.upper(), quality=quality)
    return buf.getvalue()


def _client_seconds(b64: str, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        raw = _decode_image(b64)  # base64 + the backend's full decode check
        with Image.open(io.BytesIO(raw)) as im:  # the pipeline's decode to RGB
            im.convert("RGB")
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    pictures = []
    for k in range(args.images):
        c = render_composite(
            7,
            f"origin/{k}",
            0,
            1 + k % 3,
            "a flooded cathedral on Mars",
            "absurd",
            fault_rate=0.0,
            size=1024,
            png_level=1,
        )
        with Image.open(io.BytesIO(c.png)) as im:
            pictures.append(im.convert("RGB"))
    rows = []
    base = None
    for fmt, quality in FORMATS:
        sizes, secs = [], []
        for img in pictures:
            b64 = base64.b64encode(_encode(img, fmt, quality)).decode()
            sizes.append(len(b64))
            secs.append(_client_seconds(b64, args.repeats))
        kb = statistics.mean(sizes) / 1024
        ms = statistics.mean(secs) * 1000
        if base is None:
            base = (kb, ms)
        label = fmt if quality is None else f"{fmt}, output_compression {quality}"
        rows.append(
            [label, f"{kb:,.0f}", f"{kb / base[0]:.2f}x", f"{ms:.1f}", f"{ms / base[1]:.2f}x"]
        )
    text = "\n".join(
        [
            "# Output format: bytes and client decode time (`bench/bench_output_format.py`)",
            "",
            machine_line(),
            "",
            f"{args.images} composite pictures at 1024x1024, best of {args.repeats} decodes each; "
            "sizes are the base64 text in the JSON response.",
            "",
            table(
                [
                    "output_format",
                    "KiB per image (base64)",
                    "vs png",
                    "client ms per image",
                    "vs png",
                ],
                rows,
            ),
            "",
        ]
    )
    save("output_format", text)


if __name__ == "__main__":
    main()
