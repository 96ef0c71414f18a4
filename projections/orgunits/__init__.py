"""Org-unit read model: the official provinces and communes plus the units registered by events."""

from services.domain.deps import Deps

from .projection import OrgUnitsProjection


def make_projection(deps: Deps) -> OrgUnitsProjection:
    """The read model, wired with the official unit list."""
    return OrgUnitsProjection(deps.official)


__all__ = ["OrgUnitsProjection", "make_projection"]
