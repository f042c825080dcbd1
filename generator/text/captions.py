"""News-style captions for the three DGM4+ classes, with their word spans.

A caption is assembled from *pieces*: strings that are joined as they are, each flagged as
manipulated or not. The span of a caption is then measured on the finished text with HAMMER's
tokenization (:func:`generator.text.tokenize.span_indices`), never by counting words by hand,
and cross-checked against the flagged pieces tokenized on their own. A caption that breaks a
headline rule (:func:`generator.text.grammar.headline_problems`), runs past
:data:`MAX_CAPTION_WORDS` or whose span does not check out raises ``ValueError``.

What is marked:

* ``origin``: nothing.
* ``text_attribute``: every word appended after the literal headline, connector included
  (", appearing visibly anxious" marks "appearing visibly anxious"; " and looks tense" marks
  "and looks tense"). The literal headline and the dateline are never marked.
* ``text_swap``: by default (``spans="all"``, knob ``TEXT_SWAP_SPANS = all``) every word of the
  headline, which is made entirely of swap material (subject, action and place). The scene's
  dateline and its separator are kept and never marked. DGM4's own text_swap records mark only
  the words that differ from the original caption; ``spans="diff"`` follows that rule: the swap
  caption's words are aligned with the scene's literal caption (``difflib``, word by word) and
  only the headline words outside the matching blocks are marked, so a shared "a", "in" or
  "the" that lines up with the literal caption is left unmarked.

Every caption is token-exact in HAMMER: each ``pre_caption`` word is plain ASCII letters and digits
(or the lone em dash after a dateline), so BERT's pre-tokenizer sees the same words
(:func:`generator.text.tokenize.token_safe_problems`). Headline length: the plan asks for
:data:`HEADLINE_MIN_WORDS` to :data:`HEADLINE_MAX_WORDS` words (the DGM4+ paper's "realistic
headline length"); an add-on that would overrun ``max_words`` is replaced by the shortest style.
"""

from __future__ import annotations

import difflib
import random
from collections.abc import Sequence
from dataclasses import dataclass

from generator.text.grammar import agree, capitalize_first, counted_noun
from generator.text.lexicon import (
    AFFECT_PAIRS,
    EVENTS,
    ROLES,
    SWAP_ACTIONS,
    SWAP_PLACES,
    SWAP_SUBJECTS,
    clause_backdrops,
)
from generator.text.scene import Scene, pick, weighted_pick
from generator.text.tokenize import span_indices, token_safe_problems, words_untruncated

__all__ = [
    "HEADLINE_MAX_WORDS",
    "HEADLINE_MIN_WORDS",
    "MAX_BODY_WORDS",
    "TEXT_SWAP_SPAN_RULES",
    "MAX_CAPTION_WORDS",
    "Caption",
    "attribute_caption",
    "caption_prefix",
    "claimed_affect",
    "literal_caption",
    "literal_headline",
    "swap_caption",
    "text_swap_span_description",
]

#: No caption, dateline included, is longer than this (in DGM4 words).
MAX_CAPTION_WORDS = 40
#: No headline body (everything after the dateline separator) is longer than this; the
#: lexicon is tested against it. A dateline of up to
#: ``MAX_CAPTION_WORDS - MAX_BODY_WORDS - 1`` words therefore always fits.
MAX_BODY_WORDS = 30
#: The realistic headline length the plan aims for, dateline included (HAMMER words).
HEADLINE_MIN_WORDS = 10
HEADLINE_MAX_WORDS = 25
#: ``TEXT_SWAP_SPANS``: mark every word of a swapped headline, or only those that differ from
#: the scene's literal caption (DGM4's rule).
TEXT_SWAP_SPAN_RULES = ("all", "diff")


@dataclass(frozen=True)
class Caption:
    text: str
    fake_text_pos: tuple[int, ...]  # indices into dgm4_words(text); () for origin
    marked_words: tuple[str, ...]  # dgm4_words(text)[i] for i in fake_text_pos


def caption_prefix(dateline: str | None, use_em_dash: bool) -> str:
    """The dateline and its separator ("NAIROBI, Kenya — "), or "" without a dateline."""
    if not dateline:
        return ""
    if dateline != dateline.strip() or "  " in dateline:
        raise ValueError(f"dateline {dateline!r} has stray whitespace")
    return f"{dateline} — " if use_em_dash else f"{dateline}: "


def _assemble(
    dateline: str | None, use_em_dash: bool, pieces: Sequence[tuple[str, bool]]
) -> Caption:
    prefix = caption_prefix(dateline, use_em_dash)
    body = "".join(piece for piece, _ in pieces)
    # Grammar invariants (``headline_problems``) are proven by the property tests over every
    # lexicon entry and audited by `dgm4plus validate`; the span check below stays on the
    # hot path because a wrong span is a wrong label.
    text = prefix + body
    words = words_untruncated(text)
    if len(words) > MAX_CAPTION_WORDS:
        raise ValueError(
            f"caption has {len(words)} words, more than {MAX_CAPTION_WORDS}: {text!r} "
            f"(datelines longer than {MAX_CAPTION_WORDS - MAX_BODY_WORDS - 1} words may not fit)"
        )
    unsafe = token_safe_problems(text)
    if unsafe:
        raise ValueError(f"caption {text!r} is not token-exact in HAMMER: {unsafe[0]}")
    ranges = []
    cursor = len(prefix)
    for piece, marked in pieces:
        if marked:
            ranges.append((cursor, cursor + len(piece)))
        cursor += len(piece)
    # span_indices checks that each marked piece, tokenized on its own, is exactly the words
    # found at its position in the finished caption (raising otherwise).
    positions = span_indices(text, ranges)
    marked_words = tuple(words[i] for i in positions)
    return Caption(text=text, fake_text_pos=positions, marked_words=marked_words)


def literal_headline(scene: Scene) -> str:
    """The literal headline body without its full stop.

    "Two nurses hold a briefing in a corridor of suspended stardust"
    """
    role = ROLES[scene.role]
    event = EVENTS[scene.event]
    n = scene.num_people
    subject = capitalize_first(counted_noun(role.singular, role.plural, n))
    verb_phrase = agree(n, event.third, event.base)
    return f"{subject} {verb_phrase} {scene.backdrop_prep} {scene.backdrop}"


def literal_caption(scene: Scene, dateline: str | None, use_em_dash: bool) -> Caption:
    """``origin``: the literal headline of the scene, backdrop clause included; no span."""
    return _assemble(dateline, use_em_dash, [(literal_headline(scene), False), (".", False)])


# --- text_attribute ---------------------------------------------------------------------------

_OPPOSITE: dict[str, str] = {}
for _left, _right in AFFECT_PAIRS:
    _OPPOSITE[_left] = _right
    _OPPOSITE[_right] = _left

_LINKING_VERBS = (("appears", "appear"), ("looks", "look"), ("seems", "seem"))
_APPEARING_ADVERBS = ("visibly", "clearly", "noticeably")
_LOOKING_ADVERBS = ("visibly", "distinctly", "decidedly")
_AND_ADVERBS = ("visibly", "clearly")
_BARE_ADVERBS = ("visibly", "seemingly", "plainly")


def claimed_affect(scene: Scene, rng: random.Random) -> str:
    """The affect the add-on claims: the opposite of the expression the picture shows.

    A scene without a known expression gets a drawn one (either side of a drawn pair).
    """
    if scene.expression in _OPPOSITE:
        return _OPPOSITE[scene.expression]
    return pick(rng, AFFECT_PAIRS)[rng.randrange(2)]


# After a backdrop that ends in a clause of its own ("where rain falls upward", "while wading
# through ...", "inside a bottle drifting at sea") an "and appears ..." add-on would seem to
# belong to that clause, so only the styles set off by a comma are used there.
_COMMA_STYLES = (0, 1, 4)
_ALL_STYLES = (0, 1, 2, 3, 4, 5)


def _ends_in_clause(scene: Scene) -> bool:
    if (scene.backdrop_prep, scene.backdrop) in clause_backdrops():
        return True
    # scenes built by hand: the plain signs of a clause
    words = scene.backdrop.split()
    return scene.backdrop_prep == "while" or "where" in words or "that" in words


def _affect_addon(n: int, adjective: str, rng: random.Random, comma_only: bool = False) -> str:
    """An affective add-on that follows the headline directly, e.g. ", appearing visibly tense".

    ``comma_only`` restricts it to the styles set off by a comma.
    """
    style = pick(rng, _COMMA_STYLES if comma_only else _ALL_STYLES)
    if style == 0:
        return f", appearing {pick(rng, _APPEARING_ADVERBS)} {adjective}"
    if style == 1:
        return f", looking {pick(rng, _LOOKING_ADVERBS)} {adjective}"
    if style == 2:
        verb = agree(n, *pick(rng, _LINKING_VERBS))
        return f" and {verb} {adjective}"
    if style == 3:
        verb = agree(n, *pick(rng, _LINKING_VERBS))
        return f" and {verb} {pick(rng, _AND_ADVERBS)} {adjective}"
    if style == 4:
        return f", {pick(rng, _BARE_ADVERBS)} {adjective}"
    # style 5: a group phrase for two or three people, a plain participle for one
    if n == 1:
        return f", appearing {adjective}"
    group = "both" if n == 2 else "all three"
    return f" as {group} {pick(rng, _LINKING_VERBS)[1]} {adjective}"


def attribute_caption(
    scene: Scene,
    rng: random.Random,
    dateline: str | None,
    use_em_dash: bool,
    max_words: int | None = None,
) -> Caption:
    """``text_attribute``: the literal headline plus an affective add-on; the add-on is marked.

    With ``max_words``, an add-on that would take the caption past it is replaced by the
    shortest style (", visibly tense"), which fits after any headline.
    """
    adjective = claimed_affect(scene, rng)
    addon = _affect_addon(scene.num_people, adjective, rng, comma_only=_ends_in_clause(scene))
    headline = literal_headline(scene)
    if max_words is not None:
        used = len(words_untruncated(caption_prefix(dateline, use_em_dash) + headline + addon))
        if used > max_words:
            addon = f", {pick(rng, _BARE_ADVERBS)} {adjective}"
    pieces = [(headline, False), (addon, True), (".", False)]
    return _assemble(dateline, use_em_dash, pieces)


# --- text_swap --------------------------------------------------------------------------------

_SWAP_ORDERS = (("subject_first", 0.7), ("place_first", 0.3))


def swap_caption(
    scene: Scene,
    rng: random.Random,
    dateline: str | None,
    use_em_dash: bool,
    spans: str = "all",
) -> Caption:
    """``text_swap``: an irrelevant headline under the scene's dateline.

    Subject, action and place all come from the swap lists, which share nothing with the
    scene's roles, events and backdrops; the subject keeps the scene's head count. With
    ``spans="all"`` every word of the headline is marked; with ``spans="diff"`` only the words
    that differ from the scene's literal caption (see the module docstring). The dateline is
    never marked.
    """
    if spans not in TEXT_SWAP_SPAN_RULES:
        raise ValueError(f"spans: expected one of {TEXT_SWAP_SPAN_RULES}, got {spans!r}")
    n = scene.num_people
    singular, plural = pick(rng, SWAP_SUBJECTS)
    third, base = pick(rng, SWAP_ACTIONS)
    prep, place = pick(rng, SWAP_PLACES)
    subject = counted_noun(singular, plural, n)
    action = agree(n, third, base)
    if weighted_pick(rng, _SWAP_ORDERS) == "subject_first":
        headline = f"{capitalize_first(subject)} {action} {prep} {place}"
    else:
        headline = f"{capitalize_first(prep)} {place}, {subject} {action}"
    caption = _assemble(dateline, use_em_dash, [(headline, True), (".", False)])
    if spans == "all":
        return caption
    literal = caption_prefix(dateline, use_em_dash) + literal_headline(scene) + "."
    return _keep_differing(caption, words_untruncated(literal))


def text_swap_span_description(rule: str) -> str:
    """One sentence for a dataset card: what ``fake_text_pos`` marks in text_swap under ``rule``
    (a ``TEXT_SWAP_SPANS`` value)."""
    if rule == "all":
        return (
            "In text_swap, fake_text_pos marks every word of the swapped headline (the dateline "
            "is kept and never marked)."
        )
    if rule == "diff":
        return (
            "In text_swap, fake_text_pos marks only the words of the swapped headline that differ "
            "from the scene's literal caption (DGM4's rule: words aligned with the literal "
            "caption, such as a shared 'a' or 'in', are not marked; the dateline never is)."
        )
    raise ValueError(f"TEXT_SWAP_SPANS: expected one of {TEXT_SWAP_SPAN_RULES}, got {rule!r}")


def _keep_differing(caption: Caption, literal_words: Sequence[str]) -> Caption:
    """``caption`` with its span cut to the marked words that do not line up with
    ``literal_words`` (difflib's matching blocks over the two word lists)."""
    words = words_untruncated(caption.text)
    matcher = difflib.SequenceMatcher(None, list(literal_words), words, autojunk=False)
    shared = {
        j for block in matcher.get_matching_blocks() for j in range(block.b, block.b + block.size)
    }
    positions = tuple(i for i in caption.fake_text_pos if i not in shared)
    return Caption(
        text=caption.text,
        fake_text_pos=positions,
        marked_words=tuple(words[i] for i in positions),
    )
