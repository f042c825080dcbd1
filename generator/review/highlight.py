"""Which characters of a caption are the words that ``fake_text_pos`` marks.

``fake_text_pos`` indexes the words of HAMMER's ``pre_caption`` (generator/text/tokenize.py),
not the displayed caption: "mid-air" is two words, "—" is one, "anxious." is "anxious". To
highlight what a model is told, the normalisation is replayed here with every output character
remembering the caption character it came from; each word then maps back to a character span.
The result is cross-checked against :func:`generator.text.tokenize.dgm4_words`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from generator.text.tokenize import DGM4_MAX_WORDS, dgm4_words

_DELETED = frozenset(",.'!?\"()*#:;~")
_PERSON = "<person>"
_HIDDEN = "\x00"  # a character that HAMMER deletes but that lies inside a word

Span = tuple[int, int]


def word_spans(text: str) -> list[Span]:
    """Half-open character spans of ``text``, one per DGM4 word (``dgm4_words(text)``).

    A span runs from the first to the last caption character that went into the word, so a
    deleted character inside a word ("don't") is covered and one at its edge ("anxious.") is not.
    """
    chars: list[tuple[str, int]] = []
    for i, c in enumerate(text):  # 1. lowercase (per character, so each keeps its origin)
        chars.extend((lc, i) for lc in c.lower())
    chars = [(c, i) for c, i in chars if c not in _DELETED]  # 2. delete punctuation
    chars = [(" " if c in "-/" else c, i) for c, i in chars]  # 3. hyphen and slash
    flat = "".join(c for c, _ in chars)
    start = flat.find(_PERSON)
    drop: set[int] = set()
    while start != -1:  # 4. "<person>" -> "person"
        drop.update((start, start + len(_PERSON) - 1))
        start = flat.find(_PERSON, start + len(_PERSON))
    # The brackets vanish from the word but stay inside its span: mark them, do not drop them.
    chars = [(_HIDDEN, i) if j in drop else (c, i) for j, (c, i) in enumerate(chars)]
    collapsed: list[tuple[str, int]] = []
    j = 0
    while j < len(chars):  # 5. a run of two or more whitespace characters -> one space
        if chars[j][0].isspace():
            end = j
            while end < len(chars) and chars[end][0].isspace():
                end += 1
            collapsed.extend([(" ", chars[j][1])] if end - j >= 2 else [chars[j]])
            j = end
        else:
            collapsed.append(chars[j])
            j += 1
    while collapsed and collapsed[-1][0] == "\n":  # 6. rstrip("\n") then strip(" ")
        collapsed.pop()
    while collapsed and collapsed[-1][0] == " ":
        collapsed.pop()
    while collapsed and collapsed[0][0] == " ":
        collapsed.pop(0)
    spans: list[Span] = []
    lengths: list[int] = []
    if collapsed:
        word: list[int] = []
        hidden = 0
        for c, i in [*collapsed, (" ", -1)]:  # split(" "), a sentinel closes the last word
            if c == " ":
                spans.append((word[0], word[-1] + 1) if word else (0, 0))
                lengths.append(len(word) - hidden)
                word, hidden = [], 0
            else:
                word.append(i)
                hidden += c == _HIDDEN
    spans = spans[:DGM4_MAX_WORDS]  # 7. HAMMER keeps the first 50 words
    words = dgm4_words(text)
    if [len(w) for w in words] != lengths[:DGM4_MAX_WORDS]:
        raise ValueError(f"caption tokenization disagrees with pre_caption: {text!r}")
    return spans


def marked_spans(text: str, positions: Iterable[int]) -> list[Span]:
    """Character spans of the marked words, consecutive indices merged into one span
    ("looking visibly anxious", "mid-air"). Indices outside the caption's words are ignored
    (``validate`` reports them)."""
    spans = word_spans(text)
    wanted = sorted({p for p in positions if 0 <= p < len(spans)})
    out: list[Span] = []
    prev = -2
    for p in wanted:
        a, b = spans[p]
        if out and p == prev + 1:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
        prev = p
    return out


def segments(text: str, positions: Sequence[int]) -> list[tuple[str, bool]]:
    """The caption cut into (piece, marked) runs that cover it exactly, for display."""
    out: list[tuple[str, bool]] = []
    at = 0
    for a, b in marked_spans(text, positions):
        if a > at:
            out.append((text[at:a], False))
        out.append((text[a:b], True))
        at = b
    if at < len(text):
        out.append((text[at:], False))
    return out


__all__ = ["marked_spans", "segments", "word_spans"]
