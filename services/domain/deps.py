"""Dependencies command handlers receive (wired once in ``bootstrap``)."""

from __future__ import annotations

from dataclasses import dataclass

from services.awards import AuthorityMatrix
from services.kernel.adminunits import AdminUnitCatalog


@dataclass(frozen=True)
class Deps:
    """Reference data the rules consult: the official unit list and the award-authority matrix."""

    official: AdminUnitCatalog
    matrix: AuthorityMatrix
