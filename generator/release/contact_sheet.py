"""A contact sheet: a few examples of each class, with their captions, in one JPEG.

Examples are picked deterministically (lowest salted hash of the id within each class), laid out
one row per class, and each caption is wrapped under its image. Caption words that
``fake_text_pos`` marks are drawn in red, which makes a wrong span visible at a glance.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from generator.schema import Sample
from generator.store_reader import image_path  # never read outside the store
from generator.text.tokenize import dgm4_words

CLASS_ORDER = ("origin", "text_attribute", "text_swap")
CLASS_BLURBS = {
    "origin": "origin: literal caption (DGM4 'orig'), absurd backdrop",
    "text_attribute": "text_attribute: literal caption + affective add-on (red)",
    "text_swap": "text_swap: unrelated headline (swapped words in red)",
}

CELL_W, CELL_H = 400, 256
PAD = 12
FONT_SIZE = 15
TITLE_SIZE = 18
MAX_CAPTION_LINES = 5
BG = (250, 250, 247)
INK = (25, 25, 25)
MARK = (200, 20, 20)
RULE = (200, 200, 195)


def _rank(sample_id: int) -> bytes:
    return hashlib.sha256(b"dgm4plus-contact-sheet:" + str(int(sample_id)).encode()).digest()


def pick_examples(samples: Iterable[Sample], per_class: int = 3) -> list[Sample]:
    """``per_class`` samples of each class (in class order), chosen by a salted hash of the id."""
    by_class: dict[str, list[Sample]] = {c: [] for c in CLASS_ORDER}
    for sample in samples:
        if sample.fake_cls in by_class:
            by_class[sample.fake_cls].append(sample)
    picks: list[Sample] = []
    for cls in CLASS_ORDER:
        chosen = sorted(by_class[cls], key=lambda s: _rank(s.id))[:per_class]
        picks.extend(sorted(chosen, key=lambda s: s.id))
    return picks


def _dejavu() -> Path | None:
    """DejaVu Sans as shipped inside matplotlib (found without importing it), if installed."""
    spec = importlib.util.find_spec("matplotlib")
    for base in (spec.submodule_search_locations or []) if spec else []:
        path = Path(base) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if path.is_file():
            return path
    return None


def _font(size: int) -> tuple[Any, bool]:
    """A font and whether it covers typographic punctuation (em dashes, curly quotes)."""
    path = _dejavu()
    if path is not None:
        try:
            return ImageFont.truetype(str(path), size=size), True
        except OSError:
            pass
    try:
        return ImageFont.load_default(size=size), False
    except (TypeError, OSError):  # Pillow built without FreeType: fixed bitmap font
        return ImageFont.load_default(), False


_ASCII_PUNCT = str.maketrans(
    {"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": "..."}
)


def _marked_tokens(text: str, positions: Sequence[int]) -> list[tuple[str, bool]]:
    """Split a caption on spaces; flag each token that holds a word ``fake_text_pos`` marks.

    HAMMER's normalisation acts within tokens (it deletes punctuation and splits on hyphens and
    slashes), so counting each token's HAMMER words in turn gives its word indices.
    """
    marked = set(positions)
    out: list[tuple[str, bool]] = []
    index = 0
    for token in text.split():
        n = len(dgm4_words(token))
        out.append((token, any(i in marked for i in range(index, index + n))))
        index += n
    return out


def _wrap(tokens: list[tuple[str, bool]], font: Any, width: int) -> list[list[tuple[str, bool]]]:
    lines: list[list[tuple[str, bool]]] = [[]]
    used = 0.0
    space = font.getlength(" ")
    for token, flag in tokens:
        w = font.getlength(token)
        if lines[-1] and used + space + w > width:
            lines.append([])
            used = 0.0
        used += (space if lines[-1] else 0.0) + w
        lines[-1].append((token, flag))
    return lines


def _line_height(font: Any) -> int:
    box = font.getbbox("Ag")
    return int(box[3] - box[1]) + 5


def render_contact_sheet(root: Path, picks: Sequence[Sample], out: Path, columns: int = 3) -> Path:
    """Draw ``picks`` (grouped by class, ``columns`` a row) into ``out`` (JPEG); return ``out``."""
    (font, full_glyphs), (title_font, _) = _font(FONT_SIZE), _font(TITLE_SIZE)
    line_h, title_h = _line_height(font), _line_height(title_font) + 6
    rows: list[tuple[str, list[Sample]]] = []
    for cls in CLASS_ORDER:
        members = [p for p in picks if p.fake_cls == cls]
        for i in range(0, len(members), columns):
            rows.append((cls, members[i : i + columns]))
    if not rows:
        raise ValueError("no examples to draw")
    wrapped: list[list[list[list[tuple[str, bool]]]]] = []
    caption_h: list[int] = []
    for _, members in rows:
        row_lines = []
        for rec in members:
            tokens = _marked_tokens(rec.text, rec.fake_text_pos)
            if not full_glyphs:
                tokens = [(t.translate(_ASCII_PUNCT), flag) for t, flag in tokens]
            lines = _wrap(tokens, font, CELL_W)
            if len(lines) > MAX_CAPTION_LINES:
                lines = lines[:MAX_CAPTION_LINES]
                lines[-1] = [*lines[-1][:-1], ("…", False)]
            row_lines.append(lines)
        wrapped.append(row_lines)
        caption_h.append(max(len(ls) for ls in row_lines) * line_h + PAD)
    width = columns * CELL_W + (columns + 1) * PAD
    height = PAD + sum(title_h + CELL_H + PAD + h for h in caption_h)
    sheet = Image.new("RGB", (width, height), BG)
    draw = ImageDraw.Draw(sheet)
    y = PAD
    for (cls, members), row_lines, cap_h in zip(rows, wrapped, caption_h, strict=True):
        draw.text((PAD, y), CLASS_BLURBS.get(cls, cls), font=title_font, fill=INK)
        y += title_h
        for col, (rec, lines) in enumerate(zip(members, row_lines, strict=True)):
            x = PAD + col * (CELL_W + PAD)
            with Image.open(image_path(root, rec)) as im:
                thumb = im.convert("RGB")
                if thumb.size != (CELL_W, CELL_H):
                    thumb.thumbnail((CELL_W, CELL_H))
                sheet.paste(thumb, (x, y))
            ty = y + CELL_H + 4
            for line in lines:
                tx = float(x)
                for token, flag in line:
                    draw.text((tx, ty), token, font=font, fill=MARK if flag else INK)
                    tx += font.getlength(token + " ")
                ty += line_h
        y += CELL_H + PAD + cap_h
        draw.line([(PAD, y - PAD // 2), (width - PAD, y - PAD // 2)], fill=RULE, width=1)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, "JPEG", quality=88)
    return out


def make_contact_sheet(
    root: Path, samples: Iterable[Sample], out: Path, per_class: int = 3
) -> list[Sample]:
    """Pick, draw and save; return the picked samples (the card lists their captions)."""
    picks = pick_examples(samples, per_class)
    render_contact_sheet(root, picks, out, columns=max(1, per_class))
    return picks


__all__ = ["make_contact_sheet", "pick_examples", "render_contact_sheet"]
