"""The embedded runner: tails the event store and applies projections, position and rows in one transaction."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, Engine, delete, inspect

from services.kernel.appended import AppendedSignal
from services.kernel.codec import AvroCodec
from services.kernel.db import is_postgres
from services.kernel.events import Event, decode_event
from services.kernel.store import EventStore

from . import tracking, versions
from .base import COLLECTOR, Projection

log = logging.getLogger(__name__)
LINGER_AFTER = 3  # events in a batch from which the tail lingers before the next (see EmbeddedRunner)
SETUP_LOCK_KEY = 0x7468_6964_7561_0003  # serialises the creation of read models between processes (PostgreSQL)


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
        linger_seconds: float = 0.0,
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
        # Under load the tail would apply a batch of a few events after every commit, and the cost of a batch
        # (a statement or two per read model, a commit) is mostly fixed: after a batch of LINGER_AFTER events or
        # more (others arrived while it was applied) it waits this long, so the next batch gathers more. Light
        # load (one or two events a batch) is applied at once; the linger sustains itself from about
        # LINGER_AFTER / linger_seconds events/s (150/s at 0.02 s). Measured in docs/benchmarks.md, § 5.
        self.linger_seconds = linger_seconds
        self.wakeup = threading.Event()
        self.appended: AppendedSignal | None = None  # the idle tail's wait for appends (PostgreSQL, run_forever)
        self.versions = {p.name: versions.code_version(p) for p in self.projections}
        # The live versions and positions the last batch committed (None: read them before the next batch).
        self._state: tuple[dict[str, versions.LiveVersion], dict[str, int]] | None = None

    def setup(self) -> None:
        """Create the read models that have no tables yet (or lost some: dropped to be rebuilt), at the code's
        version, with their reference rows, and refresh the reference rows of those at the code's version. A read
        model whose live tables hold another version is left as it is: the builder (``projections.bluegreen``)
        replaces it, and this runner skips it until then."""
        with self.engine.begin() as conn:
            if is_postgres(self.engine):
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SETUP_LOCK_KEY})")
            live = versions.live_versions(conn)
            present = set(inspect(conn).get_table_names())
            for projection in self.projections:
                names = versions.table_names(projection)
                have = [name for name in names if name in present]
                current = versions.current(live, projection, self.versions[projection.name])
                missing = len(have) < len(names) if names else projection.name not in live
                if missing and (current or not have):  # none yet, or some dropped (to be rebuilt)
                    create_fresh(conn, projection, self.versions[projection.name])
                elif current:
                    projection.setup(conn)

    def stale(self) -> list[Projection]:
        """The read models whose live tables do not hold the code's version (they wait for the builder)."""
        with self.engine.connect() as conn:
            live = versions.live_versions(conn)
        return [p for p in self.projections if not versions.current(live, p, self.versions[p.name])]

    def positions(self) -> dict[str, int]:
        """Position applied by each projection."""
        with self.engine.connect() as conn:
            return tracking.get_positions(conn, [p.name for p in self.projections])

    def run_once(self) -> int:
        """Apply one batch to every projection behind the head; return the number of events read.

        Only read models whose live tables hold the code's version take part. The batch's transaction reads the
        live versions again (a switch committed meanwhile is seen one way or the other, never half) and moves each
        projection's position only from where the batch was read (one statement, rows locked), so a version
        switched or a position moved by another runner meanwhile rolls the batch back and it is read again. Every
        projection's rows and position are written in that one transaction (one commit per batch). If it fails,
        each projection gets its own, so one failing projection does not hold the others back: they commit, it
        raises and is retried.

        What the last batch committed (versions seen, positions written) is kept for the next, so a batch reads
        neither before its transaction; an empty read from kept positions reads them again before answering 0,
        so positions moved elsewhere (a reset, another runner) are still found.

        A catch-up batch (thousands of decoded events and the rows they make, alive until it is committed) runs with
        the cyclic garbage collector paused, as a build does (``projections.base.COLLECTOR``): its passes would
        walk all of them again and again, and they make next to no cyclic garbage. What they hold is freed by
        reference counting when the batch returns, before the collector resumes; a live batch keeps it on.
        """
        if not self.behind:
            return self._run_once()
        with COLLECTOR.paused():
            return self._run_once()

    def _run_once(self) -> int:
        while True:
            state = self._state or self._read_state()
            live, positions = state
            active = [p for p in self.projections if p.name in positions]
            if not active:
                return 0
            start = min(positions.values(), default=0)
            size = self.catchup_batch_size if self.behind else self.batch_size
            stored = self.store.read_all(start, size)
            self.behind = len(stored) == size
            if not stored:
                if self._state is not None:  # kept from the last batch: check nothing moved elsewhere
                    self._state = self._read_state()
                    if self._state != state:
                        continue
                return 0
            events = [decode_event(s.body, self.codec, self.types, s.position) for s in stored]
            due = [(p, [e for e in events if e.position > positions[p.name]]) for p in active]
            due = [(p, mine) for p, mine in due if mine]
            moves = {p.name: (positions[p.name], mine[-1].position) for p, mine in due}
            self._state = None
            try:
                with self.engine.begin() as conn:
                    if self._live(conn) != live:
                        raise _Moved  # a version was switched meanwhile (nothing written here)
                    if not tracking.advance_positions(conn, moves):
                        raise _Moved  # another runner applied some of them meanwhile (rolled back)
                    for projection, mine in due:
                        projection.apply(conn, mine)
            except _Moved:
                continue
            except Exception:
                if len(due) < 2:
                    raise
                log.warning("projection batch failed as a whole; applying it projection by projection")
                self._apply_each(positions, due)
                return len(stored)
            self._state = (live, {**positions, **{name: new for name, (_, new) in moves.items()}})
            return len(stored)

    def _live(self, conn: Connection) -> dict[str, versions.LiveVersion]:
        """The live version of each of this runner's read models that has one, in one query."""
        return {name: v for name, v in versions.live_versions(conn).items() if name in self.versions}

    def _read_state(self) -> tuple[dict[str, versions.LiveVersion], dict[str, int]]:
        """The live versions and the positions of the read models at the code's version (one connection)."""
        with self.engine.connect() as conn:
            live = self._live(conn)
            active = [p.name for p in self.projections if versions.current(live, p, self.versions[p.name])]
            return live, tracking.get_positions(conn, active)

    def _still_active(self, conn: Connection, projections: Sequence[Projection]) -> bool:
        live = versions.live_versions(conn, [p.name for p in projections])
        return all(versions.current(live, p, self.versions[p.name]) for p in projections)

    def _apply_each(self, positions: Mapping[str, int], due: Sequence[tuple[Projection, list[Event]]]) -> None:
        """Apply the batch in one transaction per projection; raise the first failure after trying them all."""
        failure: Exception | None = None
        for projection, mine in due:
            try:
                with self.engine.begin() as conn:
                    if not self._still_active(conn, [projection]):
                        continue  # a version was switched meanwhile
                    moved = tracking.get_positions(conn, [projection.name], lock=True) != {
                        projection.name: positions[projection.name]
                    }
                    if moved:
                        continue  # another runner applied it meanwhile: the next batch reads from where it is
                    projection.apply(conn, mine)
                    tracking.set_position(conn, projection.name, mine[-1].position)
            except Exception as exc:  # noqa: BLE001 - the others still get their batch; the first failure is raised
                failure = failure or exc
        if failure is not None:
            raise failure

    def run_until_idle(self) -> int:
        """Apply batches until every projection has caught up with the head; return events read."""
        total = 0
        while (count := self.run_once()) > 0:
            total += count
        return total

    def run_forever(self, stop: threading.Event, poll_seconds: float = 0.2) -> None:
        """Tail the store until ``stop`` is set. Idle, it waits for the next append: on PostgreSQL the store's
        notification, which also comes from other processes (events imported by ``thidua sync``, another API
        process); on SQLite ``wakeup``, set after this process's commits; at most ``poll_seconds`` either way."""
        self.appended = AppendedSignal(self.engine) if is_postgres(self.engine) else None
        try:
            self._tail(stop, poll_seconds, self.appended)
        finally:
            if self.appended is not None:
                self.appended.close()

    def _tail(self, stop: threading.Event, poll_seconds: float, appended: AppendedSignal | None) -> None:
        while not stop.is_set():
            try:
                count = self.run_once()
                if count == 0:
                    if appended is not None:
                        appended.wait(stop, poll_seconds)
                    else:
                        self.wakeup.wait(poll_seconds)
                    self.wakeup.clear()
                elif count >= LINGER_AFTER and not self.behind and self.linger_seconds > 0:
                    stop.wait(self.linger_seconds)
            except Exception:  # keep tailing: a failing batch is retried after the pause, not skipped
                log.exception("projection batch failed; retrying")
                stop.wait(max(poll_seconds, 1.0))

    def lag(self) -> dict[str, int]:
        """Events each projection is behind the store's head."""
        head = self.store.head_position()
        return {name: head - pos for name, pos in self.positions().items()}


class _Moved(Exception):
    """A batch's transaction found a version switched or a position moved since the batch was read."""


def create_fresh(conn: Connection, projection: Projection, version: versions.Version) -> None:
    """Create a read model's tables (dropping those left of it) and reference rows at ``version``, applied from the
    start by the runners (embedded tail: position 0; Kafka workers: no offsets, no event ids)."""
    projection.metadata.drop_all(conn)
    projection.metadata.create_all(conn)
    projection.setup(conn)
    versions.record(conn, projection, version)
    tracking.set_position(conn, projection.name, 0)
    for table in (tracking.projection_kafka_offset, tracking.projection_event):
        conn.execute(delete(table).where(table.c.projection == projection.name))
