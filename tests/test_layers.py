"""Imports run one way: nothing below the builder imports it or the release code, and the
builder imports no release module (only ``cli.py`` sits on top of everything)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    """Every module a file imports (top level or inside functions), as dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _lower_modules() -> list[Path]:
    package = REPO / "generator"
    return [
        p
        for p in sorted(package.rglob("*.py"))
        if p.name not in ("cli.py", "__main__.py") and "release" not in p.relative_to(package).parts
    ]


def test_lower_layers_never_import_the_builder_or_release():
    offenders = []
    for path in _lower_modules():
        for name in _imports(path):
            if (
                name == "dgm4plus"
                or name == "generator.release"
                or name.startswith("generator.release.")
            ):
                offenders.append(f"{path.relative_to(REPO)} imports {name}")
    assert offenders == []
    assert len(_lower_modules()) > 20  # the walk really saw the package


def test_the_builder_imports_no_release_module():
    names = _imports(REPO / "dgm4plus.py")
    assert not [n for n in names if n.startswith("generator.release") or n == "generator.cli"]
    assert {"generator.schema", "generator.store_reader", "generator.splits"} <= names


def test_release_reads_the_store_through_the_reader():
    """The release code reads records only through the schema and the store reader."""
    for path in sorted((REPO / "generator" / "release").glob("*.py")):
        names = _imports(path)
        assert "generator.store" not in names or path.name == "export.py", path
        text = path.read_text(encoding="utf-8")
        assert 'metadata.jsonl")' not in text and "read_jsonl(" not in text, path
