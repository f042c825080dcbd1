"""What a picture shows: who, how many, doing what, where, framed and lit how.

:func:`draw_scene` is a pure function of the ``random.Random`` it is handed. It only uses
``randrange`` and ``random``, whose streams Python keeps stable across versions, and it walks
tuples and insertion-ordered dicts only, so a seed gives the same scene on every machine.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TypeVar

from generator.text.lexicon import (
    ABSURD_FAMILY_WEIGHTS,
    AFFECT_PAIRS,
    EVENTS,
    LIGHTING,
    REALISTIC_BACKDROPS,
    ROLES,
    Backdrop,
    absurd_backdrop_families,
)

__all__ = [
    "BACKDROP_KINDS",
    "NUM_PEOPLE_WEIGHTS",
    "ROLE_KEYS",
    "SHOT_WEIGHTS",
    "Scene",
    "compatible_events",
    "draw_scene",
    "pick",
    "realistic_backdrops_for",
    "weighted_pick",
]

T = TypeVar("T")

SHOT_WEIGHTS = (("wide shot", 0.25), ("medium shot", 0.45), ("close-up", 0.30))
#: One person is the easiest picture to get right; groups of three are rarer.
NUM_PEOPLE_WEIGHTS = ((1, 0.45), (2, 0.35), (3, 0.20))
BACKDROP_KINDS = ("absurd", "realistic")
ROLE_KEYS: tuple[str, ...] = tuple(ROLES)


@dataclass(frozen=True)
class Scene:
    role: str  # key of lexicon.ROLES, e.g. "nurse"
    num_people: int  # 1..3
    event: str  # key of lexicon.EVENTS, e.g. "hold_a_briefing"
    backdrop: str  # phrase after its preposition: "a corridor of suspended stardust"
    backdrop_prep: str  # "in" | "at" | "on" | "outside" | "beside" | "while"
    backdrop_kind: str  # "absurd" | "realistic"
    shot: str  # "wide shot" | "medium shot" | "close-up"
    lighting: str
    #: The facial expression the picture shows (one side of an affect pair). The
    #: text_attribute caption claims the opposite side. "" leaves expressions unspecified.
    expression: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"Scene.role: unknown role {self.role!r}")
        if self.event not in EVENTS:
            raise ValueError(f"Scene.event: unknown event {self.event!r}")
        if self.num_people not in (1, 2, 3):
            raise ValueError(f"Scene.num_people: expected 1, 2 or 3, got {self.num_people!r}")
        if self.backdrop_kind not in BACKDROP_KINDS:
            raise ValueError(f"Scene.backdrop_kind: expected one of {BACKDROP_KINDS}")
        if not self.backdrop_prep or not self.backdrop:
            raise ValueError("Scene.backdrop and Scene.backdrop_prep must not be empty")


def pick(rng: random.Random, items: Sequence[T]) -> T:
    """A uniformly drawn item (``randrange`` is stable across Python versions)."""
    if not items:
        raise ValueError("cannot pick from an empty sequence")
    return items[rng.randrange(len(items))]


def weighted_pick(rng: random.Random, pairs: Sequence[tuple[T, float]]) -> T:
    """Draw ``value`` from ``(value, weight)`` pairs with one ``rng.random()`` call."""
    total = math.fsum(weight for _, weight in pairs)
    point = rng.random() * total
    running = 0.0
    for value, weight in pairs:
        running += weight
        if point < running:
            return value
    return pairs[-1][0]


@cache
def compatible_events(role: str) -> tuple[str, ...]:
    """Event keys that fit ``role``: ``general`` events and those sharing one of its tags."""
    tags = ROLES[role].tags
    return tuple(
        key
        for key, event in EVENTS.items()
        if "general" in event.tags or any(tag in tags for tag in event.tags)
    )


@cache
def realistic_backdrops_for(role: str, event: str) -> tuple[Backdrop, ...]:
    """Realistic backdrops for a role doing an event.

    Backdrops whose tags meet both the role's and the event's tags come first; when there are
    none, those meeting either. The lexicon guarantees the result is never empty.
    """
    role_tags = ROLES[role].tags
    event_tags = EVENTS[event].tags

    def meets(backdrop: Backdrop, tags: tuple[str, ...]) -> bool:
        return any(tag in tags for tag in backdrop.tags)

    both = tuple(b for b in REALISTIC_BACKDROPS if meets(b, role_tags) and meets(b, event_tags))
    if both:
        return both
    return tuple(b for b in REALISTIC_BACKDROPS if meets(b, role_tags) or meets(b, event_tags))


def _draw_absurd(rng: random.Random) -> tuple[str, str]:
    families = absurd_backdrop_families()
    family = weighted_pick(rng, tuple(zip(families, ABSURD_FAMILY_WEIGHTS, strict=True)))
    return pick(rng, family)


def draw_scene(rng: random.Random, misplaced_bg_rate: float) -> Scene:
    """Draw one scene.

    With probability ``misplaced_bg_rate`` the backdrop is absurd; otherwise it is a realistic
    one whose tags meet the role's or the event's. The same number of draws is made either
    way up to the backdrop, so a seed keeps its role, count and event whatever the rate.
    """
    if not (isinstance(misplaced_bg_rate, int | float) and 0.0 <= misplaced_bg_rate <= 1.0):
        raise ValueError(
            f"misplaced_bg_rate: expected a number in [0, 1], got {misplaced_bg_rate!r}"
        )
    role = pick(rng, ROLE_KEYS)
    num_people = weighted_pick(rng, NUM_PEOPLE_WEIGHTS)
    event = pick(rng, compatible_events(role))
    if rng.random() < misplaced_bg_rate:
        kind = "absurd"
        prep, backdrop = _draw_absurd(rng)
    else:
        kind = "realistic"
        chosen = pick(rng, realistic_backdrops_for(role, event))
        prep, backdrop = chosen.prep, chosen.phrase
    shot = weighted_pick(rng, SHOT_WEIGHTS)
    lighting = pick(rng, LIGHTING)
    expression = pick(rng, AFFECT_PAIRS)[rng.randrange(2)]
    return Scene(
        role=role,
        num_people=num_people,
        event=event,
        backdrop=backdrop,
        backdrop_prep=prep,
        backdrop_kind=kind,
        shot=shot,
        lighting=lighting,
        expression=expression,
    )
