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
    Caption,
    attribute_caption,
    caption_prefix,
    literal_caption,
    literal_headline,
    swap_caption,
)
from generator.text.datelines import CityTable
from generator.text.prompts import image_prompt
from generator.text.scene import draw_scene


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


def plan_item(cfg: Config, cities: CityTable, bucket: str, k: int) -> PlanItem:
    if bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket!r}")
    rng = item_rng(cfg.SEED, bucket, k)
    scene = draw_scene(rng, cfg.MISPLACED_BG_RATE)
    dateline = cities.draw(rng).dateline() if rng.random() < cfg.DATELINE_RATE else None
    caption: Caption
    if bucket == "origin":
        caption = literal_caption(scene, dateline, cfg.USE_EM_DASH)
        literal_text = caption.text
    else:
        # The literal caption of a manipulated item is provenance only: no span to compute.
        literal_text = caption_prefix(dateline, cfg.USE_EM_DASH) + literal_headline(scene) + "."
        if bucket == "text_attribute":
            caption = attribute_caption(scene, rng, dateline, cfg.USE_EM_DASH)
        else:
            caption = swap_caption(scene, rng, dateline, cfg.USE_EM_DASH)
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


def iter_plan(cfg: Config, cities: CityTable, counts: dict[str, int] | None = None) -> Iterator[PlanItem]:
    """Items in plan order: k = 0, 1, ... interleaving the buckets (origin, text_attribute, text_swap)."""
    counts = cfg.targets if counts is None else counts
    for k in range(max(counts.values(), default=0)):
        for bucket in BUCKETS:
            if k < counts.get(bucket, 0):
                yield plan_item(cfg, cities, bucket, k)
