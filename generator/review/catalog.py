"""What the review page shows: a store's samples as cards, filtered and paged, and the ledger.

Opening a 100,000-sample store must not wait for 150 MB of JSON to be parsed: the catalog reads
``metadata.jsonl`` as bytes and cuts it into lines (fast), answers the unfiltered first pages by
parsing just those lines, and parses the rest in a background thread. A filtered query waits for
that index (a few seconds at 100k), then filters columns of plain strings.

Every line becomes a :class:`~generator.schema.Sample` before anything is shown, and the cards,
the filters and the detail view are built from its attributes. It is built as the writer builds
its records on resume, by :meth:`~generator.schema.Sample.from_json_trusted` with the store's own
settings: the fields that say which sample a line is and where its image lies are checked (the
page serves images and records decisions by them), the others are shown as stored, so a store
that ``validate`` would fault on a caption span or a box can still be looked at. A card therefore
copes with any JSON value in those fields. The bytes are cut into lines here, not by
:mod:`generator.store_reader`, only so that a line is parsed when its card is first asked for;
the background index reads its three filter columns from the raw lines, for speed (see
:meth:`Catalog._index`). The gate's rejects (``rejected.jsonl``) are
:class:`~generator.schema.Rejection` records; a line that does not parse is left out of that
view (it is only a view).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from generator.errors import DataFileError, UsageError
from generator.review.highlight import segments
from generator.reviews import (
    Review,
    append_review,
    decisions,
    load_reviews,
    make_review,
    summarize,
)
from generator.schema import Rejection, Sample, Where

METADATA_JSONL = "metadata.jsonl"
REJECTED_JSONL = "rejected.jsonl"
STATUSES = ("all", "unreviewed", "reviewed", "accepted", "rejected")
FILTER_KEYS = ("fake_cls", "shot", "backdrop_kind", "status")
MAX_PAGE = 500


@dataclass(frozen=True)
class Filters:
    fake_cls: str = ""
    shot: str = ""
    backdrop_kind: str = ""
    status: str = "all"

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> Filters:
        status = query.get("status", "all") or "all"
        if status not in STATUSES:
            raise UsageError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        return cls(
            query.get("fake_cls", ""), query.get("shot", ""), query.get("backdrop_kind", ""), status
        )

    @property
    def empty(self) -> bool:
        return not (self.fake_cls or self.shot or self.backdrop_kind) and self.status == "all"


def safe_store_path(root: Path, rel: Any) -> Path | None:
    """``root.parent / rel`` when ``rel`` is a relative path inside the store, else None."""
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        return None
    parts = PurePosixPath(rel.replace("\\", "/")).parts
    if (
        not parts
        or parts[0] != root.name
        or ".." in parts
        or rel.startswith(("/", "\\"))
        or ":" in parts[0]
    ):
        return None
    return root.parent.joinpath(*parts)


def _status(review: Review | None) -> str:
    return (
        "unreviewed"
        if review is None
        else ("rejected" if review.decision == "reject" else "accepted")
    )


def _matches(status: str, want: str) -> bool:
    if want == "all":
        return True
    if want == "reviewed":
        return status != "unreviewed"
    return status == want


def _text(v: Any) -> str:
    return v if isinstance(v, str) else ("" if v is None else str(v))


def card_of(sample: Sample, size: tuple[int, int], review: Review | None) -> dict[str, Any]:
    """The grid's view of one sample: what a card shows (JSON-ready). The fields beyond the
    identity ones are as stored (see the module docstring), so each is taken defensively."""
    text = sample.text
    positions = [p for p in sample.fake_text_pos if isinstance(p, int)]
    try:
        segs = [[s, m] for s, m in segments(text, positions)]
    except ValueError:
        segs = [[text, False]]
    w, h = size
    boxes = []
    for b in sample.mtcnn_boxes:
        if len(b) == 4 and all(isinstance(v, (int, float)) for v in b):
            x1, y1, x2, y2 = (float(v) for v in b)
            boxes.append(
                [
                    round(100 * x1 / w, 3),
                    round(100 * y1 / h, 3),
                    round(100 * (x2 - x1) / w, 3),
                    round(100 * (y2 - y1) / h, 3),
                ]
            )
    return {
        "id": sample.id,
        "plan_key": sample.plan_key,
        "fake_cls": sample.fake_cls,
        "shot": _text(sample.shot),
        "backdrop_kind": _text(sample.backdrop_kind),
        "backdrop": _text(sample.backdrop),
        "segments": segs,
        "boxes": boxes,
        "image": f"image/{sample.id}",
        "status": _status(review),
        "reason": review.reason if review is not None else None,
    }


class _Lines:
    """The non-blank lines of a JSONL file's bytes, located on demand: opening a 150 MB ledger
    costs one read and one newline count, not a split into 100k objects."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._linenos: list[int] = []
        self._pos = self._lineno = 0
        self._done = False
        self._lock = threading.Lock()
        self._limit = data.rfind(b"\n") + 1  # newline-terminated lines end here
        tail = data[self._limit :]
        # A last line without its newline is a record when it parses whole, else a torn write.
        self._tail_ok = bool(tail.strip()) and _is_object(tail)
        self._estimate = data.count(b"\n") + int(self._tail_ok)  # exact unless blank lines

    def __len__(self) -> int:
        return len(self._starts) if self._done else self._estimate

    def _scan(self, row: int | None) -> None:
        with self._lock:
            data = self._data
            while not self._done and (row is None or len(self._starts) <= row):
                if self._pos >= self._limit:
                    if self._tail_ok:
                        self._add(self._limit, len(data), self._lineno + 1)
                    self._done = True
                    break
                nl = data.find(b"\n", self._pos, self._limit)
                self._lineno += 1
                if data[self._pos : nl].strip():
                    self._add(self._pos, nl, self._lineno)
                self._pos = nl + 1

    def _add(self, start: int, end: int, lineno: int) -> None:
        self._starts.append(start)
        self._ends.append(end)
        self._linenos.append(lineno)

    def get(self, row: int) -> tuple[bytes, int] | None:
        """(the line's bytes, its 1-based line number in the file), or None past the end."""
        if row < 0:
            return None
        if row >= len(self._starts):
            self._scan(row)
            if row >= len(self._starts):
                return None
        return self._data[self._starts[row] : self._ends[row]], self._linenos[row]

    def locate_all(self) -> int:
        self._scan(None)
        return len(self._starts)


def _is_object(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except ValueError:
        return False


class Catalog:
    """Read side of a store for the review page, plus the ledger writes (the caller holds the
    store's writer lock while a catalog may write)."""

    def __init__(self, root: str | os.PathLike[str], background: bool = True) -> None:
        self.root = Path(root)
        meta = self.root / METADATA_JSONL
        if not self.root.is_dir():
            raise UsageError(f"no dataset store at {self.root}")
        if not meta.exists():
            raise UsageError(
                f"{self.root} has no {METADATA_JSONL}: not a dgm4plus store, or nothing generated yet"
            )
        from generator.store_reader import store_rules

        self.rules = store_rules(self.root)  # a malformed store.json is one line
        self._lines = _Lines(meta.read_bytes())
        self.size = (self.rules.post_w, self.rules.post_h)
        self._parsed: dict[int, Sample] = {}
        self._seen: dict[int, int] = {}  # id -> row of the records parsed so far
        self._guard = threading.Lock()
        self._ledger = threading.Lock()
        self._reviews = load_reviews(self.root)
        self._in_force = decisions(self._reviews)
        self._ready = threading.Event()
        self._error: UsageError | None = None
        self._ids: list[int] = []
        self._cols: dict[str, list[str]] = {}
        self._row_of: dict[int, int] = {}
        self._rejects: list[Rejection] | None = None
        self._started = False
        if not background:
            self.start_index(background=False)

    def start_index(self, background: bool = True) -> None:
        """Parse every line (once), in a thread by default. The server starts it after the first
        page has gone out, so parsing 100k records never delays what the reviewer sees first."""
        with self._guard:
            if self._started:
                return
            self._started = True
        if background:
            threading.Thread(target=self._index, name="review-index", daemon=True).start()
        else:
            self._index()

    # -- parsing ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._lines)

    def has(self, row: int) -> bool:
        return self._lines.get(row) is not None

    def record(self, row: int) -> Sample:
        with self._guard:
            rec = self._parsed.get(row)
        if rec is None:
            rec = self._parse(row)
            with self._guard:
                self._parsed[row] = rec
                self._seen[rec.id] = row
        return rec

    def _line(self, row: int) -> tuple[dict[str, Any], Where]:
        """Line ``row`` parsed as JSON (a JSON object, or one DataFileError), and where it is."""
        found = self._lines.get(row)
        if found is None:
            raise IndexError(row)
        raw, lineno = found
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            obj = None
        if not isinstance(obj, dict):
            raise DataFileError(self.root / METADATA_JSONL, lineno, "not a JSON object")
        return obj, (self.root / METADATA_JSONL, lineno)

    def _parse(self, row: int) -> Sample:
        obj, where = self._line(row)
        return Sample.from_json_trusted(obj, where=where, rules=self.rules)

    def _index(self) -> None:
        """The filter columns of every line. Lines not shown yet are read raw, for speed: each
        one's identity is checked (:meth:`Sample.check_identity`, the checks of the Samples the
        cards are built from), then only its three filter fields are read. Measured at 100k
        lines (one process, 2 cores): 1.0 s with no check, 1.3 s this way, 1.6 s building a
        Sample for every line, and the first filtered query waits for it."""
        ids: list[int] = []
        fake_cls: list[str] = []
        shot: list[str] = []
        kind: list[str] = []
        cols = {"fake_cls": fake_cls, "shot": shot, "backdrop_kind": kind}
        check, rules = Sample.check_identity, self.rules
        try:
            for row in range(self._lines.locate_all()):
                with self._guard:
                    rec = self._parsed.get(row)
                if rec is not None:
                    ids.append(rec.id)
                    fake_cls.append(rec.fake_cls)
                    shot.append(_text(rec.shot))
                    kind.append(_text(rec.backdrop_kind))
                    continue
                obj, where = self._line(row)
                check(obj, where=where, rules=rules)
                ids.append(obj["id"])
                fake_cls.append(obj["fake_cls"])
                shot.append(_text(obj.get("shot")))
                kind.append(_text(obj.get("backdrop_kind")))
        except UsageError as exc:
            self._error = exc
        else:
            self._ids, self._cols = ids, cols
            self._row_of = {i: n for n, i in enumerate(ids)}
        self._ready.set()

    def wait_index(self, timeout: float | None = None) -> None:
        """Block until every line is parsed; a bad line is raised here (one clear line)."""
        self.start_index()
        self._ready.wait(timeout)
        if self._error is not None:
            raise self._error

    def check_index(self) -> None:
        """Raise the index's error, if parsing failed (never blocks, never starts it)."""
        if self._error is not None:
            raise self._error

    @property
    def indexed(self) -> bool:
        return self._ready.is_set() and self._error is None

    # -- queries ------------------------------------------------------------------------
    def review_of(self, ident: Any) -> Review | None:
        with self._ledger:
            return self._in_force.get(ident) if isinstance(ident, int) else None

    def card(self, row: int) -> dict[str, Any]:
        rec = self.record(row)
        return card_of(rec, self.size, self.review_of(rec.id))

    def query(self, filters: Filters, offset: int = 0, limit: int = 60) -> dict[str, Any]:
        """One page of cards: ``{"total", "offset", "cards", "indexed"}``."""
        offset = max(0, offset)
        limit = max(1, min(MAX_PAGE, limit))
        if filters.empty:
            rows: list[int] | range = range(len(self._lines))
        else:
            self.wait_index()
            rows = self._filter_rows(filters)
        page = [r for r in rows[offset : offset + limit] if self.has(r)]
        return {
            "total": len(self._lines) if filters.empty else len(rows),
            "offset": offset,
            "cards": [self.card(r) for r in page],
            "indexed": self.indexed,
        }

    def _filter_rows(self, f: Filters) -> list[int]:
        cls, shot, kind = self._cols["fake_cls"], self._cols["shot"], self._cols["backdrop_kind"]
        with self._ledger:
            in_force = dict(self._in_force)
        out = []
        for n, ident in enumerate(self._ids):
            if f.fake_cls and cls[n] != f.fake_cls:
                continue
            if f.shot and shot[n] != f.shot:
                continue
            if f.backdrop_kind and kind[n] != f.backdrop_kind:
                continue
            if f.status != "all" and not _matches(_status(in_force.get(ident)), f.status):
                continue
            out.append(n)
        return out

    def facets(self) -> dict[str, list[str]]:
        """The values each filter can take (after the index is built)."""
        self.wait_index()
        return {k: sorted(set(v) - {""}) for k, v in self._cols.items()}

    def row_of(self, ident: int) -> int | None:
        with self._guard:  # a card already shown: no need to wait for the whole index
            row = self._seen.get(ident)
        if row is not None:
            return row
        self.wait_index()
        return self._row_of.get(ident)

    def detail(self, ident: int) -> dict[str, Any] | None:
        """Every field of one record, its card and its decision history."""
        row = self.row_of(ident)
        if row is None:
            return None
        with self._ledger:
            history = [r.__dict__ for r in self._reviews if r.id == ident]
        return {"record": self.record(row).to_json(), "card": self.card(row), "history": history}

    def image_file(self, ident: int) -> Path | None:
        row = self.row_of(ident)
        if row is None:
            return None
        return safe_store_path(self.root, self.record(row).image)

    def summary(self) -> dict[str, Any]:
        self.wait_index()
        with self._ledger:
            s = summarize(self._in_force, self._ids)
        return s.as_dict()

    # -- gate rejects (kept with --keep-rejected) --------------------------------------
    def gate_rejects(self) -> list[Rejection]:
        """rejected.jsonl as the page shows it; ``image`` (or ``images``) entries become
        URLs when the file lies inside the store."""
        if self._rejects is None:
            out: list[Rejection] = []
            path = self.root / REJECTED_JSONL
            try:
                raw = path.read_bytes()
            except OSError:
                raw = b""
            for lineno, line in enumerate(raw.split(b"\n"), start=1):
                if not line.strip():
                    continue
                # A torn or foreign line is skipped: the view is only a view.
                with contextlib.suppress(ValueError, DataFileError):
                    out.append(Rejection.from_json(json.loads(line), where=(path, lineno)))
            self._rejects = out
        return self._rejects

    def reject_images(self, entry: Rejection) -> list[str]:
        return entry.images

    def gate_page(
        self, offset: int = 0, limit: int = 60, with_image_only: bool = False
    ) -> dict[str, Any]:
        rows = self.gate_rejects()
        picked = [
            (n, e) for n, e in enumerate(rows) if not with_image_only or self.reject_images(e)
        ]
        page = picked[max(0, offset) : max(0, offset) + max(1, min(MAX_PAGE, limit))]
        items = []
        for n, e in page:
            urls = []
            for j, rel in enumerate(self.reject_images(e)):
                p = safe_store_path(self.root, rel)
                if p is None:
                    p = safe_store_path(self.root, f"{self.root.name}/{rel}")
                if p is not None and p.is_file():
                    urls.append(f"rejected-image/{n}/{j}")
            items.append(
                {
                    "row": n,
                    "plan_key": e.plan_key,
                    "fake_cls": _text(e.fake_cls),
                    "reason": e.reason,
                    "attempt_reasons": list(e.attempt_reasons),
                    "calls": e.calls,
                    "images": urls,
                }
            )
        with_images = sum(1 for e in rows if self.reject_images(e))
        return {"total": len(picked), "with_images": with_images, "offset": offset, "items": items}

    def reject_image_file(self, row: int, j: int) -> Path | None:
        rows = self.gate_rejects()
        if not 0 <= row < len(rows):
            return None
        imgs = self.reject_images(rows[row])
        if not 0 <= j < len(imgs):
            return None
        p = safe_store_path(self.root, imgs[j]) or safe_store_path(
            self.root, f"{self.root.name}/{imgs[j]}"
        )
        return p if p is not None and p.is_file() else None

    # -- writing (the caller holds the writer lock) ------------------------------------
    def decide(self, ident: int, decision: str, reason: str | None = None) -> dict[str, Any]:
        """Append one decision to reviews.jsonl; return the sample's new card."""
        row = self.row_of(ident)
        if row is None:
            raise UsageError(f"no sample with id {ident} in {self.root}")
        review = make_review(ident, decision, reason)
        if decision == "reject" and review.reason is None:
            raise UsageError("a rejection needs a reason")
        with self._ledger:
            append_review(self.root, review)
            self._reviews.append(review)
            self._in_force = decisions(self._reviews)
        return self.card(row)
