"""Image prompts: everything the face gate and the OCR scrub rely on is asked for."""

from __future__ import annotations

import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.text import lexicon as lx
from generator.text.prompts import image_prompt
from generator.text.scene import Scene, draw_scene

SEEDS = st.integers(min_value=0, max_value=2**64 - 1)


@settings(max_examples=300, deadline=None)
@given(SEEDS, st.sampled_from([0.0, 0.5, 1.0]))
def test_prompt_asks_for_everything(seed: int, rate: float) -> None:
    scene = draw_scene(random.Random(seed), rate)
    prompt = image_prompt(scene)
    assert prompt == image_prompt(scene)
    assert len(prompt.split()) <= 120
    assert "  " not in prompt
    assert prompt.startswith("Documentary news photograph")
    assert scene.shot in prompt and scene.lighting in prompt
    assert f"{scene.backdrop_prep} {scene.backdrop}" in prompt
    assert lx.EVENTS[scene.event].ing in prompt
    count = {1: "one person is", 2: "two people are", 3: "three people are"}[scene.num_people]
    assert f"Exactly {count} visible" in prompt
    role = lx.ROLES[scene.role]
    noun = role.singular if scene.num_people == 1 else role.plural
    assert re.search(rf"\b{re.escape(noun)}\b", prompt)
    for needed in (
        "clearly visible",
        "unobstructed",
        "well lit",
        "toward the camera",
        "natural skin",
    ):
        assert needed in prompt
    assert "No readable text, letters, numbers, logos, signage or watermarks" in prompt
    assert f"looking {scene.expression}" in prompt
    if scene.backdrop_kind == "absurd":
        assert "blatantly impossible, yet photographed realistically" in prompt
        assert "plausible" not in prompt
    else:
        assert "plausible and consistent" in prompt
        assert "impossible" not in prompt


def test_prompt_example() -> None:
    scene = Scene(
        role="nurse",
        num_people=2,
        event="hold_a_briefing",
        backdrop="a corridor of suspended stardust",
        backdrop_prep="in",
        backdrop_kind="absurd",
        shot="medium shot",
        lighting="soft window light",
        expression="calm",
    )
    prompt = image_prompt(scene)
    assert prompt.startswith(
        "Documentary news photograph, medium shot, soft window light. "
        "Two nurses holding a briefing in a corridor of suspended stardust, "
    )
    assert "Exactly two people are visible" in prompt
    assert "Every face is clearly visible" in prompt
    assert "looking calm" in prompt
    # a scene built without an expression just leaves the mood out
    bare = image_prompt(Scene(**{**scene.__dict__, "expression": ""}))
    assert "looking" not in bare and "toward the camera, with natural skin" in bare


def test_longest_prompt_stays_short() -> None:
    """Worst case by construction: longest role, event, backdrop and lighting together."""
    role = max(lx.ROLES.values(), key=lambda r: len(r.plural.split()))
    event = max(lx.EVENTS.values(), key=lambda e: len(e.ing.split()))
    prep, backdrop = max(lx.absurd_backdrops(), key=lambda b: len(b[1].split()))
    lighting = max(lx.LIGHTING, key=lambda light: len(light.split()))
    scene = Scene(
        role=role.key,
        num_people=3,
        event=event.key,
        backdrop=backdrop,
        backdrop_prep=prep,
        backdrop_kind="absurd",
        shot="medium shot",
        lighting=lighting,
        expression="enthusiastic",
    )
    assert len(image_prompt(scene).split()) <= 120


def test_prompt_details_carry_no_lettering() -> None:
    banned = ("book", "sign", "screen", "paper", "newspaper", "label", "poster", "badge")
    for details in lx.DETAILS_BY_TAG.values():
        for detail in details:
            assert not any(word in detail for word in banned), detail
