"""HAMMER's caption tokenization and the span helper built on it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.text.tokenize import dgm4_words, pre_caption, span_indices, words_untruncated


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A nurse holds a briefing.", "a nurse holds a briefing"),
        ("NAIROBI, Kenya — Two nurses", "nairobi kenya — two nurses"),
        ("PORTLAND, Ore.: A judge", "portland ore a judge"),
        ("a one-act play", "a one act play"),
        ("either/or and well-known", "either or and well known"),
        ("trailing hyphen- and -leading", "trailing hyphen and leading"),
        ("a -- b // c", "a b c"),
        ('He said "no" (twice)!', "he said no twice"),
        ("It's the nurse's day?", "its the nurses day"),
        ("stars*#~;: gone", "stars gone"),
        ("  padded   text  ", "padded text"),
        ("line\n", "line"),
        ("<person> waves", "person waves"),
        ("ST. JOHN'S, Newfoundland", "st johns newfoundland"),
        ("SÃO PAULO", "são paulo"),
        ("", ""),
        ("...", ""),
    ],
)
def test_pre_caption_tricky_strings(text: str, expected: str) -> None:
    assert pre_caption(text) == expected


def test_pre_caption_keeps_a_single_tab_like_hammer() -> None:
    # HAMMER only collapses runs of two or more whitespace characters.
    assert pre_caption("a\tb") == "a\tb"
    assert pre_caption("a\t\tb") == "a b"


def test_pre_caption_truncates_to_max_words() -> None:
    text = " ".join(f"w{i}" for i in range(60))
    assert dgm4_words(text) == [f"w{i}" for i in range(50)]
    assert pre_caption(text, max_words=3) == "w0 w1 w2"
    # a hyphen inside the first 50 words pushes later words out of the window
    hyphenated = "one-two " + " ".join(f"w{i}" for i in range(49))
    assert dgm4_words(hyphenated)[-1] == "w47"
    assert len(words_untruncated(text)) == 60


def test_em_dash_is_its_own_word() -> None:
    assert dgm4_words("NAIROBI, Kenya — A nurse waves.") == [
        "nairobi",
        "kenya",
        "—",
        "a",
        "nurse",
        "waves",
    ]
    # and plain str.split agrees with neither punctuation nor hyphens
    tricky = "Kenya, — A one-act"
    assert tricky.split() != dgm4_words(tricky)


def test_dgm4_words_of_empty_text_is_empty() -> None:
    assert dgm4_words("") == []
    assert dgm4_words(" , . ") == []


def _range_of(text: str, part: str) -> tuple[int, int]:
    start = text.index(part)
    return start, start + len(part)


def test_span_indices_after_em_dash_and_hyphen() -> None:
    text = "WILKES-BARRE, Pa. — A nurse waves, appearing visibly anxious."
    # wilkes barre pa — a nurse waves appearing visibly anxious
    assert span_indices(text, [_range_of(text, ", appearing visibly anxious")]) == (7, 8, 9)
    assert span_indices(text, [_range_of(text, "A nurse")]) == (4, 5)


def test_span_indices_unions_and_sorts_ranges() -> None:
    text = "A b c d e."
    ranges = [_range_of(text, "d"), _range_of(text, "A b"), _range_of(text, "b c")]
    assert span_indices(text, ranges) == (0, 1, 2, 3)


def test_span_of_pure_punctuation_is_empty() -> None:
    assert span_indices("A nurse waves.", [(13, 14)]) == ()


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("A nurse waves", "urse"),  # starts inside a word
        ("A nurse waves", "A nur"),  # ends inside a word
        ("stardustappearing anxious", "appearing anxious"),  # glued to its neighbour
        ("the nurse's day", "nurse"),  # the apostrophe vanishes and glues "nurses"
    ],
)
def test_span_indices_refuses_ranges_off_word_boundaries(text: str, part: str) -> None:
    with pytest.raises(ValueError, match="word boundaries"):
        span_indices(text, [_range_of(text, part)])


def test_span_indices_refuses_indices_hammer_would_drop() -> None:
    text = " ".join(f"w{i}" for i in range(55))
    with pytest.raises(ValueError, match="50-word limit"):
        span_indices(text, [_range_of(text, "w52")])
    assert span_indices(text, [_range_of(text, "w49")]) == (49,)


def test_span_indices_refuses_out_of_range() -> None:
    with pytest.raises(ValueError, match="outside"):
        span_indices("abc", [(2, 9)])


_WORD = st.text(alphabet="abcxyz", min_size=1, max_size=6)
_GLUE = st.sampled_from([" ", ", ", " — ", "-", "/", ": ", " (", ") ", "  "])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_WORD, _GLUE), min_size=1, max_size=20), st.data())
def test_span_of_any_word_run_matches_its_words(parts, data) -> None:
    """Marking a run of whole words yields exactly their DGM4 indices, whatever the glue."""
    pieces = [word + glue for word, glue in parts]
    text = "".join(pieces)
    # the expected tokens, built by hand: each word, plus "—" wherever an em dash glues
    tokens: list[str] = []
    where: list[int] = []
    for word, glue in parts:
        where.append(len(tokens))
        tokens.append(word)
        if "—" in glue:
            tokens.append("—")
    i = data.draw(st.integers(0, len(parts) - 1))
    j = data.draw(st.integers(i, len(parts) - 1))
    start = sum(len(p) for p in pieces[:i])
    end = start + sum(len(p) for p in pieces[i : j + 1]) - len(parts[j][1])
    assert dgm4_words(text) == tokens
    got = span_indices(text, [(start, end)])
    assert got == tuple(range(where[i], where[j] + 1))
    assert [tokens[k] for k in got] == tokens[where[i] : where[j] + 1]


def test_bert_words_split_on_unicode_punctuation_and_cjk() -> None:
    from generator.text.tokenize import bert_words

    assert bert_words("xi’an china — two") == ["xi", "’", "an", "china", "—", "two"]
    assert bert_words("são 北京 a–b") == ["sao", "北", "京", "a", "–", "b"]
    assert bert_words("xian china — two") == ["xian", "china", "—", "two"]


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("XI'AN, China — A nurse waves.", True),
        ("WILKES-BARRE, Pa.: Two judges", True),
        ("XI’AN, China — A nurse waves.", False),
        ("RUI–AN, China", False),
        ("SÃO PAULO, Brazil", False),
        ("a & b", False),
        ("cost $5", False),
    ],
)
def test_token_safe_rule_agrees_with_bert(text: str, safe: bool) -> None:
    from generator.text.tokenize import hammer_word_problems, token_safe_problems

    assert (token_safe_problems(text) == []) is safe
    if safe:  # the cheap rule is sufficient: BERT then sees exactly the pre_caption words
        assert hammer_word_problems(text) == []


def test_hammer_marked_words_replays_the_word_vector() -> None:
    from generator.text.tokenize import hammer_marked_words, hammer_span_problems

    text = "NAIROBI, Kenya — A nurse waves, appearing tense."
    assert hammer_marked_words(text, [6, 7]) == ["appearing", "tense"]
    assert hammer_marked_words(text, [7, 60]) == ["tense"]  # HAMMER drops indices >= 50
    assert hammer_span_problems(text, [6, 7]) == []
    assert "outside" in hammer_span_problems(text, [8])[0]
    assert "shift" in hammer_span_problems("XI’AN, China — A nurse.", [])[0]


def test_accents_alone_do_not_shift_labels() -> None:
    from generator.text.tokenize import hammer_word_problems

    assert hammer_word_problems("SÃO PAULO, Brazil — A nurse waves.") == []
    assert hammer_word_problems("北京, China — A nurse waves.")  # CJK splits into characters
