"""The rollup projection: facts per key, slots re-settled per event, counters per ancestor flushed per batch."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from services.kernel.adminunits import AdminUnitCatalog
from services.kernel.events import Event

from . import facts, store
from .changes import change
from .tables import metadata
from .tally import Tally

# "rollup" in ASCII: the transaction lock that serialises this projection's batches on PostgreSQL (READ COMMITTED:
# statements after it see the previous holder's commit). Two workers applying different streams at once would
# otherwise each miss the other's uncommitted fact (a unit registered while its plan is issued would never be
# bound) or overwrite a slot from a stale read. Most batches write the root's counter row anyway, so this costs
# little more than that row lock already does.
APPLY_LOCK_KEY = 0x726F_6C6C_7570


class RollupProjection:
    """Maintains the ``rollup_*`` tables: expected, submitted, on-time and missing reports, registrations,
    indicator values and child plans, for every subtree and period."""

    name = "rollup"
    metadata = metadata

    def __init__(self, catalog: AdminUnitCatalog) -> None:
        self.catalog = catalog

    def setup(self, conn: Connection) -> None:
        """Seed the root, the official provinces and communes (units duties may bind)."""
        facts.seed_reference(conn, self.catalog)

    def apply(self, conn: Connection, events: Sequence[Event]) -> int:
        """Apply each event, then add the batch's summed counter deltas, in the caller's transaction."""
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({APPLY_LOCK_KEY})")
        tally = Tally()
        changed = sum(change(event, conn, tally) for event in events)
        store.flush(conn, tally)
        return changed
