"""The read models of a node: every ``projections.<name>`` package that offers ``make_projection(deps)``."""

from __future__ import annotations

import importlib
import pkgutil

import projections
from services.domain.deps import Deps

from .base import Projection


def all_projections(deps: Deps) -> list[Projection]:
    """One instance of every read model, in package-name order (the same set for both runners)."""
    found = []
    for info in sorted(pkgutil.iter_modules(projections.__path__), key=lambda i: i.name):
        if info.ispkg:
            module = importlib.import_module(f"projections.{info.name}")
            if hasattr(module, "make_projection"):
                found.append(module.make_projection(deps))
    return found
