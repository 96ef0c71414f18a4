"""The plans projection: pure evolve + thin store, applied by any runner in any cross-stream order."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Connection

from services.kernel.events import Event

from . import store
from .evolve import evolve, target
from .facts import facts
from .rows import Fact, PlanRow
from .tables import metadata

log = logging.getLogger(__name__)


class PlansProjection:
    """Maintains ``plans_plan``, ``plans_parent``, ``plans_amendment`` and ``plans_criteria``.

    Every row belongs to one plan stream (a parent named by ``implements`` is looked up when read), so events
    of different streams commute; within a stream the stored version makes a redelivered event a no-op.
    """

    name = "plans"
    metadata = metadata

    def setup(self, conn: Connection) -> None:
        """No reference rows."""

    def apply(self, conn: Connection, events: Sequence[Event]) -> int:
        """Apply each event to its plan; load each plan once per batch and save it once."""
        loaded: dict[str, PlanRow | None] = {}
        current: dict[str, PlanRow | None] = {}
        added: list[Fact] = []
        changed = 0
        for event in events:
            plan_id = target(event)
            if plan_id is None:
                continue
            if plan_id not in loaded:
                loaded[plan_id] = current[plan_id] = store.load(conn, plan_id)
            after = evolve(event, current[plan_id])
            if after is None or after == current[plan_id]:
                if after is None:
                    log.warning("plan event %s for unknown plan %s ignored", event.event_id, plan_id)
                continue
            current[plan_id] = after
            added += facts(event, after)
            changed += 1
        for plan_id, after in current.items():
            store.save(conn, loaded[plan_id], after)
        store.add_facts(conn, added)
        return changed
