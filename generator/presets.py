"""Named sets of knob values (``--preset NAME``, ``DGM4PLUS_PRESET``, ``preset = "..."`` in TOML).

A preset sits just above the defaults: defaults < preset < TOML file < environment < flags, so
any knob it sets can still be changed by the usual means (``--preset dgm4plus-2025 --origin 20``
plans 20 origin samples with the preset's other values).

``dgm4plus-2025`` is the composition of the DGM4+ paper's release (Singh, Amarsinghe, Singh, Li,
arXiv 2509.26047, 2025): 5,000 samples, 2,000 origin (FG-BG inconsistency), 1,500
text_attribute, 1,500 text_swap; 1024x1024 images at quality low; 400x256 crops; MTCNN with one
to three faces; pHash de-duplication; the OCR scrub on. The paper used ``gpt-image-1``, which
OpenAI shut down on 2026-10-23, so the preset leaves ``GEN_MODEL`` at today's default.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

__all__ = ["PRESETS", "PRESET_NAMES", "preset_values"]

PRESETS: MappingProxyType[str, MappingProxyType[str, Any]] = MappingProxyType(
    {
        "dgm4plus-2025": MappingProxyType(
            {
                "TARGET_LITERAL": 2000,
                "TARGET_INV_EMO": 1500,
                "TARGET_IRRELEV": 1500,
                "GEN_SIZE": "1024x1024",
                "GEN_QUALITY": "low",
                "POST_W": 400,
                "POST_H": 256,
                "MIN_FACES": 1,
                "MAX_FACES": 3,
                "PHASH_DISTANCE_MAX": 3,
                "STRICT_NO_TEXT": True,
            }
        ),
    }
)

#: Preset names, in the order ``--help`` lists them.
PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)


def preset_values(name: str) -> dict[str, Any]:
    """The knob values of preset ``name`` (a fresh dict). Raises ``KeyError`` for an unknown name;
    :func:`generator.config.load_config` turns that into a one-line ``ConfigError``."""
    return dict(PRESETS[name])
