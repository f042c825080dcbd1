"""Backdrop themes and palettes: which colours and ground patterns a backdrop phrase calls."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .seeds import phrase_digest

# A palette: sky top, sky bottom, ground far, ground near, accent 1-3, light.
Palette = tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class Theme:
    words: frozenset[str]  # words of a backdrop phrase that call this theme
    palettes: tuple[Palette, ...]
    patterns: tuple[str, ...]  # ground patterns it favours


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# fmt: off
THEMES: dict[str, Theme] = {
    "space": Theme(
        _words("space moon mars lunar galaxy planet orbit asteroid cosmic star nebula comet "
               "saturn crater rocket alien martian"),
        (((8, 6, 30), (60, 30, 90), (120, 110, 115), (60, 55, 60),
          (220, 120, 60), (90, 170, 230), (240, 220, 120), (255, 240, 210)),
         ((2, 10, 25), (30, 60, 110), (170, 80, 50), (90, 40, 30),
          (200, 200, 220), (240, 150, 200), (120, 230, 200), (255, 250, 230))),
        ("plain", "checker", "stripes")),
    "ocean": Theme(
        _words("ocean sea underwater reef aquarium wave beach coral lake river flood water "
               "submarine shark whale island tide"),
        (((20, 80, 140), (110, 200, 220), (30, 110, 150), (10, 50, 90),
          (250, 120, 90), (250, 220, 110), (240, 240, 250), (255, 250, 220)),
         ((5, 30, 70), (40, 140, 170), (20, 90, 110), (5, 40, 60),
          (255, 160, 60), (170, 90, 200), (200, 250, 240), (230, 255, 255))),
        ("water", "water", "stripes")),
    "desert": Theme(
        _words("desert sand dune sahara canyon cactus pyramid oasis mesa drought "
               "badlands"),
        (((80, 120, 190), (250, 190, 130), (230, 170, 100), (190, 120, 60),
          (60, 140, 110), (200, 60, 50), (250, 240, 220), (255, 245, 200)),
         ((120, 50, 90), (250, 140, 80), (210, 140, 80), (150, 80, 40),
          (40, 90, 160), (250, 220, 120), (230, 230, 240), (255, 230, 170))),
        ("dunes", "dunes", "stripes")),
    "ice": Theme(
        _words("snow ice arctic glacier frozen polar antarctic igloo winter blizzard tundra "
               "penguin frost"),
        (((110, 150, 210), (220, 235, 250), (230, 240, 250), (180, 205, 230),
          (60, 110, 200), (240, 120, 150), (250, 250, 255), (255, 255, 240)),
         ((40, 60, 110), (170, 190, 230), (200, 215, 240), (140, 160, 200),
          (120, 230, 230), (250, 200, 120), (255, 255, 255), (230, 240, 255))),
        ("plain", "stripes", "checker")),
    "fire": Theme(
        _words("lava volcano fire inferno magma molten ember burning flame furnace hell "
               "eruption"),
        (((30, 10, 15), (200, 70, 30), (60, 25, 20), (25, 10, 10),
          (255, 140, 30), (255, 220, 80), (120, 30, 30), (255, 200, 120)),
         ((60, 20, 40), (240, 120, 40), (80, 30, 25), (35, 15, 15),
          (255, 90, 20), (255, 240, 150), (90, 90, 100), (255, 230, 170))),
        ("veins", "veins", "plain")),
    "forest": Theme(
        _words("forest jungle rainforest tree garden meadow swamp mushroom grove orchard "
               "vine moss field"),
        (((90, 150, 200), (200, 230, 200), (80, 140, 70), (30, 80, 35),
          (220, 60, 60), (250, 210, 80), (170, 110, 60), (255, 250, 210)),
         ((30, 60, 60), (120, 170, 130), (50, 110, 60), (20, 55, 30),
          (200, 120, 220), (250, 150, 80), (230, 230, 180), (240, 255, 220))),
        ("stripes", "plain", "dunes")),
    "candy": Theme(
        _words("candy cake chocolate sweet dessert marshmallow lollipop cream cupcake sugar "
               "gingerbread jelly toy giant"),
        (((250, 170, 210), (255, 230, 240), (250, 200, 220), (220, 130, 170),
          (120, 220, 200), (250, 240, 120), (150, 120, 230), (255, 255, 250)),
         ((150, 210, 250), (240, 220, 255), (200, 250, 220), (120, 200, 170),
          (250, 120, 160), (255, 200, 110), (110, 80, 60), (255, 250, 240))),
        ("checker", "stripes", "checker")),
    "neon": Theme(
        _words("neon city cyber disco arcade casino futuristic hologram robot laser "
               "nightclub metropolis skyscraper"),
        (((10, 5, 30), (90, 20, 110), (40, 10, 60), (10, 5, 25),
          (255, 40, 200), (40, 240, 255), (250, 240, 80), (255, 120, 230)),
         ((0, 10, 30), (20, 70, 120), (15, 30, 60), (5, 10, 25),
          (60, 255, 140), (255, 80, 80), (160, 90, 255), (120, 240, 255))),
        ("grid", "grid", "checker")),
    "dream": Theme(
        _words("cloud sky floating dream surreal rainbow upside heaven balloon bubble fairy "
               "castle impossible melting clock"),
        (((120, 170, 240), (250, 210, 230), (240, 220, 200), (200, 170, 160),
          (250, 130, 150), (130, 220, 250), (250, 240, 150), (255, 255, 240)),
         ((70, 50, 140), (240, 170, 150), (180, 200, 230), (110, 130, 180),
          (250, 220, 110), (240, 120, 200), (140, 250, 210), (255, 245, 230))),
        ("checker", "plain", "stripes")),
}

# Realistic backdrops: an interior (wall, floor, windows) or an outdoor skyline.
REALISTIC: dict[str, Theme] = {
    "indoor": Theme(
        _words("hall room office chamber corridor hospital court studio classroom parliament "
               "lobby library kitchen ward lab church theatre theater conference museum gym "
               "station airport"),
        (((200, 190, 170), (225, 218, 200), (150, 120, 90), (110, 85, 60),
          (90, 110, 130), (170, 60, 50), (240, 240, 235), (255, 250, 235)),),
        ("plain",)),
    "outdoor": Theme(
        frozenset(),
        (((95, 145, 205), (200, 220, 235), (130, 140, 120), (90, 95, 85),
          (120, 120, 125), (160, 150, 140), (70, 80, 90), (255, 250, 230)),),
        ("plain",)),
}
# fmt: on
THEME_NAMES = tuple(THEMES)


def pick_theme(phrase: str, kind: str) -> tuple[str, np.ndarray, tuple[str, ...]]:
    """Theme, base palette (8x3 float) and favoured patterns for a backdrop phrase.

    The first word of the phrase that names a theme decides it; a phrase with none gets a
    theme from its digest, so the same phrase always looks alike.
    """
    digest = phrase_digest(phrase)
    words = "".join(c if c.isalnum() else " " for c in phrase.lower()).split()
    if kind == "realistic":
        name = "indoor" if REALISTIC["indoor"].words.intersection(words) else "outdoor"
        theme = REALISTIC[name]
    else:
        found: str | None = None
        for word in words:
            stem = word[:-1] if word.endswith("s") and len(word) > 3 else word
            found = next((t for t in THEME_NAMES if {word, stem} & THEMES[t].words), None)
            if found:
                break
        name = found if found is not None else THEME_NAMES[digest[0] % len(THEME_NAMES)]
        theme = THEMES[name]
    palette = np.asarray(theme.palettes[digest[1] % len(theme.palettes)], np.float32)
    return name, palette, theme.patterns
