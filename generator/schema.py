"""The one definition of a stored DGM4+ sample: :class:`Sample`, its checks and its features.

A sample is one line of ``metadata.jsonl``. :meth:`Sample.from_json` turns a parsed line into a
frozen, typed record or raises :class:`~generator.errors.DataFileError` naming the file, the line
and the field (``DGM4/metadata.jsonl:17: field 'phash': expected 16 hex digits, got 'zz'``);
:meth:`Sample.to_json` gives the stored dict back. The checks depend on the store's own settings
(image size, id offset, folder name), passed as a :class:`SampleRules`. The store's writer holds
its records as Samples too (``Store.records``), built on resume by :meth:`Sample.from_json_trusted`
(the identity fields checked, the rest as stored, in one pass): dicts exist only at the edges,
parsing a line and writing one.

``rejected.jsonl`` has its own record, :class:`Rejection` (an item's verdict, a rejected
generation attempt, or a record ``merge`` left out), with the same ``from_json(obj, where=...)``
/ ``to_json()`` pair; ``to_json`` writes each kind's keys in the order the generator always has.

Adding a field (e.g. ``cost_usd`` or ``usage`` for billing, a model licence): add an attribute
with a default (``None``) below, one entry in ``_OPTIONAL`` naming its check and in ``FIELDS``,
its value in :meth:`Sample.to_json` (one literal, for speed; a test holds its keys to ``FIELDS``),
and, if releases should carry it, a feature in :func:`dgm4plus_features` and a value in
:meth:`Sample.to_example`.
Records written before the field existed still parse (the default fills in).

Unknown keys: a key this version does not declare is kept verbatim in :attr:`Sample.extra` and
written back by :meth:`Sample.to_json`, so a store written by a newer generator survives a rewrite
by an older one. Unknown keys are never released (the builder and the exports emit only declared
fields).

``fake_image_box``: DGM4's convention, ``[]`` when no image region was edited. No DGM4+ class
edits a region (the whole scene is inconsistent, nothing was pasted in), so the generator stores
``[]``; a release can instead carry the whole frame ``[0, 0, POST_W, POST_H]`` for global
grounding (``FAKE_IMAGE_BOX = full``, see :func:`released_image_box`). The choice is made at
export, not when records are written: the box carries no information beyond the image size, so
one paid store can be released either way without regenerating anything.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from generator import meta
from generator.config import BUCKETS
from generator.errors import DataFileError
from generator.text.tokenize import DGM4_MAX_WORDS, dgm4_words

if TYPE_CHECKING:  # pragma: no cover
    import datasets

    from generator.config import Config

#: ``fake_cls`` names, in ClassLabel order (generator.meta; the plan's buckets, same order).
CLASS_NAMES: tuple[str, ...] = tuple(meta.CLASS_NAMES)
#: Id rule: ID_OFFSET + class index x ID_STRIDE + k.
ID_STRIDE = 100_000_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: The keys of a DGM4 record (HAMMER's loader reads these).
DGM4_KEYS = ("id", "image", "text", "fake_cls", "fake_image_box", "fake_text_pos", "mtcnn_boxes")
#: ``FAKE_IMAGE_BOX`` conventions: ``none`` is DGM4's ``[]``; ``full`` the whole frame.
FAKE_IMAGE_BOX_CHOICES = ("none", "full")
DEFAULT_FAKE_IMAGE_BOX = "none"

Where = tuple[object, "int | None"]
Box = tuple[int, int, int, int]

_HEX16 = re.compile(r"[0-9a-fA-F]{16}")


_CLASS_INDEX = {name: i for i, name in enumerate(CLASS_NAMES)}


def sample_id(id_offset: int, fake_cls: str, k: int) -> int:
    """The id of plan item ``fake_cls/k`` in a store with ``id_offset``."""
    return id_offset + _CLASS_INDEX[fake_cls] * ID_STRIDE + k


@dataclass(frozen=True, slots=True)
class SampleRules:
    """The store settings a record is checked against (from ``store.json`` and the run config)."""

    store_name: str = "DGM4"
    post_w: int = 400
    post_h: int = 256
    id_offset: int = 1_000_000_000
    #: HAMMER keeps this many words of a caption (``pre_caption(text, 50)``).
    max_words: int = DGM4_MAX_WORDS
    #: pHash Hamming distance that counts as a duplicate (validate's audit).
    phash_distance: int = 3

    @classmethod
    def from_config(cls, cfg: Config, store_name: str | None = None) -> SampleRules:
        return cls(
            store_name=store_name or cfg.OUT_ROOT.name,
            post_w=cfg.POST_W,
            post_h=cfg.POST_H,
            id_offset=cfg.ID_OFFSET,
            phash_distance=cfg.PHASH_DISTANCE_MAX,
        )

    def image_name(self, fake_cls: str, ident: int) -> str:
        """The record ``image`` path of sample ``ident``: ``<store>/<class folder>/<id>.jpg``."""
        return f"{self.store_name}/{BUCKETS[fake_cls][1]}/{ident}.jpg"

    @property
    def frame(self) -> Box:
        return (0, 0, self.post_w, self.post_h)


class _Bad(Exception):
    """A field that fails its check: (field, message) become one DataFileError line."""

    def __init__(self, name: str | None, message: str) -> None:
        super().__init__(message if name is None else f"field {name!r}: {message}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _int(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Bad(name, f"expected an integer, got {_show(value)}")
    return value


def _str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad(name, f"expected a string, got {_show(value)}")
    return value


def _opt_str(name: str, value: Any) -> str | None:
    return None if value is None else _str(name, value)


def _opt_int(name: str, value: Any) -> int | None:
    return None if value is None else _int(name, value)


def _probs(name: str, value: Any) -> tuple[float, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _Bad(name, f"expected a list of probabilities, got {_show(value)}")
    out = []
    for p in value:
        ok = isinstance(p, int | float) and not isinstance(p, bool)
        if not ok or not math.isfinite(p) or not 0.0 <= p <= 1.0:
            raise _Bad(name, f"expected probabilities in [0, 1], got {_show(p)}")
        out.append(float(p))
    return tuple(out)


def _box(name: str, value: Any, rules: SampleRules) -> Box:
    if type(value) is not list or len(value) != 4:
        raise _Bad(name, f"expected [x1, y1, x2, y2] of integers, got {_show(value)}")
    x1, y1, x2, y2 = value
    # ``type(v) is int`` (not isinstance): a bool is not a coordinate.
    if not (type(x1) is int and type(y1) is int and type(x2) is int and type(y2) is int):
        raise _Bad(name, f"expected [x1, y1, x2, y2] of integers, got {_show(value)}")
    if not (0 <= x1 <= x2 <= rules.post_w and 0 <= y1 <= y2 <= rules.post_h):
        raise _Bad(name, f"box {value} is not inside the {rules.post_w}x{rules.post_h} image")
    return (x1, y1, x2, y2)


#: Optional provenance: key -> check (value -> typed value). Missing keys take the default.
_OPTIONAL: dict[str, Callable[[str, Any], Any]] = {
    "literal_text": _opt_str,
    "backdrop": _opt_str,
    "backdrop_kind": _opt_str,
    "shot": _opt_str,
    "lighting": _opt_str,
    "dateline": _opt_str,
    "role": _opt_str,
    "event": _opt_str,
    "num_people": _opt_int,
    "prompt": _opt_str,
    "face_probs": _probs,
    "backend": _opt_str,
    "model": _opt_str,
    "quality": _opt_str,
    "seed": _opt_int,
    "attempt": _opt_int,
}
_OPTIONAL_STR = tuple(k for k, check in _OPTIONAL.items() if check is _opt_str)
_OPTIONAL_OTHER = {k: check for k, check in _OPTIONAL.items() if check is not _opt_str}
_REQUIRED = (
    "id",
    "image",
    "text",
    "fake_cls",
    "fake_image_box",
    "fake_text_pos",
    "plan_key",
    "phash",
)
#: Every declared key, in the order records are written.
FIELDS: tuple[str, ...] = (
    "id",
    "image",
    "text",
    "fake_cls",
    "fake_image_box",
    "fake_text_pos",
    "mtcnn_boxes",
    "plan_key",
    "literal_text",
    "backdrop",
    "backdrop_kind",
    "shot",
    "lighting",
    "dateline",
    "role",
    "event",
    "num_people",
    "prompt",
    "phash",
    "face_probs",
    "backend",
    "model",
    "quality",
    "seed",
    "attempt",
)
_DECLARED = frozenset(FIELDS)


@dataclass(frozen=True, kw_only=True, slots=True)
class Sample:
    """One accepted sample, as stored in ``metadata.jsonl`` (see the module docstring)."""

    # DGM4's keys
    id: int
    image: str  # <store name>/<class folder>/<id>.jpg, relative to the store's parent
    text: str
    fake_cls: str
    fake_image_box: tuple[int, ...]  # () (no region edited) or (x1, y1, x2, y2)
    fake_text_pos: tuple[int, ...]  # indices into HAMMER's pre_caption(text, 50) words
    mtcnn_boxes: tuple[Box, ...] = ()
    # the plan item
    plan_key: str  # <fake_cls>/<k>
    literal_text: str | None = None
    backdrop: str | None = None
    backdrop_kind: str | None = None
    shot: str | None = None
    lighting: str | None = None
    dateline: str | None = None
    role: str | None = None
    event: str | None = None
    num_people: int | None = None
    prompt: str | None = None
    # the image
    phash: str  # 64-bit perceptual hash, 16 hex digits
    face_probs: tuple[float, ...] = ()
    backend: str | None = None
    model: str | None = None
    quality: str | None = None
    seed: int | None = None
    attempt: int | None = None
    #: Keys this version does not declare, kept verbatim (never released).
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    # -- parsing -------------------------------------------------------------------------
    @classmethod
    def from_json(cls, obj: Any, *, where: Where, rules: SampleRules) -> Sample:
        """Check one parsed ``metadata.jsonl`` line; raise DataFileError naming file:line."""
        try:
            return cls._parse(obj, rules)
        except _Bad as exc:
            raise DataFileError(where[0], where[1], str(exc)) from None

    @classmethod
    def _parse(cls, obj: Any, rules: SampleRules) -> Sample:
        ident, fake_cls, plan_key, text, image, phash = _identity(obj, rules)
        pos = _positions(obj["fake_text_pos"], text, fake_cls, rules)
        raw_box = obj["fake_image_box"]
        box: tuple[int, ...] = () if raw_box == [] else _box("fake_image_box", raw_box, rules)
        raw_faces = obj.get("mtcnn_boxes")
        if raw_faces is None:
            raw_faces = []
        if not isinstance(raw_faces, list):
            raise _Bad("mtcnn_boxes", f"expected a list of boxes, got {_show(raw_faces)}")
        faces = tuple(_box("mtcnn_boxes", b, rules) for b in raw_faces)
        optional: dict[str, Any] = {}
        get = obj.get
        for key in _OPTIONAL_STR:  # the common case inline: parsing 100k records stays fast
            value = get(key)
            if value is not None and type(value) is not str:
                raise _Bad(key, f"expected a string, got {_show(value)}")
            optional[key] = value
        for key, check in _OPTIONAL_OTHER.items():
            optional[key] = check(key, get(key))
        num_people = optional["num_people"]
        if num_people is not None and num_people < 0:
            raise _Bad("num_people", f"expected 0 or more, got {num_people}")
        unknown = obj.keys() - _DECLARED
        extra = {k: v for k, v in obj.items() if k in unknown} if unknown else {}
        return cls(
            id=ident,
            image=image,
            text=text,
            fake_cls=fake_cls,
            fake_image_box=box,
            fake_text_pos=pos,
            mtcnn_boxes=faces,
            plan_key=plan_key,
            phash=phash,
            extra=extra,
            **optional,
        )

    @classmethod
    def from_json_trusted(cls, obj: Any, *, where: Where, rules: SampleRules) -> Sample:
        """:meth:`check_identity` and construction in one pass, for resuming a large store.

        The identity fields (``id``, ``fake_cls``, ``plan_key``, ``text``, ``image``, ``phash``)
        are checked as :meth:`from_json` checks them; the other fields are taken as stored
        (their lists become tuples), so :meth:`to_json` gives the stored values back. The
        readers (builder, exports, validate) parse with :meth:`from_json`. A record that lacks
        an optional key, or whose lists are not lists, goes through :meth:`from_json`."""
        try:
            _identity(obj, rules)
            try:
                values = list(_ALL_FIELDS(obj))
            except KeyError:  # an optional key missing (an older record): the full parse
                return cls._parse(obj, rules)
            box, pos, faces, probs = values[_BOX], values[_POS], values[_FACES], values[_PROBS]
            if not (type(box) is list and type(pos) is list and type(probs) is list):
                return cls._parse(obj, rules)
            if type(faces) is not list or any(type(b) is not list for b in faces):
                return cls._parse(obj, rules)
            values[_BOX], values[_POS], values[_PROBS] = tuple(box), tuple(pos), tuple(probs)
            values[_FACES] = tuple(map(tuple, faces)) if faces else ()
        except _Bad as exc:
            raise DataFileError(where[0], where[1], str(exc)) from None
        if len(obj) > len(FIELDS):
            values.append({k: v for k, v in obj.items() if k not in _DECLARED})
        else:
            values.append({})
        sample = _new(cls)
        for put, value in zip(_SLOTS, values, strict=True):
            put(sample, value)
        return sample

    @staticmethod
    def check_identity(obj: Any, *, where: Where, rules: SampleRules) -> None:
        """The checks of :meth:`from_json` on the fields that say which sample a record is and
        where its image lies (``id``, ``fake_cls``, ``plan_key``, ``text``, ``image``, ``phash``):
        what the writer relies on when it resumes a store, at a fraction of the cost."""
        try:
            _identity(obj, rules)
        except _Bad as exc:
            raise DataFileError(where[0], where[1], str(exc)) from None

    # -- writing -------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The stored dict (declared keys in order, then the unknown keys kept on parsing)."""
        # One literal in FIELDS order (a test holds it to FIELDS): a snapshot of 100k records
        # calls this for every record.
        out: dict[str, Any] = {
            "id": self.id,
            "image": self.image,
            "text": self.text,
            "fake_cls": self.fake_cls,
            "fake_image_box": list(self.fake_image_box),
            "fake_text_pos": list(self.fake_text_pos),
            "mtcnn_boxes": [list(b) for b in self.mtcnn_boxes],
            "plan_key": self.plan_key,
            "literal_text": self.literal_text,
            "backdrop": self.backdrop,
            "backdrop_kind": self.backdrop_kind,
            "shot": self.shot,
            "lighting": self.lighting,
            "dateline": self.dateline,
            "role": self.role,
            "event": self.event,
            "num_people": self.num_people,
            "prompt": self.prompt,
            "phash": self.phash,
            "face_probs": list(self.face_probs),
            "backend": self.backend,
            "model": self.model,
            "quality": self.quality,
            "seed": self.seed,
            "attempt": self.attempt,
        }
        if self.extra:
            out.update(self.extra)
        return out

    @property
    def k(self) -> int:
        return int(self.plan_key.rpartition("/")[2])

    # -- releasing -----------------------------------------------------------------------
    def to_example(self, image_bytes: bytes, fake_image_box: list[int]) -> dict[str, Any]:
        """One builder row (:func:`dgm4plus_features`) with the JPEG's bytes embedded.

        The image is given as bytes alone: ``datasets`` drops the bytes of an image whose
        ``path`` names an existing file, which would leave rows pointing into the store.
        """
        row: dict[str, Any] = {
            "id": self.id,
            "image": image_bytes,
            "text": self.text,
            "fake_cls": self.fake_cls,
            "fake_text_pos": list(self.fake_text_pos),
            "fake_image_box": list(fake_image_box),
            "mtcnn_boxes": [list(b) for b in self.mtcnn_boxes],
        }
        for name in RELEASED_PROVENANCE:
            row[name] = getattr(self, name)
        row["face_probs"] = list(self.face_probs)
        return row

    def to_dgm4(self, image: str, fake_cls: str, fake_image_box: list[int]) -> dict[str, Any]:
        """The DGM4 record HAMMER reads (:data:`DGM4_KEYS`), with the export's own image path
        and class spelling."""
        return {
            "id": self.id,
            "image": image,
            "text": self.text,
            "fake_cls": fake_cls,
            "fake_image_box": list(fake_image_box),
            "fake_text_pos": list(self.fake_text_pos),
            "mtcnn_boxes": [list(b) for b in self.mtcnn_boxes],
        }


#: Every declared field of a record, in FIELDS order, in one call (KeyError if one is missing).
_ALL_FIELDS = operator.itemgetter(*FIELDS)
#: The slot setters of Sample, in FIELDS order then ``extra``: :meth:`Sample.from_json_trusted`
#: fills a new Sample through them (half the cost of the frozen dataclass's ``__init__``).
_SLOTS: tuple[Callable[[Sample, Any], None], ...] = tuple(
    getattr(Sample, name).__set__ for name in (*FIELDS, "extra")
)
_new = object.__new__
_BOX, _POS, _FACES, _PROBS = (
    FIELDS.index(k) for k in ("fake_image_box", "fake_text_pos", "mtcnn_boxes", "face_probs")
)


def _identity(obj: Any, rules: SampleRules) -> tuple[int, str, str, str, str, str]:
    """(id, fake_cls, plan_key, text, image, phash) of a record, each checked."""
    if not isinstance(obj, dict):
        raise _Bad(None, f"expected a JSON object (one record), got {_show(obj)}")
    for key in _REQUIRED:
        if key not in obj:
            raise _Bad(key, "missing")
    ident = _int("id", obj["id"])
    if not INT64_MIN <= ident <= INT64_MAX:
        raise _Bad("id", f"{ident} does not fit in int64")
    fake_cls = obj["fake_cls"]
    if fake_cls not in BUCKETS:
        raise _Bad("fake_cls", f"expected one of {', '.join(CLASS_NAMES)}, got {_show(fake_cls)}")
    plan_key = _plan_key(obj["plan_key"], fake_cls, ident, rules)
    text = _str("text", obj["text"])
    if not text.strip():
        raise _Bad("text", "the caption is empty")
    image = _image(obj["image"], fake_cls, ident, rules)
    phash = obj["phash"]
    if not isinstance(phash, str) or not _HEX16.fullmatch(phash):
        raise _Bad("phash", f"expected 16 hex digits, got {_show(phash)}")
    return ident, fake_cls, plan_key, text, image, phash


def _plan_key(value: Any, fake_cls: str, ident: int, rules: SampleRules) -> str:
    raw = _str("plan_key", value)
    bucket, _, k = raw.rpartition("/")
    if bucket not in BUCKETS or not (k.isascii() and k.isdigit()):
        raise _Bad("plan_key", f"expected <class>/<k> (e.g. {fake_cls}/17), got {_show(raw)}")
    if bucket != fake_cls:
        raise _Bad("plan_key", f"{raw!r} is not of fake_cls {fake_cls!r}")
    if int(k) >= ID_STRIDE:
        raise _Bad("plan_key", f"k of {raw!r} must be below {ID_STRIDE}")
    want = sample_id(rules.id_offset, fake_cls, int(k))
    if ident != want:
        raise _Bad(
            "id",
            f"{ident} does not follow the id rule for plan_key {raw!r} "
            f"(ID_OFFSET {rules.id_offset}: expected {want})",
        )
    return raw


def _image(value: Any, fake_cls: str, ident: int, rules: SampleRules) -> str:
    want = rules.image_name(fake_cls, ident)
    if value == want:
        return want
    if not isinstance(value, str) or not value:
        raise _Bad("image", f"expected the path {want}, got {_show(value)}")
    rel = PurePosixPath(value.replace("\\", "/"))
    if rel.is_absolute() or value.startswith(("/", "\\")) or (len(value) > 1 and value[1] == ":"):
        raise _Bad(
            "image", f"path {value!r} is absolute; it must start with {rules.store_name}/ ({want})"
        )
    if ".." in rel.parts or not rel.parts or rel.parts[0] != rules.store_name:
        raise _Bad(
            "image",
            f"path {value!r} leaves the store; it must start with {rules.store_name}/ "
            f"and stay inside it ({want})",
        )
    if value != want:
        raise _Bad("image", f"path {value!r} is not {want} (the {fake_cls} folder, named by id)")
    return value


def _positions(value: Any, text: str, fake_cls: str, rules: SampleRules) -> tuple[int, ...]:
    if type(value) is not list:
        raise _Bad("fake_text_pos", f"expected a list of integers, got {_show(value)}")
    last = -1
    for i in value:  # one pass: integers (not bools), strictly increasing
        if type(i) is not int:
            raise _Bad("fake_text_pos", f"expected a list of integers, got {_show(value)}")
        if i <= last:
            raise _Bad("fake_text_pos", f"{_show(value)} is not strictly increasing")
        last = i
    if value:
        n = len(dgm4_words(text))
        limit = min(n, rules.max_words)
        for i in value:
            if not 0 <= i < limit:
                raise _Bad(
                    "fake_text_pos",
                    f"fake_text_pos index {i} points past the caption's {n} DGM4 words "
                    f"(HAMMER's pre_caption keeps {rules.max_words})",
                )
    if fake_cls == "origin" and value:
        raise _Bad("fake_text_pos", "an origin caption marks no words; expected []")
    if fake_cls != "origin" and not value:
        raise _Bad("fake_text_pos", f"a {fake_cls} caption marks its manipulated words; got []")
    return tuple(value)


# ----------------------------------------------------------------------------------------
# rejected.jsonl

#: The three kinds of ``rejected.jsonl`` line (:attr:`Rejection.kind`).
REJECTION_KINDS = ("verdict", "attempt", "merge")
#: The keys each kind writes, in order (then any unknown keys kept on parsing).
REJECTION_KEYS: dict[str, tuple[str, ...]] = {
    "verdict": ("plan_key", "fake_cls", "reason", "attempt_reasons", "calls", "backend"),
    "attempt": ("plan_key", "fake_cls", "attempt", "reason", "backend", "image"),
    "merge": (
        "plan_key",
        "fake_cls",
        "reason",
        "attempt_reasons",
        "calls",
        "backend",
        "merged_from",
    ),
}
_REJECTION_DECLARED = frozenset(k for keys in REJECTION_KEYS.values() for k in keys)


@dataclass(frozen=True, kw_only=True, slots=True)
class Rejection:
    """One line of ``rejected.jsonl``: a plan item or one of its images that was not accepted.

    Three kinds, told apart by their fields (:attr:`kind`):

    * ``verdict``: an item's final verdict (no ``attempt``): its reason, the reasons of its
      generation attempts, the calls it took. A resume never builds its plan key again.
    * ``attempt``: one rejected generation attempt, a delivered image (``attempt`` set), written
      at once so a resume never pays for it again; ``image`` is where its bytes were kept
      (``KEEP_REJECTED``), else None.
    * ``merge``: a record ``merge`` left out of the merged store (a verdict with
      ``merged_from``, the shard it came from).

    :meth:`to_json` writes the keys of its kind in the order the generator writes them
    (:data:`REJECTION_KEYS`), so a line parsed and written back is the same bytes; a declared
    key of its kind that a hand-written line lacks comes back as null (as :meth:`Sample.to_json`
    does), and a field of another kind that is set (e.g. ``image`` on a verdict) is written after
    its kind's keys. Unknown keys are kept in :attr:`extra` and written back last.
    """

    plan_key: str  # <fake_cls>/<k>
    reason: str  # a RejectReason's value (merge: duplicate_caption, duplicate_image)
    fake_cls: str | None = None
    #: verdict / merge: the reasons of the item's generation attempts, and its calls
    attempt_reasons: tuple[str, ...] = ()
    calls: int | None = None
    backend: str | None = None
    #: attempt: which generation it was, and its kept image (relative to the store)
    attempt: int | None = None
    image: str | None = None
    #: merge: the shard store the dropped record came from
    merged_from: str | None = None
    #: Keys this version does not declare, kept verbatim.
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def kind(self) -> str:
        if self.attempt is not None:
            return "attempt"
        return "merge" if self.merged_from is not None else "verdict"

    @property
    def images(self) -> list[str]:
        """The kept image paths the line names: ``image``, or a list under ``images`` (an
        unknown key a tool may write), for the review page's view of the gate's rejects."""
        many = self.extra.get("images")
        if isinstance(many, list):
            return [p for p in many if isinstance(p, str)]
        return [self.image] if self.image else []

    @classmethod
    def from_json(cls, obj: Any, *, where: Where) -> Rejection:
        """Check one parsed ``rejected.jsonl`` line; raise DataFileError naming file:line."""
        try:
            return cls._parse(obj)
        except _Bad as exc:
            raise DataFileError(where[0], where[1], str(exc)) from None

    @classmethod
    def _parse(cls, obj: Any) -> Rejection:
        if not isinstance(obj, dict):
            raise _Bad(None, f"expected a JSON object (one rejection), got {_show(obj)}")
        for key in ("plan_key", "reason"):
            if key not in obj:
                raise _Bad(key, "missing")
        plan_key = _str("plan_key", obj["plan_key"])
        bucket, _, k = plan_key.rpartition("/")
        if bucket not in BUCKETS or not (k.isascii() and k.isdigit()):
            raise _Bad("plan_key", f"expected <class>/<k> (e.g. origin/17), got {_show(plan_key)}")
        get = obj.get
        reasons = get("attempt_reasons")
        if reasons is None:
            reasons = []
        if type(reasons) is not list or any(type(r) is not str for r in reasons):
            raise _Bad("attempt_reasons", f"expected a list of strings, got {_show(reasons)}")
        attempt = _opt_int("attempt", get("attempt"))
        if attempt is not None and attempt < 0:
            raise _Bad("attempt", f"expected 0 or more, got {attempt}")
        calls = _opt_int("calls", get("calls"))
        unknown = obj.keys() - _REJECTION_DECLARED
        return cls(
            plan_key=plan_key,
            reason=_str("reason", obj["reason"]),
            fake_cls=_opt_str("fake_cls", get("fake_cls")),
            attempt_reasons=tuple(reasons),
            calls=calls,
            backend=_opt_str("backend", get("backend")),
            attempt=attempt,
            image=_opt_str("image", get("image")),
            merged_from=_opt_str("merged_from", get("merged_from")),
            extra={k: v for k, v in obj.items() if k in unknown} if unknown else {},
        )

    def to_json(self) -> dict[str, Any]:
        """The stored dict: its kind's keys in :data:`REJECTION_KEYS` order, then the unknown
        keys kept on parsing."""
        out: dict[str, Any]
        if self.attempt is not None:
            out = {
                "plan_key": self.plan_key,
                "fake_cls": self.fake_cls,
                "attempt": self.attempt,
                "reason": self.reason,
                "backend": self.backend,
                "image": self.image,
            }
            if self.attempt_reasons:
                out["attempt_reasons"] = list(self.attempt_reasons)
            if self.calls is not None:
                out["calls"] = self.calls
            if self.merged_from is not None:
                out["merged_from"] = self.merged_from
        else:
            out = {
                "plan_key": self.plan_key,
                "fake_cls": self.fake_cls,
                "reason": self.reason,
                "attempt_reasons": list(self.attempt_reasons),
                "calls": self.calls,
                "backend": self.backend,
            }
            if self.merged_from is not None:
                out["merged_from"] = self.merged_from
            if self.image is not None:
                out["image"] = self.image
        if self.extra:
            out.update(self.extra)
        return out


def released_image_box(sample: Sample, convention: str, rules: SampleRules) -> list[int]:
    """The ``fake_image_box`` a release carries for ``sample`` under ``FAKE_IMAGE_BOX``.

    ``none`` (DGM4's convention): ``[]``, no region was edited. ``full``: the whole frame. A
    stored box that is neither empty nor the whole frame marks a real edited region and is kept.
    (Stores written before this convention hold the whole frame; it reads as "no region".)
    """
    if convention not in FAKE_IMAGE_BOX_CHOICES:
        raise ValueError(f"FAKE_IMAGE_BOX must be one of {FAKE_IMAGE_BOX_CHOICES}")
    stored = tuple(sample.fake_image_box)
    if stored and stored != rules.frame:
        return list(stored)
    return list(rules.frame) if convention == "full" else []


# ----------------------------------------------------------------------------------------
# Release features

#: Provenance released as is (plus ``face_probs``), in feature order.
RELEASED_PROVENANCE = (
    "plan_key",
    "literal_text",
    "backdrop",
    "backdrop_kind",
    "shot",
    "lighting",
    "dateline",
    "role",
    "event",
    "prompt",
    "num_people",
    "phash",
    "backend",
    "model",
    "quality",
    "seed",
)


def dgm4plus_features() -> datasets.Features:
    """The typed Arrow schema of a released row (the builder, the export and the card use it).

    ``fake_image_box`` is a list of int32 of length 0 (no region edited) or 4.
    """
    import datasets  # lazily: the generator's start-up does not need it

    string = datasets.Value("string")
    int32 = datasets.Value("int32")
    box = datasets.List(int32, length=4)
    spec: dict[str, Any] = {
        "id": datasets.Value("int64"),
        "image": datasets.Image(),
        "text": string,
        "fake_cls": datasets.ClassLabel(names=list(CLASS_NAMES)),
        "fake_text_pos": datasets.List(int32),
        "fake_image_box": datasets.List(int32),
        "mtcnn_boxes": datasets.List(box),
    }
    for name in RELEASED_PROVENANCE[:10]:
        spec[name] = string
    spec["num_people"] = int32
    spec["phash"] = string
    spec["face_probs"] = datasets.List(datasets.Value("float32"))
    for name in ("backend", "model", "quality"):
        spec[name] = string
    spec["seed"] = datasets.Value("int64")
    return datasets.Features(spec)


__all__ = [
    "CLASS_NAMES",
    "DEFAULT_FAKE_IMAGE_BOX",
    "DGM4_KEYS",
    "FAKE_IMAGE_BOX_CHOICES",
    "FIELDS",
    "ID_STRIDE",
    "REJECTION_KEYS",
    "REJECTION_KINDS",
    "Rejection",
    "Sample",
    "SampleRules",
    "dgm4plus_features",
    "released_image_box",
    "sample_id",
]
