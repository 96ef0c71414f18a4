"""The org-unit projection: pure evolve + thin store, applied by any runner."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from projections.base import FACTS_FIRST, handled_types
from projections.rowstore import apply_by_key
from services.kernel.adminunits import AdminUnitCatalog
from services.kernel.events import Event

from . import store
from .evolve import evolve, target_path
from .tables import metadata


class OrgUnitsProjection:
    """Maintains ``orgunit_unit``."""

    name = "orgunits"
    version = 1  # bump when evolve changes meaning: the node rebuilds it blue/green (docs/upgrade.md)
    event_types = handled_types(evolve)  # what it reads: an as-of rebuild replays only these
    apply_first = FACTS_FIRST  # order-free (projections.base.FACTS_FIRST): a build reads in that order
    metadata = metadata

    def __init__(self, catalog: AdminUnitCatalog) -> None:
        self.catalog = catalog

    def setup(self, conn: Connection) -> None:
        """Seed the official provinces and communes (QĐ 19/2025/QĐ-TTg)."""
        store.seed_reference(conn, self.catalog)

    def apply(self, conn: Connection, events: Sequence[Event]) -> int:
        """Apply each event to the row it targets: the batch's rows read with one SELECT and written back at once."""
        return apply_by_key(conn, events, target_path, evolve, store.UNITS, lambda event, after: None)
