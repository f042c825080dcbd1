"""The project's metadata in one place: licence, citations, Hub tags, classes and configs.

The builder (``dgm4plus.py``), the release card and the export read these names from here and
nowhere else, so they cannot disagree. This module imports nothing heavy (no ``datasets``): it sits
below both the builder and ``generator.release``.

Sources, checked 2026-12-01: DGM⁴+ is arXiv 2509.26047 (cs.CV, submitted 30 Sep 2025), titled
"DGM4+: Dataset Extension for Global Scene Inconsistency", by Gagandeep Singh, Samudi Amarsinghe,
Priyanka Singh and Xue Li. DGM⁴ is Shao, Wu, Liu, CVPR 2023.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Hub licence id of a release (the Hub's fixed list spells it in lower case).
LICENSE = "cc-by-nc-4.0"
LICENSE_NAME = "Creative Commons Attribution-NonCommercial 4.0 International"
LICENSE_URL = "https://creativecommons.org/licenses/by-nc/4.0/"

PRETTY_NAME = "DGM4+ (DGM4 extension for global scene inconsistency)"
LANGUAGES = ("en",)
#: Task ids from the Hub's fixed list; long-standing ones that validate-yaml accepts.
TASK_CATEGORIES = ("image-classification", "text-classification", "zero-shot-image-classification")
TAGS = (
    "multimodal",
    "misinformation",
    "media-manipulation",
    "manipulation-detection",
    "dgm4",
    "hammer",
    "synthetic",
    "news",
)

#: One line for ``DatasetInfo.description``.
DESCRIPTION = (
    "DGM4+: multimodal news manipulation with global scene inconsistency. Realistic people in "
    "absurd backdrops under news-style captions, in the DGM4 format (fake_cls, fake_image_box, "
    "fake_text_pos, mtcnn_boxes) with generation provenance."
)

HOMEPAGE = "https://github.com/Gaganx0/DGM4plus"
PAPER_URL = "https://arxiv.org/abs/2509.26047"
DGM4_PAPER_URL = "https://arxiv.org/abs/2304.02556"


@dataclass(frozen=True)
class ClassInfo:
    """One ``fake_cls`` value and what it means in the DGM⁴+ paper and in DGM⁴."""

    name: str
    paper_name: str
    dgm4_name: str
    description: str


#: ``fake_cls`` values, in ClassLabel order.
CLASSES: tuple[ClassInfo, ...] = (
    ClassInfo(
        "origin",
        "FG-BG",
        "orig",
        "Literal captions that describe the scene (DGM4 'orig'); the image is still absurd.",
    ),
    ClassInfo(
        "text_attribute",
        "FG-BG+TA",
        "(new class)",
        "Literal caption plus an affective add-on; fake_text_pos marks the add-on.",
    ),
    ClassInfo(
        "text_swap",
        "FG-BG+TS",
        "(new class)",
        "An unrelated news headline; fake_text_pos marks the swapped words.",
    ),
)
CLASS_NAMES: list[str] = [c.name for c in CLASSES]

#: Builder configuration -> the ``fake_cls`` classes it holds (``all`` last, the default).
CONFIG_CLASSES: dict[str, tuple[str, ...]] = {
    **{c.name: (c.name,) for c in CLASSES},
    "all": tuple(CLASS_NAMES),
}
CONFIG_NAMES: list[str] = list(CONFIG_CLASSES)
DEFAULT_CONFIG = "all"
CONFIG_DESCRIPTIONS: dict[str, str] = {
    **{c.name: c.description for c in CLASSES},
    "all": "All three classes together.",
}

DGM4_BIBTEX = """\
@inproceedings{shao2023dgm4,
  title={Detecting and Grounding Multi-Modal Media Manipulation},
  author={Shao, Rui and Wu, Tianxing and Liu, Ziwei},
  booktitle={Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  year={2023}
}"""

DGM4PLUS_BIBTEX = """\
@misc{singh2025dgm4plus,
  title={{DGM4+}: Dataset Extension for Global Scene Inconsistency},
  author={Singh, Gagandeep and Amarsinghe, Samudi and Singh, Priyanka and Li, Xue},
  year={2025},
  eprint={2509.26047},
  archivePrefix={arXiv},
  primaryClass={cs.CV},
  url={https://arxiv.org/abs/2509.26047}
}"""

#: Both entries, DGM⁴+ first: what a user of a release cites.
CITATION = DGM4PLUS_BIBTEX + "\n\n" + DGM4_BIBTEX + "\n"

#: Credit for the GeoNames city table, shown only when its cities were used for datelines.
GEONAMES_CREDIT = (
    "Dateline cities come from GeoNames (https://www.geonames.org/), licensed under "
    "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)."
)

__all__ = [
    "CITATION",
    "CLASSES",
    "CLASS_NAMES",
    "CONFIG_CLASSES",
    "CONFIG_DESCRIPTIONS",
    "CONFIG_NAMES",
    "DEFAULT_CONFIG",
    "DESCRIPTION",
    "DGM4PLUS_BIBTEX",
    "DGM4_BIBTEX",
    "GEONAMES_CREDIT",
    "LANGUAGES",
    "LICENSE",
    "PRETTY_NAME",
    "TAGS",
    "TASK_CATEGORIES",
    "ClassInfo",
]
