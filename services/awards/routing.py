"""Where a proposal travels: the proposer placed in the hierarchy (its shape for the matrix: the powers its head
holds, the sở managing it), and each route step placed on an org unit.

The shape is pure (``place``): from the proposer's path and kind, and the kind of the unit directly under the
province on its path (a sở, if it is one). The write side and the guidance read model both place through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.kernel.orgpaths import ROOT, OrgPath

from .authority import AuthorityMatrix, Proposer
from .levels import Authority, Level, RouteStep, Seat

SELF_KINDS = ("COLLECTIVE", "COMMUNE")  # nominee kinds that make the proposer nominate itself (its own collective)


@dataclass(frozen=True)
class Placement:
    """A proposer in the hierarchy: the shape the matrix routes, and the sở (if any) that manages it."""

    path: str
    proposer: Proposer
    so_path: str | None = None
    placement: str | None = None  # where a UNIT sits for unit_powers.csv: PROVINCE, SO, COMMUNE, CENTRAL, OTHER

    def seat_path(self, step: RouteStep) -> str:
        """The org unit whose account acts at ``step``."""
        parts = self.path.split("/")
        if step.seat is Seat.OWN:
            return self.path
        if step.seat is Seat.SO:
            assert self.so_path is not None
            return self.so_path
        if step.seat is Seat.CENTRAL:
            return ROOT
        if step.seat is Seat.PROVINCE:
            return "/".join(parts[:2])
        if step.seat is Seat.COMMUNE:
            return "/".join(parts[:3])
        return self.path  # the district tier (before 01/7/2025) has no org unit here


def unit_parent(path: str) -> Level:
    """The level a UNIT sits under: its nearest ancestor that is a commune, province or central."""
    above = [a.level for a in OrgPath(path).ancestors() if a.level != "UNIT"]
    return Level(above[-1]) if above else Level.CENTRAL


def top_unit(path: str) -> str | None:
    """The unit directly under the province on a unit's path (the sở it belongs to, if it is one), or None."""
    parts = path.split("/")
    return (
        "/".join(parts[:3])
        if len(parts) > 3 and OrgPath(path).level == "UNIT" and unit_parent(path) is Level.PROVINCE
        else None
    )


def place(
    matrix: AuthorityMatrix,
    path: str,
    level: str,
    kind: str,
    on: date,
    top_kind: str | None = None,
    self_nominated: bool = False,
) -> Placement:
    """The proposer at ``path`` (of unit kind ``kind``; ``top_kind``: the kind of its ``top_unit``) on ``on``."""
    if level != "UNIT":
        return Placement(path, Proposer(Level(level), self_nominated=self_nominated))
    parent = unit_parent(path)
    powers, top = matrix.powers, top_unit(path)
    if parent is Level.PROVINCE and top is None:
        where = "PROVINCE"
    elif parent is Level.PROVINCE:
        where = "SO" if top_kind and powers.hat(top_kind, "PROVINCE", on) is Authority.GIAM_DOC_SO else "OTHER"
    else:
        where = "COMMUNE" if parent is Level.COMMUNE else "CENTRAL"
    hat = powers.hat(kind, where, on)
    so_path = path if hat is Authority.GIAM_DOC_SO else (top if where == "SO" else None)
    proposer = Proposer(Level.UNIT, parent, hat, where == "SO", self_nominated)
    return Placement(path, proposer, so_path, where)


def route_from(matrix: AuthorityMatrix, form_code: str, where: Placement, on: date) -> list[tuple[RouteStep, str]]:
    """Each step of the route with the path of the org unit that acts at it; AuthorityMismatch if none decides."""
    return [(s, where.seat_path(s)) for s in matrix.route(form_code, where.proposer, on)]


def self_nominated(nominee_kind: str, nominee_path: str, proposer_path: str) -> bool:
    """Whether the nominee is the proposer's own collective (its head may not decide: Law Art. 80)."""
    return nominee_kind in SELF_KINDS and nominee_path == proposer_path
