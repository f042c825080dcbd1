"""Small, pure grammar helpers for news-style headlines.

Nothing here is random and nothing keeps state. The builders in :mod:`generator.text.captions`
use the constructive helpers (articles, counts, agreement, capitalisation); the checker
:func:`headline_problems` states the invariants every caption body must satisfy, and the
builders refuse to return a caption that breaks one of them.
"""

from __future__ import annotations

import re

__all__ = [
    "CONNECTORS",
    "PREPOSITIONS",
    "agree",
    "article_problems",
    "capitalize_first",
    "counted_noun",
    "headline_problems",
    "indefinite_article",
    "number_word",
    "with_article",
]

# Words whose spelling starts with a vowel letter but whose sound starts with a consonant
# ("a university"), and the reverse ("an hour"). Prefixes are matched at the start of the
# word; whole words only where a prefix would also catch unrelated words ("one" vs "onerous").
_CONSONANT_SOUND_PREFIXES = (
    "eucalypt",
    "eulog",
    "euro",
    "ewe",
    "unanim",
    "unicorn",
    "unicycl",
    "uniform",
    "unilateral",
    "union",
    "unique",
    "unison",
    "unit",
    "univers",
    "uranium",
    "urin",
    "usab",
    "usag",
    "use",
    "using",
    "usual",
    "utensil",
    "utilit",
    "utopia",
)
_CONSONANT_SOUND_WORDS = ("one", "once", "ones", "u")
_VOWEL_SOUND_PREFIXES = ("heir", "honest", "honor", "honour", "hour")

_WORD_RE = re.compile(r"[A-Za-z]+")

#: Prepositions (and the clause connector "while") that must never stand next to each other.
PREPOSITIONS = (
    "above",
    "across",
    "after",
    "against",
    "along",
    "amid",
    "among",
    "around",
    "at",
    "atop",
    "before",
    "behind",
    "below",
    "beneath",
    "beside",
    "between",
    "beyond",
    "by",
    "during",
    "for",
    "from",
    "in",
    "inside",
    "into",
    "near",
    "of",
    "on",
    "onto",
    "outside",
    "over",
    "past",
    "through",
    "to",
    "toward",
    "under",
    "underneath",
    "upon",
    "while",
    "with",
    "within",
)

#: Words a headline must never end on.
CONNECTORS = PREPOSITIONS + ("a", "an", "and", "as", "but", "or", "the")


def _first_word(phrase: str) -> str:
    match = _WORD_RE.search(phrase)
    if match is None:
        raise ValueError(f"no word to choose an article for in {phrase!r}")
    return match.group(0).lower()


def indefinite_article(phrase: str) -> str:
    """``"a"`` or ``"an"`` for the noun phrase ``phrase``, judged by the sound of its first word.

    Handles the spellings that mislead a vowel-letter rule: "an hour", "an honorary consul",
    "an heir", but "a university", "a union", "a European", "a one-act play", "a ewe".
    """
    word = _first_word(phrase)
    if word in _CONSONANT_SOUND_WORDS or word.startswith(_CONSONANT_SOUND_PREFIXES):
        return "a"
    if word.startswith(_VOWEL_SOUND_PREFIXES):
        return "an"
    return "an" if word[0] in "aeiou" else "a"


def with_article(phrase: str) -> str:
    """``phrase`` preceded by the right indefinite article: "an observatory dome"."""
    return f"{indefinite_article(phrase)} {phrase}"


_NUMBER_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def number_word(n: int) -> str:
    """Small counts spelled out, as news style wants them ("two", "three")."""
    try:
        return _NUMBER_WORDS[n]
    except KeyError:
        raise ValueError(f"no spelled-out number for {n!r}; expected 1 to 5") from None


def counted_noun(singular: str, plural: str, n: int) -> str:
    """Count a noun: "a nurse" / "an engineer" for one, "two nurses" / "three nurses" for more."""
    if n == 1:
        return with_article(singular)
    return f"{number_word(n)} {plural}"


def agree(n: int, third_singular: str, base: str) -> str:
    """The verb form that agrees with a subject of ``n`` people."""
    if n < 1:
        raise ValueError(f"a subject needs at least one person, got {n!r}")
    return third_singular if n == 1 else base


def capitalize_first(text: str) -> str:
    """Upper-case the first character only (``str.capitalize`` would lower the rest)."""
    return text[:1].upper() + text[1:]


def _plain_words(text: str) -> list[str]:
    """Lower-case words with punctuation removed; hyphenated words become separate words."""
    return [w.lower() for w in _WORD_RE.findall(text)]


def article_problems(text: str) -> list[str]:
    """Every "a"/"an" in ``text`` whose following word calls for the other article."""
    problems = []
    words = _plain_words(text)
    for here, after in zip(words, words[1:], strict=False):
        if here in ("a", "an"):
            want = indefinite_article(after)
            if want != here:
                problems.append(f"{here!r} before {after!r} should be {want!r}")
    return problems


def headline_problems(body: str) -> list[str]:
    """Invariants of a caption body (the caption after its dateline and separator).

    Returns a list of human-readable problems; an empty list means the body is tidy: it starts
    with a capital letter, has no doubled or stray spaces, ends with exactly one full stop and
    has no other sentence punctuation, no comma directly before the stop or another comma, no
    repeated adjacent word, no two prepositions side by side, no dangling connector before the
    stop, and correct "a"/"an".
    """
    problems: list[str] = []
    if not body:
        return ["empty headline"]
    if body != body.strip() or "  " in body:
        problems.append("stray or doubled whitespace")
    if not body[0].isupper():
        problems.append("first word is not capitalised")
    if not body.endswith(".") or body.endswith(".."):
        problems.append("does not end with exactly one full stop")
    if body.count(".") != 1:
        problems.append("full stop inside the headline")
    for bad in ("!", "?", ";", ":", ",,", ",.", " ,", " ."):
        if bad in body:
            problems.append(f"stray punctuation {bad!r}")
    words = _plain_words(body)
    for here, after in zip(words, words[1:], strict=False):
        if here == after:
            problems.append(f"repeated word {here!r}")
        if here in PREPOSITIONS and after in PREPOSITIONS:
            problems.append(f"adjacent prepositions {here!r} {after!r}")
    if words and words[-1] in CONNECTORS:
        problems.append(f"dangling connector {words[-1]!r}")
    problems.extend(article_problems(body))
    return problems
