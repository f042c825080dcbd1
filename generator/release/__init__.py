"""Release tooling: Parquet export with a dataset card, Hub push, DGM4/HAMMER export.

The plain functions the CLI calls are :func:`export_dataset`, :func:`push_release` and
:func:`export_dgm4`; they are imported lazily so that ``import generator.release`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["export_dataset", "export_dgm4", "push_release"]

_WHERE = {
    "export_dataset": "generator.release.export",
    "push_release": "generator.release.hub",
    "export_dgm4": "generator.release.dgm4_export",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
