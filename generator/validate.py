"""`dgm4plus validate DIR`: read-only audit of a store. Returns one line per problem.

Every record goes through :class:`generator.schema.Sample` with the store's own settings
(``store.json``: POST_W, POST_H, ID_OFFSET; the last run's PHASH_DISTANCE_MAX): a record that
does not parse is one problem naming the file, line and field, and the audit goes on with the
others. Then the checks that need the whole store or the pixels: images decode and have the
store's size, no orphan images, unique ids and captions, no two images within the pHash
distance, HAMMER's token-level spans, tidy headlines, ``metadata.json`` equal to the ledger.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from PIL import Image

from generator.config import BUCKETS
from generator.errors import DataFileError, UsageError
from generator.lock import writer_of
from generator.reviews import review_problems
from generator.schema import Sample
from generator.store import METADATA_JSON, METADATA_JSONL, warn
from generator.store_reader import read_lines, store_rules
from generator.text.grammar import headline_problems
from generator.text.tokenize import hammer_span_problems
from generator.vision.dedup import PHashIndex, phash64

MAX_LISTED = 200


def _headline_body(s: Sample) -> str:
    """The caption without its dateline and separator."""
    text, dateline = s.text, s.dateline or ""
    for sep in (" — ", ": "):
        if dateline and text.startswith(dateline + sep):
            return text[len(dateline) + len(sep) :]
    return text


def _inside(root: Path, rel: object) -> Path | None:
    """The resolved file a record's ``image`` names, when it is a path inside the store."""
    if not isinstance(rel, str) or not rel:
        return None
    parts = Path(rel).parts
    if Path(rel).is_absolute() or ".." in parts or not parts or parts[0] != root.name:
        return None
    return (root.parent / rel).resolve()


def _hashable(value: object) -> object:
    return value if isinstance(value, str | int | float | type(None)) else repr(value)


class _Skip(Exception):
    """The snapshot check does not apply (a writer is running)."""


def validate_store(root: Path) -> list[str]:
    root = Path(root)
    meta = root / METADATA_JSONL
    if not meta.exists():
        raise UsageError(f"{root}: no {METADATA_JSONL} (not a dgm4plus store)")
    rules = store_rules(root)  # a malformed store.json is one line, exit 2
    w, h = rules.post_w, rules.post_h
    problems: list[str] = []
    # A writer at work: check the records it has committed (each one's image was complete
    # before its line was written); its unrecorded images and the snapshot are still moving.
    writer = writer_of(root)
    rows, torn = read_lines(meta)  # raw lines: a record that fails the schema is still audited
    if writer is not None:
        warn(
            f"{root} is being written ({writer.describe()}): checked the {len(rows)} records "
            "committed so far; the orphan-file and snapshot checks are skipped (validate again "
            "when it finishes)"
        )
        torn = False  # the line being appended right now
    if torn:
        problems.append(f"{meta}: torn last line (a run crashed mid-write; `generate` repairs it)")
    referenced: set[Path] = set()
    records = [(n, obj) for n, obj in rows if isinstance(obj, dict)]
    # Duplicates are counted over every record, parsable or not (a duplicated line, or an id
    # reused by a record that is wrong in other ways too, is still a duplicate).
    ids: Counter[object] = Counter(_hashable(obj.get("id")) for _, obj in records)
    texts: Counter[object] = Counter(_hashable(obj.get("text")) for _, obj in records)
    index = PHashIndex(rules.phash_distance)
    for lineno, obj in rows:
        key = obj.get("plan_key") if isinstance(obj, dict) else None
        key = key if isinstance(key, str) else f"{meta}:{lineno}"
        if isinstance(obj, dict):
            if ids[_hashable(obj.get("id"))] > 1:
                problems.append(f"{key}: id {obj.get('id')!r} is not unique")
            if texts[_hashable(obj.get("text"))] > 1:
                problems.append(f"{key}: caption is not unique: {obj.get('text')!r}")
        try:
            s = Sample.from_json(obj, where=(meta, lineno), rules=rules)
        except DataFileError as exc:
            problems.append(str(exc))
            found = _inside(root, obj.get("image") if isinstance(obj, dict) else None)
            if found is not None:
                referenced.add(found)  # its image is not an orphan: its record is what is wrong
            continue
        path = root.parent / s.image
        referenced.add(path.resolve())
        try:
            with Image.open(path) as im:
                im.load()
                if im.size != (w, h):
                    problems.append(f"{key}: image is {im.size[0]}x{im.size[1]}, expected {w}x{h}")
                hsh = phash64(im.convert("RGB"))
        except FileNotFoundError:
            problems.append(f"{key}: image {s.image} is missing")
            continue
        except Exception as exc:  # noqa: BLE001 - any decode error is a broken image
            problems.append(f"{key}: image {s.image} does not decode ({type(exc).__name__})")
            continue
        for other, dist in index.find(hsh):
            problems.append(f"{key}: image within pHash distance {dist} of {other}")
        index.add(hsh, key)
        # token level: the labels HAMMER's BERT tokenizer will really see
        problems.extend(
            f"{key}: HAMMER tokens: {p}" for p in hammer_span_problems(s.text, s.fake_text_pos)
        )
        for problem in headline_problems(_headline_body(s)):
            problems.append(f"{key}: caption {problem}: {s.text!r}")
    for bucket, (_, folder) in BUCKETS.items():
        d = root / folder
        if d.is_dir() and writer is None:
            for p in sorted(d.iterdir()):
                if p.resolve() not in referenced:
                    problems.append(f"{p}: orphan file ({bucket}) with no record")
    snap = root / METADATA_JSON
    try:
        if writer is not None:
            raise _Skip
        snapshot = json.loads(snap.read_text(encoding="utf-8"))
        if snapshot != [obj for _, obj in rows]:
            count = len(snapshot) if isinstance(snapshot, list) else "not a list of"
            problems.append(
                f"{snap}: differs from {METADATA_JSONL} ({count} vs {len(rows)} records)"
            )
    except _Skip:
        pass
    except FileNotFoundError:
        problems.append(f"{snap}: missing")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problems.append(f"{snap}: not valid JSON ({type(exc).__name__})")
    problems.extend(review_problems(root, [obj.get("id") for _, obj in records]))
    if len(problems) > MAX_LISTED:
        problems = [*problems[:MAX_LISTED], f"... and {len(problems) - MAX_LISTED} more"]
    return problems
