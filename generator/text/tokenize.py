"""DGM4 word tokenization.

HAMMER (the DGM4 reference detector) does not split captions on plain whitespace: its loader
first normalises every caption with a function called ``pre_caption`` and then splits on single
spaces. ``fake_text_pos`` indexes *those* words, so every span we write has to be computed on the
same tokenization. This module re-implements that normalisation and offers a helper that turns
character ranges of a caption into word indices, checking that each range starts and ends on a
word boundary.

The normalisation, step by step:

1. lowercase the whole string;
2. delete each of the characters ``, . ' ! ? " ( ) * # : ; ~``;
3. replace ``-`` and ``/`` by a space (so "one-act" becomes two words);
4. turn the literal token ``<person>`` into ``person`` (HAMMER does this for its own data);
5. replace every run of two or more whitespace characters by one space;
6. drop a trailing newline, then strip spaces from both ends;
7. keep the first ``max_words`` space-separated words.

Characters outside that list are kept; in particular an em dash used after a dateline stays a
word of its own ("—").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = [
    "DGM4_MAX_WORDS",
    "dgm4_words",
    "words_untruncated",
    "pre_caption",
    "span_indices",
]

#: HAMMER keeps at most this many words of a caption; indices at or beyond it are lost.
DGM4_MAX_WORDS = 50

_DELETED = re.compile(r"[,.'!?\"()*#:;~]")
_WS_RUN = re.compile(r"\s{2,}")


def _normalise(text: str) -> str:
    """Steps 1 to 6 of the module docstring: everything except the truncation."""
    out = _DELETED.sub("", text.lower())
    out = out.replace("-", " ").replace("/", " ").replace("<person>", "person")
    out = _WS_RUN.sub(" ", out)
    return out.rstrip("\n").strip(" ")


def pre_caption(text: str, max_words: int = DGM4_MAX_WORDS) -> str:
    """Normalise ``text`` exactly as HAMMER's loader does before indexing words."""
    out = _normalise(text)
    words = out.split(" ")
    if len(words) > max_words:
        out = " ".join(words[:max_words])
    return out


def words_untruncated(text: str) -> list[str]:
    """DGM4 words of ``text`` without the 50-word truncation."""
    out = _normalise(text)
    return out.split(" ") if out else []


def dgm4_words(text: str) -> list[str]:
    """The words ``fake_text_pos`` indexes: ``pre_caption(text).split(" ")``.

    An empty (or all-punctuation) caption has no words, so it gives ``[]`` rather than the
    ``[""]`` that a bare ``"".split(" ")`` would.
    """
    out = pre_caption(text)
    return out.split(" ") if out else []


def span_indices(
    text: str,
    marked: Sequence[tuple[int, int]],
    max_index: int = DGM4_MAX_WORDS,
) -> tuple[int, ...]:
    """Word indices (on :func:`dgm4_words`) covered by the character ranges ``marked``.

    Each range is a half-open ``(start, end)`` slice of ``text``. Both ends must fall on DGM4
    word boundaries: the words of ``text[:start]`` must be a prefix of the caption's words, and
    the words of ``text[start:end]`` must be exactly the words that follow them. A range that
    cuts through a word (or glues onto a neighbour, as "stardust" + "appearing" would) raises
    ``ValueError`` instead of producing a silently wrong label. A range with no words in it
    (pure punctuation) contributes nothing. Any index ``>= max_index`` raises too, because
    HAMMER would drop it.

    Returns the sorted, de-duplicated indices.
    """
    words = words_untruncated(text)
    found: list[int] = []
    for start, end in marked:
        if not 0 <= start <= end <= len(text):
            raise ValueError(f"range ({start}, {end}) is outside a text of length {len(text)}")
        before = words_untruncated(text[:start])
        inside = words_untruncated(text[start:end])
        first = len(before)
        if words[:first] != before or words[first : first + len(inside)] != inside:
            raise ValueError(
                f"range ({start}, {end}) = {text[start:end]!r} does not fall on DGM4 word "
                f"boundaries of {text!r}"
            )
        found.extend(range(first, first + len(inside)))
    indices = tuple(sorted(dict.fromkeys(found)))
    if indices and indices[-1] >= max_index:
        raise ValueError(
            f"word index {indices[-1]} is beyond HAMMER's {max_index}-word limit in {text!r}"
        )
    return indices
