"""Caption highlighting: the marked characters are exactly HAMMER's marked words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.config import Config
from generator.plan import iter_plan
from generator.review.highlight import marked_spans, segments, word_spans
from generator.text.datelines import load_cities
from generator.text.tokenize import dgm4_words, words_untruncated


def _marked_words(text: str, positions: list[int]) -> list[str]:
    return [
        w for piece, marked in segments(text, positions) if marked for w in words_untruncated(piece)
    ]


@pytest.mark.parametrize(
    ("text", "positions", "marked"),
    [
        (
            "NAIROBI, Kenya — A nurse waves, looking visibly anxious.",
            [6, 7, 8],
            ["looking visibly anxious"],
        ),
        ("A walk in a mid-air library.", [4, 5], ["mid-air"]),
        ("A walk in a mid-air library.", [5], ["air"]),
        ("PORTLAND, Ore.: Two judges sign.", [0, 1], ["PORTLAND, Ore"]),
        ("It's the nurse's day?", [0, 2], ["It's", "nurse's"]),
        ("<person> waves at a <PERSON>", [0, 4], ["<person>", "<PERSON>"]),
        ("a\tb c", [0], ["a\tb"]),
        ("A nurse — waves", [2], ["—"]),
        ("A nurse waves.", [], []),
        ("A nurse waves.", [9, -1], []),  # outside the caption: nothing marked
    ],
)
def test_marked_spans_cover_exactly_the_words(text, positions, marked):
    assert [text[a:b] for a, b in marked_spans(text, positions)] == marked


def test_segments_cover_the_caption_and_keep_word_order():
    text = "LIMA, Peru — Volunteers plant saplings along a dry riverbed."
    segs = segments(text, [3, 4, 5])
    assert "".join(piece for piece, _ in segs) == text
    assert [p for p, m in segs if m] == ["Volunteers plant saplings"]


def test_every_planned_caption_highlights_its_labelled_words():
    cfg = Config(SEED=4242, TARGET_LITERAL=150, TARGET_INV_EMO=150, TARGET_IRRELEV=150)
    checked = 0
    for item in iter_plan(cfg, load_cities(None)):
        words = dgm4_words(item.text)
        want = [words[i] for i in item.fake_text_pos]
        assert _marked_words(item.text, list(item.fake_text_pos)) == want, item.text
        assert len(word_spans(item.text)) == len(words)
        checked += 1
    assert checked == 450


_alphabet = st.sampled_from(
    list("abcXYZ ,.'!?\"()*#:;~-/—\t\n") + ["<person>", "<PERSON>", "  ", "İ", "ß"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_alphabet, max_size=40).map("".join), st.data())
def test_word_spans_agree_with_pre_caption_on_any_text(text, data):
    words = dgm4_words(text)
    spans = word_spans(text)
    assert len(spans) == len(words)
    for (a, b), w in zip(spans, words, strict=True):
        assert words_untruncated(text[a:b]) == [w]
    if words:
        pos = data.draw(st.lists(st.integers(0, len(words) - 1), unique=True))
        assert sorted(_marked_words(text, pos)) == sorted(words[i] for i in pos)
        joined = "".join(p for p, _ in segments(text, pos))
        assert joined == text


def test_long_captions_stop_at_hammers_fifty_words():
    text = " ".join(f"w{i}" for i in range(60))
    assert len(word_spans(text)) == 50
    assert marked_spans(text, [49, 50, 55]) == [(text.index("w49"), text.index("w49") + 3)]
