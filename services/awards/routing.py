"""Where a proposal travels: the authority matrix's route placed on the proposer's ancestors."""

from __future__ import annotations

from datetime import date

from services.kernel.orgpaths import ROOT, OrgPath

from .authority import AuthorityMatrix
from .levels import Level, RouteStep


def unit_parent(path: str) -> Level:
    """The level a UNIT sits under: its nearest ancestor that is a commune, province or central."""
    above = [a.level for a in OrgPath(path).ancestors() if a.level != "UNIT"]
    return Level(above[-1]) if above else Level.CENTRAL


def level_path(level: Level, proposer_path: str) -> str:
    """The org unit that acts at ``level`` for a proposal from ``proposer_path``."""
    parts = proposer_path.split("/")
    if level is Level.CENTRAL:
        return ROOT
    if level is Level.PROVINCE:
        return "/".join(parts[:2])
    if level is Level.COMMUNE:
        return "/".join(parts[:3])
    return proposer_path


def route_from(
    matrix: AuthorityMatrix, form_code: str, proposer_path: str, proposer_level: str, on: date
) -> list[tuple[RouteStep, str]]:
    """Each step of the route with the path of the org unit that acts at it; AuthorityMismatch if none decides."""
    level = Level(proposer_level)
    parent = unit_parent(proposer_path) if level is Level.UNIT else Level.COMMUNE
    return [(s, level_path(s.level, proposer_path)) for s in matrix.route(form_code, level, on, unit_parent=parent)]
