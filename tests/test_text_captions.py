"""Captions are the dataset's text labels: their spans are checked here from every side.

The span checks below do not trust ``Caption.marked_words``: the add-on is recovered as the
text appended after the literal caption, the swapped headline as the text after the dateline
separator, and both are tokenized on their own and compared with the words at
``fake_text_pos``.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.text import lexicon as lx
from generator.text.captions import (
    MAX_BODY_WORDS,
    MAX_CAPTION_WORDS,
    Caption,
    attribute_caption,
    literal_caption,
    literal_headline,
    swap_caption,
)
from generator.text.grammar import headline_problems
from generator.text.prompts import image_prompt
from generator.text.scene import Scene, draw_scene, pick
from generator.text.tokenize import dgm4_words

REPO = Path(__file__).resolve().parents[1]

DATELINES = [
    None,
    "NAIROBI, Kenya",
    "PORTLAND, Ore.",
    "WASHINGTON, D.C.",
    "WILKES-BARRE, Pa.",
    "ST. JOHN'S, Newfoundland",
    # datelines arrive in ASCII (generator.text.datelines folds "São Paulo", "İzmir")
    "SAO PAULO, Brazil",
    "IZMIR, Turkey",
    "KINGSTOWN, Saint Vincent and the Grenadines",
    # the longest dateline the budget promises to fit (9 words)
    "SAN JUAN DE LOS MORROS, Bolivarian Republic of Venezuela",
]
assert len(dgm4_words(DATELINES[-1])) == MAX_CAPTION_WORDS - MAX_BODY_WORDS - 1

SEEDS = st.integers(min_value=0, max_value=2**64 - 1)
RATES = st.sampled_from([0.0, 0.5, 1.0])

# An article oracle written independently of grammar.py: the vowel-letter rule plus the
# exceptions that occur in the lexicon. A new exception makes the test fail until it is
# looked at and listed here.
_ARTICLE_EXCEPTIONS = {
    "hour": "an",
    "hourglass": "an",
    "honorary": "an",
    "university": "a",
    "union": "a",
    "european": "a",
    "one": "a",
}
_CONNECTORS = {"a", "an", "the", "and", "or", "as", "in", "at", "on", "of", "to", "while", "with"}


def _prefix(dateline: str | None, em: bool) -> str:
    if dateline is None:
        return ""
    return dateline + (" — " if em else ": ")


def _check_common(caption: Caption, dateline: str | None, em: bool) -> str:
    """Invariants every caption kind shares; returns the headline body."""
    text = caption.text
    prefix = _prefix(dateline, em)
    assert text.startswith(prefix)
    body = text[len(prefix) :]
    words = dgm4_words(text)
    assert len(words) <= MAX_CAPTION_WORDS
    assert len(text.split()) <= MAX_CAPTION_WORDS
    pos = caption.fake_text_pos
    assert list(pos) == sorted(set(pos))
    assert all(0 <= i < min(50, len(words)) for i in pos)
    assert tuple(words[i] for i in pos) == caption.marked_words
    # no dateline word is ever marked
    assert not pos or pos[0] >= len(dgm4_words(prefix))
    # grammar, checked directly and through the checker
    assert headline_problems(body) == []
    assert body[0].isupper()
    assert body.endswith(".") and body.count(".") == 1
    assert "  " not in text and text == text.strip()
    body_words = dgm4_words(body)
    assert all(a != b for a, b in zip(body_words, body_words[1:], strict=False))
    assert body_words[-1] not in _CONNECTORS
    for here, after in zip(body_words, body_words[1:], strict=False):
        if here in ("a", "an"):
            want = _ARTICLE_EXCEPTIONS.get(after, "an" if after[0] in "aeiou" else "a")
            assert here == want, (here, after, text)
    return body


def _check_agreement(scene: Scene, body: str) -> None:
    role, event = lx.ROLES[scene.role], lx.EVENTS[scene.event]
    if scene.num_people == 1:
        head = role.singular.split()[0].lower()
        article = _ARTICLE_EXCEPTIONS.get(head, "an" if head[0] in "aeiou" else "a").capitalize()
        start = f"{article} {role.singular} {event.third} "
    else:
        count = {2: "Two", 3: "Three"}[scene.num_people]
        start = f"{count} {role.plural} {event.base} "
    assert body.startswith(start), (body, start)


def _has_phrase(words: list[str], phrase: str) -> bool:
    target = dgm4_words(phrase)
    return any(words[i : i + len(target)] == target for i in range(len(words)))


def check_all_kinds(scene: Scene, rng: random.Random, dateline: str | None, em: bool) -> None:
    literal = literal_caption(scene, dateline, em)
    attribute = attribute_caption(scene, rng, dateline, em)
    swap = swap_caption(scene, rng, dateline, em)

    # origin: the literal headline, nothing marked
    body = _check_common(literal, dateline, em)
    assert literal.fake_text_pos == () and literal.marked_words == ()
    assert body == literal_headline(scene) + "."
    assert body.endswith(f" {scene.backdrop_prep} {scene.backdrop}.")
    _check_agreement(scene, body)

    # text_attribute: literal headline + add-on; exactly the add-on's words are marked
    body = _check_common(attribute, dateline, em)
    _check_agreement(scene, body)
    assert attribute.text.startswith(literal.text[:-1])
    addon = attribute.text[len(literal.text) - 1 : -1]
    addon_words = dgm4_words(addon)
    assert 2 <= len(addon_words) <= 5
    assert tuple(addon_words) == attribute.marked_words
    n_all, n_literal = len(dgm4_words(attribute.text)), len(dgm4_words(literal.text))
    assert attribute.fake_text_pos == tuple(range(n_literal, n_all))
    assert addon_words[-1] in {w for pair in lx.AFFECT_PAIRS for w in pair}
    if scene.expression:
        assert addon_words[-1] != scene.expression  # the add-on contradicts the picture

    # text_swap: dateline kept and unmarked, every headline word marked, nothing of the scene
    body = _check_common(swap, dateline, em)
    n_prefix = len(dgm4_words(_prefix(dateline, em)))
    swap_words = dgm4_words(swap.text)
    assert swap.fake_text_pos == tuple(range(n_prefix, len(swap_words)))
    assert tuple(dgm4_words(body)) == swap.marked_words
    if dateline:
        assert swap_words[:n_prefix] == dgm4_words(_prefix(dateline, em))
    role, event = lx.ROLES[scene.role], lx.EVENTS[scene.event]
    for phrase in (role.singular, role.plural, event.third, event.base, scene.backdrop):
        assert not _has_phrase(dgm4_words(body), phrase), (phrase, swap.text)


@settings(max_examples=300, deadline=None)
@given(SEEDS, RATES, st.sampled_from(DATELINES), st.booleans())
def test_captions_for_many_seeds(seed: int, rate: float, dateline: str | None, em: bool) -> None:
    rng = random.Random(seed)
    scene = draw_scene(rng, rate)
    check_all_kinds(scene, rng, dateline, em)


@settings(max_examples=100, deadline=None)
@given(SEEDS, st.sampled_from(DATELINES), st.booleans())
def test_same_seed_same_captions(seed: int, dateline: str | None, em: bool) -> None:
    def run() -> tuple[Caption, ...]:
        rng = random.Random(seed)
        scene = draw_scene(rng, 1.0)
        return (
            literal_caption(scene, dateline, em),
            attribute_caption(scene, rng, dateline, em),
            swap_caption(scene, rng, dateline, em),
        )

    assert run() == run()


def _scene(**changes) -> Scene:
    fields = {
        "role": "nurse",
        "num_people": 2,
        "event": "hold_a_briefing",
        "backdrop": "a corridor of suspended stardust",
        "backdrop_prep": "in",
        "backdrop_kind": "absurd",
        "shot": "medium shot",
        "lighting": "soft window light",
        "expression": "calm",
    }
    fields.update(changes)
    return Scene(**fields)


def test_literal_caption_examples() -> None:
    scene = _scene()
    assert literal_caption(scene, "NAIROBI, Kenya", True).text == (
        "NAIROBI, Kenya — Two nurses hold a briefing in a corridor of suspended stardust."
    )
    one = _scene(role="engineer", num_people=1)
    assert literal_caption(one, "PORTLAND, Ore.", False).text == (
        "PORTLAND, Ore.: An engineer holds a briefing in a corridor of suspended stardust."
    )
    three = _scene(role="university lecturer", num_people=3, event="give_an_interview")
    assert literal_caption(three, None, False).text == (
        "Three university lecturers give an interview in a corridor of suspended stardust."
    )
    assert literal_caption(_scene(role="umpire", num_people=1), None, True).text.startswith(
        "An umpire holds"
    )
    assert literal_caption(
        _scene(role="union organizer", num_people=1), None, True
    ).text.startswith("A union organizer holds")


def _first_with_style(scene: Scene, dateline: str, em: bool, marker: str) -> Caption:
    for seed in range(500):
        caption = attribute_caption(scene, random.Random(seed), dateline, em)
        if marker in caption.text:
            return caption
    raise AssertionError(f"no add-on with {marker!r}")


def test_attribute_span_is_not_shifted_left() -> None:
    """The original script marked the word before the add-on and missed its last word."""
    scene = _scene()
    caption = _first_with_style(scene, "NAIROBI, Kenya", True, ", appearing visibly")
    assert caption.text == (
        "NAIROBI, Kenya — Two nurses hold a briefing in a corridor of suspended stardust, "
        "appearing visibly anxious."
    )
    # nairobi kenya — two nurses hold a briefing in a corridor of suspended stardust
    #    0      1    2  3    4     5   6    7     8  9   10    11    12       13
    assert caption.fake_text_pos == (14, 15, 16)
    assert caption.marked_words == ("appearing", "visibly", "anxious")

    colon = _first_with_style(scene, "NAIROBI, Kenya", False, ", appearing visibly")
    assert colon.fake_text_pos == (13, 14, 15)  # no em dash word: one index earlier

    joined = _first_with_style(scene, "WILKES-BARRE, Pa.", True, " and ")
    assert joined.marked_words[0] == "and"
    assert joined.fake_text_pos[0] == 15  # wilkes barre pa — ... stardust and
    assert joined.marked_words[-1] == "anxious"


def test_addon_agrees_with_the_count() -> None:
    seen = set()
    for n in (1, 2, 3):
        for seed in range(300):
            caption = attribute_caption(_scene(num_people=n), random.Random(seed), None, False)
            words = caption.marked_words
            if words[0] == "and":
                verb = words[1]
                assert verb.endswith("s") == (n == 1), caption.text
                seen.add((n, verb))
            if words[0] == "as":
                assert n > 1 and words[1] == ("both" if n == 2 else "all"), caption.text
                verb = words[2] if n == 2 else words[3]
                assert not verb.endswith("s"), caption.text
                seen.add((n, "as"))
    assert {(1, "appears"), (1, "looks"), (1, "seems"), (2, "appear"), (3, "look")} <= seen
    assert {(2, "as"), (3, "as")} <= seen


def test_clause_backdrops_get_comma_addons_only() -> None:
    scenes = [
        _scene(backdrop="a courtroom where rain falls upward"),
        _scene(backdrop_prep="while", backdrop="wading through a lake of warm honey"),
        _scene(backdrop="a newsroom inside a bottle drifting at sea"),
    ]
    for scene in scenes:
        for seed in range(60):
            caption = attribute_caption(scene, random.Random(seed), None, False)
            addon = caption.text[len(literal_headline(scene)) : -1]
            assert addon.startswith(", "), caption.text


def test_swap_example_and_dateline_unmarked() -> None:
    caption = swap_caption(_scene(), random.Random(7), "NAIROBI, Kenya", True)
    words = dgm4_words(caption.text)
    assert words[:3] == ["nairobi", "kenya", "—"]
    assert caption.fake_text_pos == tuple(range(3, len(words)))
    assert "nurse" not in caption.text and "stardust" not in caption.text


def test_expressionless_scene_still_gets_an_affect() -> None:
    scene = _scene(expression="")
    caption = attribute_caption(scene, random.Random(3), None, False)
    assert caption.marked_words[-1] in {w for pair in lx.AFFECT_PAIRS for w in pair}


def test_every_role_and_event_builds() -> None:
    """Every role with every event, one and three people, gives a clean literal headline."""
    realistic = lx.REALISTIC_BACKDROPS
    absurd = lx.absurd_backdrops()
    i = 0
    for role in lx.ROLES:
        for event in lx.EVENTS:
            for n in (1, 3):
                i += 1
                if i % 2:
                    prep, phrase = absurd[(i * 7919) % len(absurd)]
                else:
                    b = realistic[i % len(realistic)]
                    prep, phrase = b.prep, b.phrase
                scene = _scene(
                    role=role, event=event, num_people=n, backdrop_prep=prep, backdrop=phrase
                )
                body = literal_caption(scene, None, False).text
                _check_agreement(scene, body)


def test_every_absurd_backdrop_builds_with_an_addon() -> None:
    rng = random.Random(0)
    for prep, phrase in lx.absurd_backdrops():
        scene = _scene(backdrop_prep=prep, backdrop=phrase, num_people=rng.randrange(1, 4))
        _check_common(attribute_caption(scene, rng, "NAIROBI, Kenya", True), "NAIROBI, Kenya", True)


def test_all_swap_and_affect_material_is_reachable() -> None:
    texts = []
    for seed in range(4000):
        scene = _scene(num_people=1 + seed % 3)
        texts.append(swap_caption(scene, random.Random(seed), "PORTLAND, Ore.", seed % 2 == 0).text)
    corpus = "\n".join(texts)
    for singular, plural in lx.SWAP_SUBJECTS:
        assert f" {singular} " in corpus and f" {plural} " in corpus, singular
    for third, base in lx.SWAP_ACTIONS:
        assert third in corpus and base in corpus, third
    for prep, place in lx.SWAP_PLACES:
        assert f"{prep} {place}" in corpus.lower(), place
    # every adjective, on either side of its pair, can be claimed by an add-on
    rng = random.Random(0)
    claimed = set()
    for seed in range(300):
        expression = lx.AFFECT_PAIRS[seed % len(lx.AFFECT_PAIRS)][seed // len(lx.AFFECT_PAIRS) % 2]
        caption = attribute_caption(_scene(expression=expression), rng, None, False)
        claimed.add(caption.marked_words[-1])
    assert claimed == {w for pair in lx.AFFECT_PAIRS for w in pair}


def test_too_long_or_untidy_datelines_are_refused() -> None:
    scene = _scene()
    with pytest.raises(ValueError, match="more than 40"):
        literal_caption(scene, " ".join(["CITY"] * 35), False)
    with pytest.raises(ValueError, match="stray whitespace"):
        literal_caption(scene, "NAIROBI,  Kenya", False)
    with pytest.raises(ValueError, match="stray whitespace"):
        literal_caption(scene, "NAIROBI, Kenya ", True)
    assert literal_caption(scene, "", True).text == literal_caption(scene, None, True).text


def test_a_scene_with_a_bad_backdrop_is_caught_by_the_headline_check() -> None:
    # The check runs in the property tests and in `dgm4plus validate`, not per plan item.
    body = literal_caption(_scene(backdrop="in a hall"), None, False).text
    assert any("prepositions" in p or "repeated word" in p for p in headline_problems(body))
    body = literal_caption(_scene(backdrop="a engine room"), None, False).text
    assert any("'a' before 'engine'" in p for p in headline_problems(body))


def _city_pool() -> list[str]:
    cities = [
        "AVALON", "BRINDLE", "CARTHEW", "DUNMORE", "ELSWICK", "FARRANT", "GLENVALE", "HARLOW",
        "ISLETON", "JUNIPER", "KESTREL", "LOWMOOR", "MARBURY", "NORTHAM", "OAKRIDGE", "PENWITH",
        "QUARRYTON", "REDCLIFF", "SALTASH", "THORNBY",
    ]  # fmt: skip
    regions = [
        "Kenya", "Ore.", "Brazil", "India", "Norway", "Chile", "Ghana", "Japan", "Peru",
        "Canada", "Egypt", "Spain", "Vietnam", "Poland", "Mexico",
    ]  # fmt: skip
    return [f"{city}, {region}" for city in cities for region in regions]


@pytest.mark.parametrize("rate", [1.0, 0.0])
def test_captions_are_distinct_over_3000_seeds(rate: float) -> None:
    pool = _city_pool()
    assert len(pool) == 300
    texts: dict[str, list[str]] = {"origin": [], "text_attribute": [], "text_swap": []}
    for seed in range(3000):
        rng = random.Random(seed)
        scene = draw_scene(rng, rate)
        dateline = pick(rng, pool)
        em = seed % 2 == 0
        texts["origin"].append(literal_caption(scene, dateline, em).text)
        texts["text_attribute"].append(attribute_caption(scene, rng, dateline, em).text)
        texts["text_swap"].append(swap_caption(scene, rng, dateline, em).text)
    for kind, items in texts.items():
        assert len(set(items)) >= 0.99 * len(items), kind


# Pinned outputs: any change to the lexicon, the draw order or the phrasing shows up here.
GOLDEN = {
    0: (
        (
            "NAIROBI, Kenya — Two disaster relief coordinators clear storm debris while tumbling "
            "slowly through a sky of upside down mountains."
        ),
        (
            "NAIROBI, Kenya — Two disaster relief coordinators clear storm debris while tumbling "
            "slowly through a sky of upside down mountains, looking decidedly upbeat."
        ),
        "(20, 21, 22)",
        "NAIROBI, Kenya — Two balloonists groom a show poodle in a converted barn.",
        "(3, 4, 5, 6, 7, 8, 9, 10, 11, 12)",
    ),
    1: (
        (
            "PORTLAND, Ore.: Two bus drivers greet visitors at a border checkpoint inside a giant"
            " music box."
        ),
        (
            "PORTLAND, Ore.: Two bus drivers greet visitors at a border checkpoint inside a giant"
            " music box, appearing clearly exhausted."
        ),
        "(16, 17, 18)",
        (
            "PORTLAND, Ore.: Two lighthouse keepers practice a tap dance routine at a miniature "
            "golf course."
        ),
        "(2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)",
    ),
    2: (
        (
            "A peace envoy attends a memorial ceremony in a ballroom where the sun and the moon "
            "shine side by side."
        ),
        (
            "A peace envoy attends a memorial ceremony in a ballroom where the sun and the moon "
            "shine side by side, visibly pessimistic."
        ),
        "(20, 21)",
        "On a ferry deck, a wedding caterer waits an hour for a tram.",
        "(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)",
    ),
}


def _golden_run(seed: int) -> tuple[str, ...]:
    rng = random.Random(seed)
    scene = draw_scene(rng, 1.0)
    dateline = ("NAIROBI, Kenya", "PORTLAND, Ore.", None)[seed % 3]
    em = seed % 2 == 0
    literal = literal_caption(scene, dateline, em)
    attribute = attribute_caption(scene, rng, dateline, em)
    swap = swap_caption(scene, rng, dateline, em)
    return (
        literal.text,
        attribute.text,
        repr(attribute.fake_text_pos),
        swap.text,
        repr(swap.fake_text_pos),
    )


@pytest.mark.parametrize("seed", sorted(GOLDEN))
def test_golden_snapshot(seed: int) -> None:
    assert _golden_run(seed) == GOLDEN[seed]


_DIGEST_SCRIPT = """
import hashlib, random
from generator.text.scene import draw_scene
from generator.text.captions import literal_caption, attribute_caption, swap_caption
from generator.text.prompts import image_prompt
h = hashlib.sha256()
for seed in range(300):
    rng = random.Random(seed)
    scene = draw_scene(rng, 0.5)
    for c in (literal_caption(scene, "NAIROBI, Kenya", True),
              attribute_caption(scene, rng, "NAIROBI, Kenya", True),
              swap_caption(scene, rng, None, False)):
        h.update(repr((c.text, c.fake_text_pos, c.marked_words)).encode())
    h.update(image_prompt(scene).encode())
print(h.hexdigest())
"""


def test_identical_output_under_different_hash_seeds() -> None:
    digests = set()
    for hash_seed in ("0", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        out = subprocess.run(
            [sys.executable, "-c", _DIGEST_SCRIPT],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1
    assert re.fullmatch(r"[0-9a-f]{64}", digests.pop())


GOLDEN_PROMPT_0 = (
    "Documentary news photograph, medium shot, dappled sunlight. Two disaster relief "
    "coordinators clearing storm debris while tumbling slowly through a sky of upside "
    "down mountains, carrying a first aid bag. Exactly two people are visible; anyone "
    "else the scene implies stays out of frame. Every face is clearly visible, "
    "unobstructed, well lit and turned roughly toward the camera, looking downcast, with "
    "natural skin texture. The setting is blatantly impossible, yet photographed "
    "realistically, as if a press photographer had really been there. No readable text, "
    "letters, numbers, logos, signage or watermarks anywhere."
)


def test_golden_prompt() -> None:
    assert image_prompt(draw_scene(random.Random(0), 1.0)) == GOLDEN_PROMPT_0
