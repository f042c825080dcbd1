"""Read-only access to a store: its samples, its settings and its images.

The builder, ``validate`` and the exports read a store only through this module; the writer is
:mod:`generator.store`. Every malformed input is one :class:`~generator.errors.DataFileError` or
:class:`~generator.errors.UsageError` line naming the file, line and field, never a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image

from generator.errors import DataFileError, UsageError
from generator.reviews import REVIEWS_JSONL, drop_rejected
from generator.schema import Sample, SampleRules

METADATA_JSONL = "metadata.jsonl"
MANIFEST = "store.json"
RUNS_JSONL = "runs.jsonl"
DEFAULT_DATA_DIR = "DGM4"
#: Bump when the rows the builder emits change for the same store (it invalidates old caches).
SCHEMA_REVISION = "2"


def resolve_store(data_dir: str | os.PathLike[str] | None) -> Path:
    """The store folder as an absolute path (a relative one is taken from the current folder)."""
    raw = Path(data_dir if data_dir else DEFAULT_DATA_DIR).expanduser()
    return raw if raw.is_absolute() else Path.cwd() / raw


def store_fingerprint(data_dir: str | os.PathLike[str] | None) -> str:
    """A short hash of where the store is and of its metadata's size and time.

    It keys the ``datasets`` cache, so a store that grew (or another store under the same
    relative name) is never served from an old cache.
    """
    root = resolve_store(data_dir)
    h = hashlib.sha256(f"{SCHEMA_REVISION}\0{root}\0".encode())
    for name in (METADATA_JSONL, MANIFEST, REVIEWS_JSONL):
        try:
            st = (root / name).stat()
            h.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
        except OSError:
            h.update(f"no-{name}".encode())
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------------------------
# Settings


def _json_object(path: Path) -> dict[str, Any] | None:
    """A JSON file that must hold an object; None when it does not exist."""
    if path.is_dir():
        raise DataFileError(path, None, "is a folder, not a JSON file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DataFileError(path, None, f"cannot be read ({exc.strerror})") from None
    try:
        obj = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise DataFileError(path, None, "not valid JSON") from None
    if not isinstance(obj, dict):
        raise DataFileError(path, None, f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _setting(path: Path, obj: dict[str, Any], key: str, default: int, lo: int) -> int:
    value = obj.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < lo:
        raise DataFileError(path, None, f"{key} must be an integer >= {lo}, got {value!r}")
    return value


def store_rules(root: Path) -> SampleRules:
    """The settings the store's records are checked against: image size and id offset from
    ``store.json`` (the knobs the store is bound to), the pHash distance of its last run."""
    root = Path(root)
    defaults = SampleRules(store_name=root.name)
    manifest = _json_object(root / MANIFEST) or {}
    path = root / MANIFEST
    phash = defaults.phash_distance
    runs = read_lines(root / RUNS_JSONL)[0] if (root / RUNS_JSONL).is_file() else []
    if runs:
        config = runs[-1][1].get("config")
        value = config.get("PHASH_DISTANCE_MAX") if isinstance(config, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 64:
            phash = value
    return SampleRules(
        store_name=root.name,
        post_w=_setting(path, manifest, "POST_W", defaults.post_w, 1),
        post_h=_setting(path, manifest, "POST_H", defaults.post_h, 1),
        id_offset=_setting(path, manifest, "ID_OFFSET", defaults.id_offset, 0),
        phash_distance=phash,
    )


# ----------------------------------------------------------------------------------------
# Records


def read_lines(path: Path) -> tuple[list[tuple[int, Any]], bool]:
    """(line number, parsed JSON) of every non-blank line of a JSONL ledger, and whether its
    last line is torn (a crash mid-append: not JSON; it is ignored, the writer repairs it).
    A line that is not JSON anywhere else is one DataFileError naming the line."""
    if path.is_dir():
        raise DataFileError(path, None, "is a folder, not a JSONL file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataFileError(path, None, f"cannot be read ({exc.strerror})") from None
    lines = data.split(b"\n")
    if lines and not lines[-1].strip():
        lines.pop()
    rows: list[tuple[int, Any]] = []
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            rows.append((lineno, json.loads(raw)))
        except (json.JSONDecodeError, UnicodeDecodeError):
            if lineno == len(lines):
                return rows, True
            raise DataFileError(path, lineno, "not valid JSON; fix or remove this line") from None
    return rows, False


def _metadata(root: Path) -> Path:
    root = Path(root)
    meta = root / METADATA_JSONL
    if not root.is_dir():
        raise UsageError(f"no dataset store at {root} (run `dgm4plus generate --out {root}` first)")
    if not meta.exists():
        raise UsageError(
            f"{root} has no {METADATA_JSONL}: not a dgm4plus store, or nothing generated yet"
        )
    return meta


def parse_samples(
    root: Path, rules: SampleRules | None = None
) -> Iterator[tuple[int, Sample | DataFileError]]:
    """(line number, Sample or the error of that line) for every record, in file order.
    For the audit, which lists every bad line instead of stopping at the first."""
    meta = _metadata(root)
    rules = rules or store_rules(Path(root))
    where = str(meta)
    for lineno, obj in read_lines(meta)[0]:
        try:
            yield lineno, Sample.from_json(obj, where=(where, lineno), rules=rules)
        except DataFileError as exc:
            yield lineno, exc


def load_samples(root: Path, rules: SampleRules | None = None) -> list[Sample]:
    """Every sample of the store at ``root``, checked, sorted by id.

    The first bad record, a duplicated id, or an empty store is one clear error.
    """
    root = Path(root)
    meta = _metadata(root)
    rules = rules or store_rules(root)
    seen: dict[int, int] = {}
    samples: list[Sample] = []
    for lineno, item in parse_samples(root, rules):
        if isinstance(item, DataFileError):
            raise item
        first = seen.setdefault(item.id, lineno)
        if first != lineno:
            raise DataFileError(
                meta,
                lineno,
                f"field 'id': {item.id} appears twice (first on line {first}); "
                "a store holds each sample once",
            )
        samples.append(item)
    if not samples:
        raise UsageError(f"{meta} holds no records yet (run `dgm4plus generate --out {root}`)")
    samples = drop_rejected(root, samples)  # human review: a rejected sample is in no release
    if not samples:
        raise UsageError(f"{root}: every sample was rejected in review (reviews.jsonl)")
    samples.sort(key=lambda s: s.id)
    return samples


# ----------------------------------------------------------------------------------------
# Images


def image_path(root: Path, sample: Sample) -> Path:
    """Where a sample's image lies: ``root.parent / sample.image``, checked to stay in the store
    (the schema checked the path's form; this refuses a class folder linked to elsewhere)."""
    return image_file(root, sample.image)


def image_file(root: Path, rel: str) -> Path:
    """``root.parent / rel`` for a record path that :class:`Sample` checked, refused when it
    resolves outside the store (a class folder that is a link to elsewhere)."""
    root = Path(root)
    path = root.parent / rel
    if not path.resolve().is_relative_to(root.resolve()):
        raise DataFileError(path, None, f"image resolves outside the store {root}")
    return path


@contextlib.contextmanager
def _image_errors(path: Path, sample: Sample) -> Iterator[None]:
    """A missing or unreadable image file as one DataFileError naming it."""
    try:
        yield
    except FileNotFoundError:
        raise DataFileError(
            path, None, f"image of record {sample.id} ({sample.image!r}) is missing"
        ) from None
    except OSError as exc:
        raise DataFileError(path, None, f"image cannot be read ({exc.strerror})") from None


def read_image(root: Path, sample: Sample, rules: SampleRules) -> bytes:
    """The JPEG bytes of a sample, checked to decode whole and to be POST_W x POST_H."""
    path = image_path(root, sample)
    with _image_errors(path, sample):
        data = path.read_bytes()
    check_image_bytes(path, data, rules)
    return data


#: (path, size, mtime_ns, POST_W, POST_H) of image files already checked by this process: an
#: export builds four configurations over the same images and checks each file once.
_VERIFIED: set[tuple[str, int, int, int, int]] = set()


def verify_image(root: Path, sample: Sample, rules: SampleRules) -> None:
    """:func:`read_image`'s checks, skipped for a file this process already checked unchanged."""
    path = image_path(root, sample)
    with _image_errors(path, sample):
        st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns, rules.post_w, rules.post_h)
    if key in _VERIFIED:
        return
    read_image(root, sample, rules)
    _VERIFIED.add(key)


def check_image_bytes(path: Path, data: bytes, rules: SampleRules) -> None:
    """Raise DataFileError unless ``data`` is a whole image of the store's size."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            size = im.size
            # Decoding at 1/8 scale reads the whole JPEG stream (a truncated file still fails)
            # at a fraction of the cost of a full decode.
            im.draft("RGB", (max(1, size[0] // 8), max(1, size[1] // 8)))
            im.load()
    except Exception as exc:  # noqa: BLE001 - any decode failure is a broken image
        raise DataFileError(
            path, None, f"image does not decode ({type(exc).__name__}: {exc})"
        ) from None
    if size != (rules.post_w, rules.post_h):
        raise DataFileError(
            path,
            None,
            f"image is {size[0]}x{size[1]}, expected {rules.post_w}x{rules.post_h} "
            "(the store's POST_W x POST_H)",
        )


__all__ = [
    "DEFAULT_DATA_DIR",
    "check_image_bytes",
    "image_file",
    "image_path",
    "load_samples",
    "parse_samples",
    "read_image",
    "read_lines",
    "resolve_store",
    "store_fingerprint",
    "store_rules",
    "verify_image",
]
