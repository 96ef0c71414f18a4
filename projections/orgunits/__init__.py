"""Org-unit read model: the official provinces and communes plus the units registered by events."""

from .projection import OrgUnitsProjection

__all__ = ["OrgUnitsProjection"]
