"""`dgm4plus review --static OUT.html`: the review page as one self-contained file, for sharing.

Everything is inside the file: the page's script and style, the cards as JSON and each image as
a ``data:`` URL, so it opens from disk or a mail attachment with no server and no network. Its
size is bounded by ``limit`` samples (spread evenly over the store, so every class and every part
of the run is represented) and by re-encoding each picture as a small JPEG thumbnail: about
13.5 KB a sample with its record (measured on composite images; see README), plus at most
``GATE_LIMIT`` kept gate rejects. Decisions made in it are not written anywhere; the
page lists them as the ``dgm4plus reject`` command to run where the store lives.
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import Any

from PIL import Image

from generator.errors import UsageError
from generator.review.catalog import Catalog
from generator.review.server import page_html

DEFAULT_LIMIT = 300
THUMB_WIDTH = 320
THUMB_QUALITY = 70
GATE_LIMIT = 60


def thumbnail_data_url(
    path: Path | None, width: int = THUMB_WIDTH, quality: int = THUMB_QUALITY
) -> str:
    """A small JPEG of the image at ``path`` as a data: URL ("" when it cannot be read)."""
    if path is None:
        return ""
    try:
        with Image.open(path) as im:
            img = im.convert("RGB")
    except Exception:  # noqa: BLE001 - a missing or broken image shows as an empty picture
        return ""
    if img.width > width:
        img = img.resize(
            (width, max(1, round(img.height * width / img.width))), Image.Resampling.LANCZOS
        )
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def spread(n: int, limit: int) -> list[int]:
    """``min(n, limit)`` row numbers spread evenly over ``range(n)``, first row included."""
    if limit <= 0 or n <= 0:
        return []
    if n <= limit:
        return list(range(n))
    return [i * n // limit for i in range(limit)]


def static_data(catalog: Catalog, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """The JSON the static page embeds: cards (images inline), records, gate rejects, counts."""
    catalog.wait_index()
    rows = spread(len(catalog), limit)
    cards, records = [], {}
    for row in rows:
        card = catalog.card(row)
        card["image"] = thumbnail_data_url(
            catalog.image_file(card["id"]) if isinstance(card["id"], int) else None
        )
        cards.append(card)
        records[str(card["id"])] = catalog.record(row).to_json()
    facets = {
        k: sorted({c[k] for c in cards} - {""}) for k in ("fake_cls", "shot", "backdrop_kind")
    }
    gate = catalog.gate_page(0, GATE_LIMIT, with_image_only=True)
    for item in gate["items"]:
        item["images"] = [
            thumbnail_data_url(catalog.reject_image_file(item["row"], j))
            for j in range(len(item["images"]))
        ]
    note = (
        f"{len(cards)} of {len(catalog)} samples in this copy" if len(cards) < len(catalog) else ""
    )
    return {
        "cards": cards,
        "records": records,
        "facets": facets,
        "gate": gate,
        "summary": catalog.summary(),
        "note": note,
    }


def write_static(root: Path, out: Path, limit: int = DEFAULT_LIMIT) -> tuple[Path, int, int]:
    """Write the page; returns (path, samples in it, bytes). Nothing in the store is written."""
    root, out = Path(root), Path(out)
    if limit < 1:
        raise UsageError(f"--limit {limit}: must be at least 1")
    if out.resolve().is_relative_to(root.resolve()):
        raise UsageError(f"--static {out}: write the page outside the store {root}")
    if out.is_dir():
        raise UsageError(f"--static {out}: is a folder; give a file name such as review.html")
    if not out.parent.is_dir():
        raise UsageError(f"--static {out}: the folder {out.parent} does not exist")
    catalog = Catalog(root, background=False)
    data = static_data(catalog, limit)
    html = page_html(
        {"mode": "static", "store": root.name},
        inline=True,
        data=json.dumps(data, ensure_ascii=False),
    ).encode("utf-8")
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(html)
    os.replace(tmp, out)
    return out, len(data["cards"]), len(html)
