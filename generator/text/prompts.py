"""Image prompts for gpt-image-1.

A prompt is a pure function of the scene: the same scene always gives the same prompt. The
one choice it makes (which visual detail to mention) is keyed on a CRC-32 of the scene's
fields, which is stable across runs and machines (unlike ``hash()``).
"""

from __future__ import annotations

import zlib

from generator.text.grammar import capitalize_first, counted_noun, number_word
from generator.text.lexicon import DETAILS_BY_TAG, EVENTS, ROLES
from generator.text.scene import Scene

__all__ = ["image_prompt"]

_ABSURD_STYLE = (
    "The setting is blatantly impossible, yet photographed realistically, "
    "as if a press photographer had really been there."
)
_REALISTIC_STYLE = (
    "The setting is plausible and consistent with the people and what they are doing, "
    "like an ordinary wire photo."
)
_NO_TEXT = "No readable text, letters, numbers, logos, signage or watermarks anywhere."


def _detail(scene: Scene) -> str | None:
    tags = [tag for tag in ROLES[scene.role].tags if tag in DETAILS_BY_TAG]
    if not tags:
        return None
    details = DETAILS_BY_TAG[tags[0]]
    key = "|".join((scene.role, scene.event, scene.backdrop, scene.shot, scene.lighting))
    return details[zlib.crc32(key.encode("utf-8")) % len(details)]


def image_prompt(scene: Scene) -> str:
    """The gpt-image-1 prompt for ``scene`` (well under 120 words)."""
    role = ROLES[scene.role]
    event = EVENTS[scene.event]
    n = scene.num_people
    people = capitalize_first(counted_noun(role.singular, role.plural, n))
    action = f"{people} {event.ing} {scene.backdrop_prep} {scene.backdrop}"
    detail = _detail(scene)
    if detail:
        action = f"{action}, {detail}"
    if n == 1:
        count = "Exactly one person is visible"
        faces = "the face is"
    else:
        count = f"Exactly {number_word(n)} people are visible"
        faces = "every face is"
    mood = f", looking {scene.expression}" if scene.expression else ""
    style = _ABSURD_STYLE if scene.backdrop_kind == "absurd" else _REALISTIC_STYLE
    return " ".join(
        (
            f"Documentary news photograph, {scene.shot}, {scene.lighting}.",
            f"{action}.",
            f"{count}; anyone else the scene implies stays out of frame.",
            f"{capitalize_first(faces)} clearly visible, unobstructed, well lit and turned "
            f"roughly toward the camera{mood}, with natural skin texture.",
            style,
            _NO_TEXT,
        )
    )
