"""generator.meta is the one source of the project's metadata: the README (also a card) agrees."""

from __future__ import annotations

from pathlib import Path

import yaml

from generator import meta

README = Path(__file__).resolve().parents[1] / "README.md"


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def test_readme_citation_is_meta_citation():
    text = _readme()
    block = text.split("\n## Citation\n", 1)[1].split("```bibtex\n", 1)[1].split("```", 1)[0]
    assert block == meta.CITATION


def test_readme_front_matter_agrees_with_meta():
    front = yaml.safe_load(_readme().split("\n---\n", 1)[0].removeprefix("---\n"))
    assert front["license"] == meta.LICENSE
    assert front["tags"] == list(meta.TAGS)
    assert front["task_categories"] == list(meta.TASK_CATEGORIES)
    assert front["language"] == list(meta.LANGUAGES)


def test_classes_and_configs_are_consistent():
    assert meta.CLASS_NAMES == ["origin", "text_attribute", "text_swap"]
    assert [*meta.CLASS_NAMES, "all"] == meta.CONFIG_NAMES and meta.DEFAULT_CONFIG == "all"
    assert meta.CONFIG_CLASSES["all"] == tuple(meta.CLASS_NAMES)
    assert set(meta.CONFIG_DESCRIPTIONS) == set(meta.CONFIG_NAMES)
    assert [c.paper_name for c in meta.CLASSES] == ["FG-BG", "FG-BG+TA", "FG-BG+TS"]


def test_dgm4plus_citation_names_the_paper():
    cite = meta.DGM4PLUS_BIBTEX
    assert "{DGM4+}: Dataset Extension for Global Scene Inconsistency" in cite
    assert "Singh, Gagandeep and Amarsinghe, Samudi and Singh, Priyanka and Li, Xue" in cite
    assert "eprint={2509.26047}" in cite and "year={2025}" in cite
