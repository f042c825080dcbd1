"""DGM4+ as a Hugging Face ``datasets`` builder that only reads a store.

DGM4+ extends DGM4 (Shao et al., CVPR 2023) with *global scene inconsistency*: realistic people,
photographed in a news style, standing in absurd backdrops, under news-style captions. The builder
reads a store written by the generator (``DGM4/`` by default: JPEG images plus
``metadata.jsonl``) and emits typed Arrow features (:func:`generator.schema.dgm4plus_features`).
Four configurations exist:

* ``origin`` -- literal captions (DGM4's ``orig`` class; the image is still a composed scene);
* ``text_attribute`` -- literal caption plus an affective add-on marked by ``fake_text_pos``;
* ``text_swap`` -- an unrelated headline, the swapped words marked by ``fake_text_pos``;
* ``all`` -- the three together (the default).

Usage (``datasets`` 4+ no longer runs loading scripts through ``load_dataset``, so the builder is
used directly; a Parquet export made by ``generator.release.export`` loads with plain
``load_dataset(folder, config)``)::

    from dgm4plus import DGM4Plus

    builder = DGM4Plus(config_name="text_swap", data_dir="DGM4")
    builder.download_and_prepare(num_proc=2)      # shards are read in parallel
    train = builder.as_dataset(split="train")

Generating is a separate, explicit step (it spends money with the ``openai`` backend)::

    from generator.generate import generate_to_targets
    generate_to_targets("DGM4", knobs={"BACKEND": "composite", "TARGET_LITERAL": 5})

``generate=True`` (with ``generator_knobs``) is a thin wrapper kept for convenience: it calls
:func:`generator.generate.generate_to_targets` before reading, which raises
:class:`generator.generate.TargetsNotReached` (budget, refusal or signal) instead of returning a
partial dataset.

``fake_image_box="none"`` (default, DGM4's ``[]``: no image region edited) or ``"full"`` (the
whole frame, for global grounding) chooses the released box convention.

Splits (train / validation / test) are a pure function of each sample's id, so a sample never
changes split when the dataset grows (see :mod:`generator.splits`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets

from generator import __version__, meta
from generator.errors import UsageError
from generator.schema import (
    CLASS_NAMES,
    DEFAULT_FAKE_IMAGE_BOX,
    FAKE_IMAGE_BOX_CHOICES,
    Sample,
    SampleRules,
    dgm4plus_features,
    released_image_box,
)
from generator.splits import DEFAULT_RATIOS, SPLITS, active_splits, check_ratios, split_of
from generator.store_reader import (
    DEFAULT_DATA_DIR,
    image_path,
    load_samples,
    resolve_store,
    store_fingerprint,
    store_rules,
    verify_image,
)

#: The project's one version (generator/__init__.py); pyproject and --version read it too.
_VERSION = __version__

CONFIG_CLASSES: dict[str, tuple[str, ...]] = dict(meta.CONFIG_CLASSES)
CONFIG_NAMES: list[str] = list(CONFIG_CLASSES)
DEFAULT_CONFIG = meta.DEFAULT_CONFIG
#: Samples per shard handed to ``_generate_examples`` (at least MIN_SHARDS shards a split, so
#: ``download_and_prepare(num_proc=N)`` has work for every process).
SHARD_SIZE = 500
MIN_SHARDS = 8


def shard(samples: Sequence[Sample]) -> list[tuple[Sample, ...]]:
    """Contiguous chunks of ``samples`` (order kept): ceil(n / SHARD_SIZE), at least
    min(n, MIN_SHARDS)."""
    n = len(samples)
    count = min(n, max(math.ceil(n / SHARD_SIZE), MIN_SHARDS))
    if count <= 0:
        return []
    edges = [i * n // count for i in range(count + 1)]  # sizes differ by at most one
    return [tuple(samples[a:b]) for a, b in zip(edges, edges[1:], strict=False)]


def to_example(
    sample: Sample, image_bytes: bytes, rules: SampleRules, fake_image_box: str = "none"
) -> dict[str, Any]:
    """One builder row from one stored sample, the JPEG's bytes embedded."""
    return sample.to_example(image_bytes, released_image_box(sample, fake_image_box, rules))


# ----------------------------------------------------------------------------------------------
# The builder


@dataclass
class DGM4PlusConfig(datasets.BuilderConfig):
    """A DGM4+ configuration.

    Attributes:
        data_dir: the store folder (``DGM4``; relative paths are taken from the current folder).
        split_ratios: (train, validation, test) shares; a sample's split follows from its id.
        fake_image_box: ``none`` (DGM4's ``[]``, default) or ``full`` (the whole frame).
        generate: a thin wrapper over :func:`generator.generate.generate_to_targets`: fill the
            store to its targets (resumable) before reading; raises ``TargetsNotReached`` when
            they were not reached. Prefer calling the generation step yourself.
        generator_knobs: generator knobs for ``generate`` (``{"TARGET_IRRELEV": 500, ...}``, the
            names of ``generator.config.Config``); ``OUT_ROOT`` is always ``data_dir``.
        generator_config: a TOML file of knobs for ``generate`` (knobs above override it).
        classes: the ``fake_cls`` classes this configuration holds.
    """

    data_dir: str | None = DEFAULT_DATA_DIR
    split_ratios: tuple[float, float, float] = DEFAULT_RATIOS
    fake_image_box: str = DEFAULT_FAKE_IMAGE_BOX
    generate: bool = False
    generator_knobs: dict[str, Any] | None = None
    generator_config: str | None = None
    classes: tuple[str, ...] = CLASS_NAMES

    def __post_init__(self) -> None:
        super().__post_init__()
        self.split_ratios = check_ratios(self.split_ratios)
        unknown = [c for c in self.classes if c not in CLASS_NAMES]
        if unknown:
            raise UsageError(
                f"classes: unknown class {unknown[0]!r}; known: {', '.join(CLASS_NAMES)}"
            )
        if self.fake_image_box not in FAKE_IMAGE_BOX_CHOICES:
            raise UsageError(
                f"fake_image_box: must be one of {', '.join(FAKE_IMAGE_BOX_CHOICES)}; "
                f"got {self.fake_image_box!r}"
            )


class DGM4Plus(datasets.GeneratorBasedBuilder):
    """DGM4+ builder: one store, four configurations, three deterministic splits."""

    VERSION = datasets.Version(_VERSION)
    BUILDER_CONFIG_CLASS = DGM4PlusConfig
    BUILDER_CONFIGS = [
        DGM4PlusConfig(
            name=name,
            version=datasets.Version(_VERSION),
            description=meta.CONFIG_DESCRIPTIONS[name],
            classes=classes,
        )
        for name, classes in CONFIG_CLASSES.items()
    ]
    DEFAULT_CONFIG_NAME = DEFAULT_CONFIG
    # Rows carry ~20-60 kB of JPEG each: keep Arrow record batches moderate.
    DEFAULT_WRITER_BATCH_SIZE = 100

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The cache is keyed by the store's fingerprint as well as the config, so a store that
        # grew is rebuilt instead of served stale.
        if kwargs.get("hash") is None:
            kwargs["hash"] = store_fingerprint(kwargs.get("data_dir") or DEFAULT_DATA_DIR)
        super().__init__(*args, **kwargs)
        # `datasets` sets keyword overrides on a copy of the config, skipping __post_init__.
        if self.config.fake_image_box not in FAKE_IMAGE_BOX_CHOICES:
            raise UsageError(
                f"fake_image_box: must be one of {', '.join(FAKE_IMAGE_BOX_CHOICES)}; "
                f"got {self.config.fake_image_box!r}"
            )

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description=meta.DESCRIPTION,
            features=dgm4plus_features(),
            citation=meta.CITATION,
            license=meta.LICENSE,
        )

    # -- splits ---------------------------------------------------------------------------
    def _store_root(self, dl_manager: Any) -> Path:
        manual = getattr(dl_manager, "manual_dir", None) if dl_manager is not None else None
        return resolve_store(manual or self.config.data_dir)

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        root = self._store_root(dl_manager)
        if self.config.generate:
            from generator.generate import generate_to_targets

            generate_to_targets(
                root, knobs=self.config.generator_knobs, config_file=self.config.generator_config
            )
        ratios = check_ratios(self.config.split_ratios)
        rules = store_rules(root)
        wanted = set(self.config.classes)
        by_split: dict[str, list[Sample]] = {name: [] for name in SPLITS}
        for sample in load_samples(root, rules):
            if sample.fake_cls in wanted:
                by_split[split_of(sample.id, ratios)].append(sample)
        chosen = [s for samples in by_split.values() for s in samples]
        for sample in chosen:  # fail before any Arrow is written, naming the record
            if not image_path(root, sample).is_file():
                raise UsageError(
                    f"{root}/metadata.jsonl: record {sample.id}: image {sample.image!r} is missing"
                )
        check_images(root, chosen, rules)
        # Only splits that hold samples: `as_dataset()` refuses a declared split with no data,
        # and a small store may leave validation or test empty.
        names = [name for name in active_splits(ratios) if by_split[name]]
        if not names:
            raise UsageError(
                f"{root}: no samples of {', '.join(sorted(wanted))} in the store "
                f"(config {self.config.name!r})"
            )
        # A list of shards per split: `datasets` hands each process its own shards (num_proc).
        return [
            datasets.SplitGenerator(
                name=name,
                gen_kwargs={
                    "root": str(root),
                    "rules": rules,
                    "box": self.config.fake_image_box,
                    "shards": shard(by_split[name]),
                },
            )
            for name in names
        ]

    def _generate_examples(
        self, root: str, rules: SampleRules, box: str, shards: list[tuple[Sample, ...]]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        store = Path(root)
        for chunk in shards:
            for sample in chunk:  # images were checked by _split_generators
                yield (
                    sample.id,
                    to_example(sample, image_path(store, sample).read_bytes(), rules, box),
                )

    def download_and_prepare(self, *args: Any, **kwargs: Any) -> None:
        """``datasets``' own, except that a bad store stays one clear error (``datasets`` wraps
        what ``_generate_examples`` raises in a ``DatasetGenerationError``)."""
        try:
            super().download_and_prepare(*args, **kwargs)
        except datasets.exceptions.DatasetGenerationError as exc:
            if isinstance(exc.__cause__, UsageError):
                raise exc.__cause__ from None
            raise


def check_images(root: Path, samples: Sequence[Sample], rules: SampleRules) -> None:
    """Every image decodes whole and is POST_W x POST_H, or the first bad one is one
    DataFileError. Decoding releases the GIL, so a few threads share the work."""
    workers = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dgm4plus-check") as pool:
        for _ in pool.map(lambda s: verify_image(root, s, rules), samples):
            pass


__all__ = [
    "CLASS_NAMES",
    "CONFIG_CLASSES",
    "CONFIG_NAMES",
    "DGM4Plus",
    "DGM4PlusConfig",
    "dgm4plus_features",
    "image_path",
    "load_samples",
    "resolve_store",
    "shard",
    "store_fingerprint",
    "to_example",
]
