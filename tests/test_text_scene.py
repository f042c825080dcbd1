"""Scene drawing: determinism, backdrop choice by rate, tag matching and weights."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.text import lexicon as lx
from generator.text.scene import (
    NUM_PEOPLE_WEIGHTS,
    SHOT_WEIGHTS,
    Scene,
    compatible_events,
    draw_scene,
    weighted_pick,
)

SEEDS = st.integers(min_value=0, max_value=2**64 - 1)
ABSURD = {(prep, phrase) for prep, phrase in lx.absurd_backdrops()}


@settings(max_examples=150, deadline=None)
@given(SEEDS, st.sampled_from([0.0, 0.3, 1.0]))
def test_same_seed_same_scene(seed: int, rate: float) -> None:
    assert draw_scene(random.Random(seed), rate) == draw_scene(random.Random(seed), rate)


@settings(max_examples=150, deadline=None)
@given(SEEDS)
def test_rate_one_is_always_absurd(seed: int) -> None:
    scene = draw_scene(random.Random(seed), 1.0)
    assert scene.backdrop_kind == "absurd"
    assert (scene.backdrop_prep, scene.backdrop) in ABSURD


@settings(max_examples=150, deadline=None)
@given(SEEDS)
def test_rate_zero_is_realistic_and_matches_tags(seed: int) -> None:
    scene = draw_scene(random.Random(seed), 0.0)
    assert scene.backdrop_kind == "realistic"
    matches = [
        b
        for b in lx.REALISTIC_BACKDROPS
        if (b.prep, b.phrase) == (scene.backdrop_prep, scene.backdrop)
    ]
    assert len(matches) == 1
    wanted = set(lx.ROLES[scene.role].tags) | set(lx.EVENTS[scene.event].tags)
    assert wanted & set(matches[0].tags)


@settings(max_examples=150, deadline=None)
@given(SEEDS)
def test_scene_fields_are_valid(seed: int) -> None:
    scene = draw_scene(random.Random(seed), 0.5)
    assert scene.role in lx.ROLES
    assert scene.event in compatible_events(scene.role)
    assert scene.num_people in (1, 2, 3)
    assert scene.shot in dict(SHOT_WEIGHTS)
    assert scene.lighting in lx.LIGHTING
    assert any(scene.expression in pair for pair in lx.AFFECT_PAIRS)


def test_rate_does_not_change_who_and_what() -> None:
    for seed in range(50):
        a = draw_scene(random.Random(seed), 0.0)
        b = draw_scene(random.Random(seed), 1.0)
        assert (a.role, a.num_people, a.event) == (b.role, b.num_people, b.event)


def test_mixed_rate_and_weights_over_many_draws() -> None:
    scenes = [draw_scene(random.Random(seed), 0.5) for seed in range(3000)]
    kinds = Counter(s.backdrop_kind for s in scenes)
    assert 1350 <= kinds["absurd"] <= 1650
    shots = Counter(s.shot for s in scenes)
    for shot, weight in SHOT_WEIGHTS:
        assert abs(shots[shot] / 3000 - weight) < 0.04, (shot, shots)
    people = Counter(s.num_people for s in scenes)
    for n, weight in NUM_PEOPLE_WEIGHTS:
        assert abs(people[n] / 3000 - weight) < 0.04, (n, people)
    assert len({s.role for s in scenes}) > 0.9 * len(lx.ROLES)
    assert len({s.event for s in scenes}) > 0.9 * len(lx.EVENTS)
    absurd = [s for s in scenes if s.backdrop_kind == "absurd"]
    assert len({s.backdrop for s in absurd}) > 0.8 * len(absurd)
    families = Counter(
        next(
            i
            for i, fam in enumerate(lx.absurd_backdrop_families())
            if (s.backdrop_prep, s.backdrop) in fam
        )
        for s in absurd
    )
    assert sorted(families) == [0, 1, 2, 3, 4]


def test_weighted_pick_uses_one_draw_and_respects_order() -> None:
    class Fixed(random.Random):
        def __init__(self, value: float) -> None:
            super().__init__(0)
            self.value = value

        def random(self) -> float:
            return self.value

    pairs = (("a", 0.25), ("b", 0.45), ("c", 0.30))
    assert weighted_pick(Fixed(0.0), pairs) == "a"
    assert weighted_pick(Fixed(0.2499), pairs) == "a"
    assert weighted_pick(Fixed(0.25), pairs) == "b"
    assert weighted_pick(Fixed(0.6999), pairs) == "b"
    assert weighted_pick(Fixed(0.7001), pairs) == "c"
    assert weighted_pick(Fixed(0.9999999), pairs) == "c"


@pytest.mark.parametrize("rate", [-0.1, 1.5, float("nan"), "1.0", None])
def test_bad_rate_is_refused(rate) -> None:
    with pytest.raises(ValueError, match="misplaced_bg_rate"):
        draw_scene(random.Random(0), rate)


def test_scene_validates_its_fields() -> None:
    good = draw_scene(random.Random(1), 1.0)
    for bad in (
        {"role": "wizard"},
        {"event": "cast_spells"},
        {"num_people": 4},
        {"backdrop_kind": "surreal"},
        {"backdrop_prep": ""},
    ):
        with pytest.raises(ValueError):
            replace(good, **bad)
    # the expression is optional, for scenes built by hand
    bare = Scene(
        role="nurse",
        num_people=1,
        event="hold_a_briefing",
        backdrop="a corridor of suspended stardust",
        backdrop_prep="in",
        backdrop_kind="absurd",
        shot="close-up",
        lighting="soft window light",
    )
    assert bare.expression == ""
