"""The embedded runner: tails the event store and applies projections, position and rows in one transaction."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence

from sqlalchemy import Engine

from services.kernel.codec import AvroCodec
from services.kernel.events import Event, decode_event
from services.kernel.store import EventStore

from . import tracking
from .base import Projection

log = logging.getLogger(__name__)


class EmbeddedRunner:
    """Applies every projection to the store's events in global order; at-least-once reads, exactly-once effect."""

    def __init__(
        self,
        engine: Engine,
        store: EventStore,
        codec: AvroCodec,
        types: Mapping[str, type[Event]],
        projections: Sequence[Projection],
        batch_size: int = 500,
        catchup_batch_size: int | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.codec = codec
        self.types = types
        self.projections = list(projections)
        self.batch_size = batch_size
        # Behind the head (a rebuild, a restart, a burst of imports) batches grow: thousands of events per
        # transaction cost the database far less than batches of 500 and write each counter row fewer times
        # (docs/benchmarks.md, "4. Rebuild"); live batches stay small, so a batch holds the write lock briefly.
        self.catchup_batch_size = max(batch_size, catchup_batch_size or batch_size)
        self.behind = False  # the last batch was full: the next one reads a catch-up batch
        self.wakeup = threading.Event()

    def setup(self) -> None:
        """Create the tracking and read-model tables and their reference rows."""
        tracking.metadata.create_all(self.engine)
        for projection in self.projections:
            projection.metadata.create_all(self.engine)
            with self.engine.begin() as conn:
                projection.setup(conn)

    def positions(self) -> dict[str, int]:
        """Position applied by each projection."""
        with self.engine.connect() as conn:
            return {p.name: tracking.get_position(conn, p.name) for p in self.projections}

    def run_once(self) -> int:
        """Apply one batch to every projection behind the head; return the number of events read."""
        positions = self.positions()
        start = min(positions.values(), default=0)
        size = self.catchup_batch_size if self.behind else self.batch_size
        stored = self.store.read_all(start, size)
        self.behind = len(stored) == size
        if not stored:
            return 0
        events = [decode_event(s.body, self.codec, self.types, s.position) for s in stored]
        for projection in self.projections:
            mine = [e for e in events if e.position > positions[projection.name]]
            if not mine:
                continue
            with self.engine.begin() as conn:
                projection.apply(conn, mine)
                tracking.set_position(conn, projection.name, mine[-1].position)
        return len(stored)

    def run_until_idle(self) -> int:
        """Apply batches until every projection has caught up with the head; return events read."""
        total = 0
        while (count := self.run_once()) > 0:
            total += count
        return total

    def run_forever(self, stop: threading.Event, poll_seconds: float = 0.2) -> None:
        """Tail the store until ``stop`` is set; ``wakeup`` cuts the idle wait short after an append."""
        while not stop.is_set():
            try:
                if self.run_once() == 0:
                    self.wakeup.wait(poll_seconds)
                    self.wakeup.clear()
            except Exception:  # keep tailing: a failing batch is retried after the pause, not skipped
                log.exception("projection batch failed; retrying")
                stop.wait(max(poll_seconds, 1.0))

    def lag(self) -> dict[str, int]:
        """Events each projection is behind the store's head."""
        head = self.store.head_position()
        return {name: head - pos for name, pos in self.positions().items()}
