"""The award pipeline projection: pure evolve + thin store, applied by any runner in any cross-stream order."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from projections.base import handled_types
from projections.rowstore import apply_by_key
from services.kernel.events import Event

from . import store
from .evolve import evolve, target
from .history import conferred_of, step_of
from .rows import ConferredRow, ProposalRow, StepRow
from .tables import metadata


class AwardsProjection:
    """Maintains ``awards_proposal``, ``awards_step`` and ``awards_conferred``.

    Every row belongs to one proposal stream, so events of different streams commute; within a stream the
    stored version makes a redelivered event a no-op.
    """

    name = "awards"
    version = 1  # bump when evolve changes meaning: the node rebuilds it blue/green (docs/upgrade.md)
    event_types = handled_types(evolve)  # what it reads: an as-of rebuild replays only these
    metadata = metadata

    def setup(self, conn: Connection) -> None:
        """No reference rows."""

    def apply(self, conn: Connection, events: Sequence[Event]) -> int:
        """Apply each event to its proposal; load each proposal once per batch and save it once."""
        steps: list[StepRow] = []
        conferred: list[ConferredRow] = []

        def changed(event: Event, after: ProposalRow) -> None:
            steps.extend(s for s in [step_of(event, after)] if s is not None)
            conferred.extend(c for c in [conferred_of(event, after)] if c is not None)

        apply_by_key(conn, events, target, evolve, store.PROPOSALS, changed)
        store.add_steps(conn, steps)
        store.add_conferred(conn, conferred)
        return len(steps)
