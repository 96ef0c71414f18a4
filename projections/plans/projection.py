"""The plans projection: pure evolve + thin store, applied by any runner in any cross-stream order."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from projections.base import FACTS_FIRST, handled_types
from projections.rowstore import apply_by_key
from services.kernel.events import Event

from . import store
from .evolve import evolve, target
from .facts import facts
from .rows import Fact
from .tables import metadata


class PlansProjection:
    """Maintains ``plans_plan``, ``plans_parent``, ``plans_amendment`` and ``plans_criteria``.

    Every row belongs to one plan stream (a parent named by ``implements`` is looked up when read), so events
    of different streams commute; within a stream the stored version makes a redelivered event a no-op.
    """

    name = "plans"
    version = 1  # bump when evolve changes meaning: the node rebuilds it blue/green (docs/upgrade.md)
    event_types = handled_types(evolve)  # what it reads: an as-of rebuild replays only these
    apply_first = FACTS_FIRST  # order-free (projections.base.FACTS_FIRST): a build reads in that order
    metadata = metadata

    def setup(self, conn: Connection) -> None:
        """No reference rows."""

    def apply(self, conn: Connection, events: Sequence[Event]) -> int:
        """Apply each event to its plan; load each plan once per batch and save it once."""
        added: list[Fact] = []
        changed = apply_by_key(
            conn, events, target, evolve, store.PLANS, lambda e, after: added.extend(facts(e, after))
        )
        store.add_facts(conn, added)
        return changed
