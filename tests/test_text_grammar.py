"""Pure grammar helpers and the headline checker (which must catch every defect it names)."""

from __future__ import annotations

import pytest

from generator.text.grammar import (
    agree,
    article_problems,
    capitalize_first,
    counted_noun,
    headline_problems,
    indefinite_article,
    number_word,
    with_article,
)


@pytest.mark.parametrize(
    ("phrase", "article"),
    [
        ("nurse", "a"),
        ("engineer", "an"),
        ("hour", "an"),
        ("hour for a tram", "an"),
        ("hourglass", "an"),
        ("honorary consul", "an"),
        ("honest broker", "an"),
        ("heir", "an"),
        ("house", "a"),
        ("hotel lobby", "a"),
        ("university lecturer", "a"),
        ("union hall", "a"),
        ("unicorn", "a"),
        ("uniform cap", "a"),
        ("unit", "a"),
        ("user", "a"),
        ("European trade commissioner", "a"),
        ("one-act play", "a"),
        ("one", "a"),
        ("once", "a"),
        ("ewe", "a"),
        ("umpire", "an"),
        ("umbrella repairer", "an"),
        ("upholsterer", "an"),
        ("uninvited guest", "an"),
        ("onerous task", "an"),
        ("Olympic swimmer", "an"),
        ("imam", "an"),
        ("yacht", "a"),
    ],
)
def test_indefinite_article(phrase: str, article: str) -> None:
    assert indefinite_article(phrase) == article
    assert with_article(phrase) == f"{article} {phrase}"


def test_indefinite_article_needs_a_word() -> None:
    with pytest.raises(ValueError):
        indefinite_article(" — ")


def test_counted_noun_and_agreement() -> None:
    assert counted_noun("nurse", "nurses", 1) == "a nurse"
    assert counted_noun("engineer", "engineers", 1) == "an engineer"
    assert counted_noun("nurse", "nurses", 2) == "two nurses"
    assert counted_noun("midwife", "midwives", 3) == "three midwives"
    assert agree(1, "holds", "hold") == "holds"
    assert agree(2, "holds", "hold") == "hold"
    assert agree(3, "holds", "hold") == "hold"
    with pytest.raises(ValueError):
        agree(0, "holds", "hold")
    with pytest.raises(ValueError):
        number_word(11)


def test_capitalize_first_keeps_the_rest() -> None:
    assert capitalize_first("an Olympic swimmer") == "An Olympic swimmer"
    assert capitalize_first("") == ""


def test_article_problems() -> None:
    assert article_problems("An nurse meets a engineer near an hourglass.") == [
        "'an' before 'nurse' should be 'a'",
        "'a' before 'engineer' should be 'an'",
    ]
    assert article_problems("A one-act play, an hour, a university.") == []


GOOD = "Two nurses hold a briefing in a corridor of suspended stardust, appearing visibly anxious."


def test_a_good_headline_has_no_problems() -> None:
    assert headline_problems(GOOD) == []
    assert headline_problems("An umpire waves to supporters at an ice rink and looks tense.") == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("", "empty headline"),
        ("two nurses hold a briefing.", "first word is not capitalised"),
        ("Two nurses hold a briefing", "does not end with exactly one full stop"),
        ("Two nurses hold a briefing..", "does not end with exactly one full stop"),
        ("Two nurses. Hold a briefing.", "full stop inside the headline"),
        ("Two nurses  hold a briefing.", "stray or doubled whitespace"),
        (" Two nurses hold a briefing.", "stray or doubled whitespace"),
        ("Two nurses hold a briefing!", "stray punctuation '!'"),
        ("Two nurses hold a briefing ,calmly.", "stray punctuation ' ,'"),
        ("Two nurses hold a briefing,.", "stray punctuation ',.'"),
        ("Two nurses hold hold a briefing.", "repeated word 'hold'"),
        ("Two nurses wave in in a hall.", "repeated word 'in'"),
        ("Two nurses wave at in a hall.", "adjacent prepositions 'at' 'in'"),
        ("Two nurses hold a briefing while.", "dangling connector 'while'"),
        ("Two nurses hold a briefing and.", "dangling connector 'and'"),
        ("Two nurses hold a briefing in.", "dangling connector 'in'"),
        ("Two nurses hold a briefing, appearing anxious, .", "stray punctuation ' .'"),
        ("A engineer waves.", "'a' before 'engineer' should be 'an'"),
    ],
)
def test_headline_problems_catch_each_defect(body: str, problem: str) -> None:
    assert problem in headline_problems(body)
