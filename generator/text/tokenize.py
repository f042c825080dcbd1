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

HAMMER then hands the cleaned caption to a BERT fast tokenizer and maps each marked word index
``i`` to the tokens whose ``word_ids()`` equal ``i`` (``text_input_adjust`` in its train.py and
test.py). BERT's word ids come from its own basic pre-tokenizer, which splits on whitespace *and*
on every punctuation character (ASCII or Unicode), and from its normaliser, which also splits CJK
characters apart. A ``pre_caption`` word such as ``xi’an`` (typographic apostrophe) is therefore
three BERT words, and every label after it lands early. The labels are token-exact only when each
``pre_caption`` word is exactly one BERT word: :func:`hammer_word_problems` checks that with the
real ``tokenizers`` pre-tokenizer (offline, no vocabulary), :func:`hammer_marked_words` replays
HAMMER's mapping, and :func:`token_safe_problems` is the cheap character rule our captions obey
(every word plain ASCII letters and digits, or a lone em dash).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

__all__ = [
    "DGM4_MAX_WORDS",
    "bert_words",
    "dgm4_words",
    "hammer_marked_words",
    "hammer_span_problems",
    "hammer_word_problems",
    "token_safe_problems",
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


# --- HAMMER's token level ----------------------------------------------------------------------

#: A word our captions may contain after ``pre_caption``: ASCII letters and digits only.
_SAFE_WORD = re.compile(r"[a-z0-9]+")
#: The one punctuation word allowed: the em dash after a dateline, standing alone.
_LONE_DASH = "\u2014"


def token_safe_problems(text: str) -> list[str]:
    """Words of ``pre_caption(text)`` that are neither plain ASCII alphanumerics nor a lone em dash.

    A caption with no such word is split by BERT exactly as ``pre_caption`` splits it (each word
    is one BERT word): this is the rule the caption builders enforce, without a tokenizer.
    """
    return [
        f"word {i} {w!r} holds characters other than ASCII letters and digits"
        for i, w in enumerate(words_untruncated(text))
        if w != _LONE_DASH and not _SAFE_WORD.fullmatch(w)
    ]


@cache
def _bert() -> tuple[Any, Any]:
    # bert-base-uncased's own normaliser and pre-tokenizer (tokenizer.json of that model):
    # clean text, split CJK characters, strip accents, lowercase; then whitespace + punctuation.
    from tokenizers.normalizers import BertNormalizer
    from tokenizers.pre_tokenizers import BertPreTokenizer

    return BertNormalizer(lowercase=True), BertPreTokenizer()


def bert_words(cleaned: str) -> list[str]:
    """The words BERT's fast tokenizer numbers in ``word_ids()`` for the string ``cleaned``."""
    normaliser, pre_tokenizer = _bert()
    return [w for w, _ in pre_tokenizer.pre_tokenize_str(normaliser.normalize_str(cleaned))]


def hammer_word_problems(text: str) -> list[str]:
    """Why BERT's word ids would not match the ``pre_caption`` words of ``text`` ([] = they do).

    Compares the full, untruncated word lists (HAMMER keeps the first 50 words, so equality of the
    full lists implies equality of the kept ones).
    """
    ours = words_untruncated(text)
    theirs = bert_words(" ".join(ours))
    # BERT's normaliser also strips accents ("são" -> "sao"): that changes no word boundary
    normaliser = _bert()[0]
    ours = [normaliser.normalize_str(w) for w in ours]
    if ours == theirs:
        return []
    for i, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if a != b:
            return [
                f"pre_caption word {i} {a!r} is BERT word(s) starting {b!r}: later labels shift"
            ]
    return [f"pre_caption has {len(ours)} words, BERT's pre-tokenizer {len(theirs)}"]


def hammer_marked_words(
    text: str, fake_text_pos: Sequence[int], max_words: int = DGM4_MAX_WORDS
) -> list[str]:
    """The BERT words whose tokens HAMMER labels as fake, replaying its loader and train.py.

    ``dataset.py`` builds a ``max_words``-long 0/1 vector from ``fake_text_pos`` (indices beyond it
    are dropped) over ``pre_caption(text, max_words)``; ``text_input_adjust`` then labels every
    token whose ``word_ids()`` value is a marked index. The tokens of BERT word ``i`` are exactly
    the sub-words of ``bert_words(caption)[i]``, so the labelled text is returned word by word, in
    index order. (HAMMER's 128-token truncation is not modelled: our captions are at most 40
    words.)
    """
    caption = pre_caption(text, max_words)
    vector = [0] * max_words
    for i in fake_text_pos:
        if 0 <= i < max_words:
            vector[i] = 1
    words = bert_words(caption)
    return [words[i] for i, flag in enumerate(vector) if flag and i < len(words)]


def hammer_span_problems(text: str, fake_text_pos: Sequence[int]) -> list[str]:
    """Problems with ``fake_text_pos`` as HAMMER will train on it ([] = token-exact).

    The span is token-exact when the ``pre_caption`` words and BERT's words agree one to one and
    every index lies inside HAMMER's word window, so the tokens HAMMER labels are exactly the
    sub-words of the words the span names.
    """
    problems = hammer_word_problems(text)
    words = dgm4_words(text)
    lost = [i for i in fake_text_pos if not 0 <= i < len(words)]
    if lost:
        problems.append(f"fake_text_pos {lost} outside the {len(words)} words HAMMER keeps")
    return problems
