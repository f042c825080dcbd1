"""The review ledger: human decisions about stored samples, in ``ROOT/reviews.jsonl``.

One JSON object a line, appended and fsynced, never rewritten::

    {"id": 1200000017, "decision": "reject", "reason": "readable signage", "time": "2026-12-01T20:30:00+00:00"}

Decisions are ``accept`` (looked at, fine), ``reject`` (leave it out of every release) and
``undo`` (take back this id's previous decision). The ledger is replayed in order: per id,
``accept`` / ``reject`` push a decision, ``undo`` pops one, and the decision on top is the one
in force (the latest wins; an undone reject is no longer a reject). Nothing is ever deleted, so
the history of a review stays auditable.

Rejected samples keep their record in ``metadata.jsonl`` (their plan key stays used, so the
generator never pays for the same image again); every reader that builds a release drops them
through :func:`drop_rejected`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from generator.errors import DataFileError, UsageError

REVIEWS_JSONL = "reviews.jsonl"
DECISIONS = ("accept", "reject", "undo")
#: Longest reason kept; a reason is one line of plain text.
MAX_REASON = 300


@dataclass(frozen=True)
class Review:
    """One line of the ledger."""

    id: int
    decision: str
    reason: str | None
    time: str

    def to_json(self) -> str:
        return json.dumps(
            {"id": self.id, "decision": self.decision, "reason": self.reason, "time": self.time},
            ensure_ascii=False,
        )


@dataclass(frozen=True)
class ReviewSummary:
    """What the ledger says about a store (only ids that the store holds are counted)."""

    total: int
    reviewed: int
    accepted: int
    rejected: int
    reasons: dict[str, int] = field(default_factory=dict)  # rejection reason -> count

    @property
    def unreviewed(self) -> int:
        return self.total - self.reviewed

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "reviewed": self.reviewed,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "unreviewed": self.unreviewed,
            "reasons": dict(self.reasons),
        }

    def line(self) -> str:
        """One human line, e.g. for ``validate``."""
        if self.total == 0:
            return "review: the store holds no samples"
        share = 100.0 * self.reviewed / self.total
        text = f"review: {self.reviewed} of {self.total} samples reviewed ({share:.1f}%), {self.rejected} rejected"
        if self.reasons:
            text += " (" + ", ".join(f"{r}: {n}" for r, n in self.reasons.items()) + ")"
        return text


def clean_reason(reason: str | None) -> str | None:
    """A reason as stored: one line, trimmed, at most MAX_REASON characters; None when empty."""
    if reason is None:
        return None
    text = " ".join(str(reason).split())
    return text[:MAX_REASON] or None


def make_review(
    sample_id: int, decision: str, reason: str | None = None, when: datetime | None = None
) -> Review:
    """A checked ledger entry (a bad decision is a UsageError naming it)."""
    if decision not in DECISIONS:
        raise UsageError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
    if isinstance(sample_id, bool) or not isinstance(sample_id, int):
        raise UsageError(f"a sample id must be an integer, got {sample_id!r}")
    stamp = (when or datetime.now(UTC)).isoformat(timespec="seconds")
    return Review(
        sample_id, decision, clean_reason(reason) if decision == "reject" else None, stamp
    )


def _parse(obj: Any, path: Path, lineno: int) -> Review:
    if not isinstance(obj, dict):
        raise DataFileError(path, lineno, "not a JSON object")
    ident = obj.get("id")
    if isinstance(ident, bool) or not isinstance(ident, int):
        raise DataFileError(path, lineno, "'id' must be an integer sample id")
    decision = obj.get("decision")
    if decision not in DECISIONS:
        raise DataFileError(path, lineno, f"'decision' must be one of {', '.join(DECISIONS)}")
    reason = obj.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise DataFileError(path, lineno, "'reason' must be a string or null")
    return Review(ident, decision, reason, str(obj.get("time", "")))


def load_reviews(root: str | os.PathLike[str]) -> list[Review]:
    """Every ledger entry of the store at ``root``, in order; none when there is no ledger.

    A torn last line (a crash in the middle of an append) is ignored; a bad line anywhere else is
    a :class:`DataFileError` naming the file and the line.
    """
    path = Path(root) / REVIEWS_JSONL
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise DataFileError(path, None, f"cannot be read ({exc.strerror})") from None
    lines = data.split(b"\n")
    tail = lines.pop()  # bytes after the last newline: a line cut short, or b""
    out: list[Review] = []
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise DataFileError(path, lineno, "not valid JSON; fix or remove this line") from None
        out.append(_parse(obj, path, lineno))
    whole = _whole_tail(tail, path, len(lines) + 1)
    if whole is not None:  # written whole but for its newline; any other tail is a torn line
        out.append(whole)
    return out


def _whole_tail(tail: bytes, path: Path, lineno: int) -> Review | None:
    if not tail.strip():
        return None
    try:
        return _parse(json.loads(tail), path, lineno)
    except (ValueError, UsageError):
        return None


def decisions(reviews: Iterable[Review]) -> dict[int, Review]:
    """The decision in force per id (ids whose every decision was undone are absent)."""
    stacks: dict[int, list[Review]] = {}
    for r in reviews:
        stack = stacks.setdefault(r.id, [])
        if r.decision == "undo":
            if stack:
                stack.pop()
        else:
            stack.append(r)
    return {i: s[-1] for i, s in stacks.items() if s}


def rejected_ids(root: str | os.PathLike[str]) -> frozenset[int]:
    """Ids of the samples a reviewer rejected (the decision in force is ``reject``)."""
    return frozenset(i for i, r in decisions(load_reviews(root)).items() if r.decision == "reject")


_T = TypeVar("_T")


def _id_of(item: Any) -> Any:
    return item.get("id") if isinstance(item, Mapping) else getattr(item, "id", None)


def drop_rejected(root: str | os.PathLike[str], items: list[_T]) -> list[_T]:
    """``items`` (records as dicts, or objects with an ``id``) without the human-rejected ones,
    in the same order; the list itself when nothing is rejected."""
    gone = rejected_ids(root)
    if not gone:
        return items
    return [r for r in items if _id_of(r) not in gone]


def summarize(in_force: Mapping[int, Review], ids: Iterable[int]) -> ReviewSummary:
    """Counts over the store's ``ids``: reviewed, accepted, rejected, rejections per reason
    (most frequent first; a reject without a reason counts as "no reason given")."""
    total = reviewed = accepted = rejected = 0
    reasons: Counter[str] = Counter()
    for i in ids:
        total += 1
        r = in_force.get(i)
        if r is None:
            continue
        reviewed += 1
        if r.decision == "reject":
            rejected += 1
            reasons[r.reason or "no reason given"] += 1
        else:
            accepted += 1
    ordered = dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    return ReviewSummary(total, reviewed, accepted, rejected, ordered)


def review_summary(root: str | os.PathLike[str], ids: Iterable[int] | None = None) -> ReviewSummary:
    """Review coverage of the store at ``root``: over ``ids`` when given (e.g. the records being
    released), else over every id in its ``metadata.jsonl``."""
    if ids is None:
        from generator.store_reader import METADATA_JSONL, read_lines

        # Raw lines: validate counts coverage over every stored id, parsable record or not.
        rows, _ = read_lines(Path(root) / METADATA_JSONL)
        ids = [o["id"] for _, o in rows if isinstance(o, dict) and isinstance(o.get("id"), int)]
    return summarize(decisions(load_reviews(root)), ids)


def review_problems(root: str | os.PathLike[str], ids: Iterable[Any]) -> list[str]:
    """The ledger's problems for ``validate``: a bad line, or a decision about an id that the
    store does not hold (a typo, or a ledger copied from another store)."""
    try:
        reviews = load_reviews(root)
    except UsageError as exc:
        return [str(exc)]
    known = set(ids)
    path = Path(root) / REVIEWS_JSONL
    strangers = sorted({r.id for r in reviews} - known)
    return [f"{path}: decision about id {i}, which is not in this store" for i in strangers]


def append_review(root: str | os.PathLike[str], review: Review) -> None:
    """Append one decision durably (flushed and fsynced before returning).

    The caller holds the store's writer lock (:class:`generator.lock.StoreLock`).
    """
    data = (review.to_json() + "\n").encode("utf-8")
    path = Path(root) / REVIEWS_JSONL
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            # A crash mid-append left a last line without its newline: end it when it is whole
            # (load_reviews counts it), else cut it back (load_reviews ignores it); never glue.
            body = os.pread(fd, size, 0)
            cut = body.rfind(b"\n") + 1
            if _whole_tail(body[cut:], path, 0) is not None:
                data = b"\n" + data
            else:
                os.ftruncate(fd, cut)
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = [
    "DECISIONS",
    "REVIEWS_JSONL",
    "Review",
    "ReviewSummary",
    "append_review",
    "clean_reason",
    "decisions",
    "drop_rejected",
    "load_reviews",
    "make_review",
    "rejected_ids",
    "review_problems",
    "review_summary",
    "summarize",
]
