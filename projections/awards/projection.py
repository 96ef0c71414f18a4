"""The award pipeline projection: pure evolve + thin store, applied by any runner in any cross-stream order."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import Connection

from services.kernel.events import Event

from . import store
from .evolve import evolve, target
from .history import conferred_of, step_of
from .rows import ConferredRow, ProposalRow, StepRow
from .tables import metadata

log = logging.getLogger(__name__)


class AwardsProjection:
    """Maintains ``awards_proposal``, ``awards_step`` and ``awards_conferred``.

    Every row belongs to one proposal stream, so events of different streams commute; within a stream the
    stored version makes a redelivered event a no-op.
    """

    name = "awards"
    metadata = metadata

    def setup(self, conn: Connection) -> None:
        """No reference rows."""

    def apply(self, conn: Connection, events: Sequence[Event]) -> int:
        """Apply each event to its proposal; load each proposal once per batch and save it once."""
        loaded: dict[str, ProposalRow | None] = {}
        current: dict[str, ProposalRow | None] = {}
        steps: list[StepRow] = []
        conferred: list[ConferredRow] = []
        for event in events:
            pid = target(event)
            if pid is None:
                continue
            if pid not in loaded:
                loaded[pid] = current[pid] = store.load(conn, pid)
            after = evolve(event, current[pid])
            if after is None or after == current[pid]:
                if after is None:
                    log.warning("award event %s for unknown proposal %s ignored", event.event_id, pid)
                continue
            current[pid] = after
            steps += [s for s in [step_of(event, after)] if s is not None]
            conferred += [c for c in [conferred_of(event, after)] if c is not None]
        for pid, after in current.items():
            store.save(conn, loaded[pid], after)
        store.add_steps(conn, steps)
        store.add_conferred(conn, conferred)
        return len(steps)
