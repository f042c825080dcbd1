"""The scene plan: a pure function of (seed, bucket, k).

Each plan item draws everything it needs from its own generator, seeded by a SHA-256 digest of
``"{seed}|{bucket}|{k}"``: the same item comes out on any machine, in any order, at any
concurrency, and previewing the plan (``dgm4plus plan``) costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass

from generator.config import BUCKETS, Config
from generator.text.captions import (
    HEADLINE_MAX_WORDS,
    Caption,
    attribute_caption,
    caption_prefix,
    literal_caption,
    literal_headline,
    swap_caption,
)
from generator.text.datelines import CityTable
from generator.text.prompts import image_prompt
from generator.text.scene import Scene, draw_scene
from generator.text.tokenize import words_untruncated

#: At most this many cities are drawn for a dateline that keeps the caption within
#: HEADLINE_MAX_WORDS; if none does, the first is used.
DATELINE_DRAWS = 6
#: Words kept free for the text_attribute add-on when choosing the dateline: a typical add-on,
#: and the shortest one (", visibly tense") as the last resort.
ADDON_RESERVE = {"origin": 0, "text_attribute": 3}
ADDON_MIN = {"origin": 0, "text_attribute": 2}


@dataclass(frozen=True)
class PlanItem:
    plan_key: str
    fake_cls: str
    text: str
    fake_text_pos: tuple[int, ...]
    literal_text: str
    prompt: str
    backdrop: str
    backdrop_kind: str
    shot: str
    lighting: str
    dateline: str
    role: str
    event: str
    num_people: int
    expression: str  # the look asked of the people; text_attribute claims its opposite

    @property
    def bucket(self) -> str:
        return self.fake_cls

    @property
    def k(self) -> int:
        return int(self.plan_key.rsplit("/", 1)[1])

    def to_json(self) -> str:
        d = dict(self.__dict__)  # flat fields: no need for dataclasses.asdict's deep copy
        d["fake_text_pos"] = list(self.fake_text_pos)
        return json.dumps(d, ensure_ascii=False)


def item_rng(seed: int, bucket: str, k: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}|{bucket}|{k}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def draw_dateline(
    cfg: Config, cities: CityTable, rng: random.Random, scene: Scene, bucket: str
) -> str | None:
    """The item's dateline, or ``None`` (rate ``DATELINE_RATE``).

    Origin and text_attribute captions repeat the literal headline, so for them cities are drawn
    (up to :data:`DATELINE_DRAWS`) until the caption stays within
    :data:`~generator.text.captions.HEADLINE_MAX_WORDS` words with room for a typical add-on:
    long place names ("LAS PALMAS DE GRAN CANARIA, Spain") go with short headlines. Failing that
    the shortest drawn dateline is used if the caption fits with the shortest add-on; a headline
    too long for any of them goes without a dateline, as wire captions sometimes do. text_swap
    headlines are short and keep the first city.
    """
    if rng.random() >= cfg.DATELINE_RATE:
        return None
    first = cities.draw(rng).dateline()
    if bucket not in ADDON_RESERVE:
        return first
    headline = literal_headline(scene) + "."

    def length(line: str) -> int:
        return len(words_untruncated(caption_prefix(line, cfg.USE_EM_DASH) + headline))

    drawn = [first]
    while length(drawn[-1]) > HEADLINE_MAX_WORDS - ADDON_RESERVE[bucket]:
        if len(drawn) == DATELINE_DRAWS:
            shortest = min(drawn, key=length)
            fits = length(shortest) <= HEADLINE_MAX_WORDS - ADDON_MIN[bucket]
            return shortest if fits else None
        drawn.append(cities.draw(rng).dateline())
    return drawn[-1]


def plan_item(cfg: Config, cities: CityTable, bucket: str, k: int) -> PlanItem:
    if bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket!r}")
    rng = item_rng(cfg.SEED, bucket, k)
    scene = draw_scene(rng, cfg.MISPLACED_BG_RATE)
    dateline = draw_dateline(cfg, cities, rng, scene, bucket)
    caption: Caption
    if bucket == "origin":
        caption = literal_caption(scene, dateline, cfg.USE_EM_DASH)
        literal_text = caption.text
    else:
        # The literal caption of a manipulated item is provenance only: no span to compute.
        literal_text = caption_prefix(dateline, cfg.USE_EM_DASH) + literal_headline(scene) + "."
        if bucket == "text_attribute":
            caption = attribute_caption(
                scene, rng, dateline, cfg.USE_EM_DASH, max_words=HEADLINE_MAX_WORDS
            )
        else:
            caption = swap_caption(scene, rng, dateline, cfg.USE_EM_DASH, cfg.TEXT_SWAP_SPANS)
    return PlanItem(
        plan_key=f"{bucket}/{k}",
        fake_cls=bucket,
        text=caption.text,
        fake_text_pos=tuple(caption.fake_text_pos),
        literal_text=literal_text,
        prompt=image_prompt(scene),
        backdrop=scene.backdrop,
        backdrop_kind=scene.backdrop_kind,
        shot=scene.shot,
        lighting=scene.lighting,
        dateline=dateline or "",
        role=scene.role,
        event=scene.event,
        num_people=scene.num_people,
        expression=scene.expression,
    )


def iter_plan(
    cfg: Config, cities: CityTable, counts: dict[str, int] | None = None
) -> Iterator[PlanItem]:
    """Items in plan order: k = 0, 1, ... interleaving the buckets (origin, text_attribute, text_swap)."""
    counts = cfg.targets if counts is None else counts
    for k in range(max(counts.values(), default=0)):
        for bucket in BUCKETS:
            if k < counts.get(bucket, 0):
                yield plan_item(cfg, cities, bucket, k)
