"""The sync sender: routes this node's own events to its parent and children, like the relay does for its topics.

One batch: read the store after the recorded position (``relay_position`` row ``sync``), ask the rules where each
event goes, send it to ``thidua.<node>.sync.<target>`` (key = stream id, the stored Avro bytes unchanged, the
CloudEvents headers plus ``ce_originhash``: its hash in this node's chain), wait for every acknowledgement; the
acknowledged position is kept in memory and written at most every :data:`RECORD_SECONDS` and when the sender stops.
A crash sends again what was acknowledged since the last write: receivers drop duplicates by event id.
A sealed event also carries its origin proof in ``ce_signature`` (``services/sync/proofs.py``).

Idle, the sender asks nothing of the database: the position it recorded is kept in memory, and on PostgreSQL it
reads the store again only when an append was announced (``LISTEN`` on the node's append channel, opened before
the first read, so an append committed after a read that found everything is announced). The ``thidua sync`` process
runs it in its own thread, which sleeps in :meth:`Outbound.wait` until the next announcement: a report is sent up
when its transaction commits, not at the end of the importer's Kafka poll (docs/benchmarks.md, § 11, "Session 6").
On SQLite, or while the listening connection is lost, every round reads the store. A batch of events imported
here (a parent's sender reads mostly those) sends nothing and opens no connection.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from kafka import KafkaProducer
from sqlalchemy import Engine, func, select

from services.kernel.appended import AppendedSignal
from services.kernel.codec import AvroCodec
from services.kernel.messaging import to_message
from services.kernel.store import IMPORTED_PAYLOAD, EventStore, StoredEvent
from services.kernel.tables import event as event_table
from services.pipeline import tables as pipeline_tables
from services.pipeline.topics import Topics

from .proofs import SIGNATURE_HEADER, ProofBuilder
from .rules import EventFacts, Rule, Topology, targets

log = logging.getLogger(__name__)
OUTBOUND_NAME = "sync"
NEVER_ROUTED = ("CheckpointSigned", "CheckpointWitnessed", "CheckpointWitnessRefused")  # witnessing has its messages
ORIGIN_HASH_HEADER = "ce_originhash"
RECORD_SECONDS = 1.0  # the acknowledged position is written at most this often (and when the sender stops)


def decider_path(codec: AvroCodec, first: StoredEvent) -> str | None:
    """The path of a proposal's deciding step, from the first event of its stream (None for other streams)."""
    if first.event_type != "AwardProposed":
        return None
    route = codec.decode(first.body).datum["route"]
    return str(route[-1]["org_unit"]["path"]) if route else None


class Outbound:
    """Sends what the rules route from the store to the sync topics of the targets."""

    def __init__(
        self,
        engine: Engine,
        store: EventStore,
        topology: Topology,
        rules: Sequence[Rule],
        producer_factory: Callable[[], KafkaProducer],
        batch_size: int = 500,
    ) -> None:
        self.engine = engine
        self.store = store
        self.topology = topology
        self.rules = rules
        self.producer_factory = producer_factory
        self.batch_size = batch_size
        self.topics = Topics(topology.node_id)
        self._streams: dict[str, tuple[str, str | None]] = {}  # stream id -> (origin node, decider path)
        self._producer: KafkaProducer | None = None
        self.proofs = ProofBuilder(engine, topology.node_id)
        self.sent = 0
        self._position: int | None = None  # as recorded (None: read it at the next batch)
        self.appended = AppendedSignal(engine)  # on PostgreSQL: announcements of this node's appends
        self._announced: frozenset[str] = frozenset()  # payloads a wait took that no read has taken yet
        self._imports_unread = False  # imports announced since the last read (read at most every RECORD_SECONDS)
        self._read_at = 0.0  # monotonic time of the last read of the store
        self._caught_up = False  # the last read found everything there was after the position
        self._recorded: int | None = None  # the position last written
        self._recorded_at = 0.0  # monotonic time the position was last written
        self.announcements = 0  # rounds that found appends announced (or could not tell): the witness tick's cue

    def position(self) -> int:
        """The last store position whose routed events the broker acknowledged."""
        if self._position is None:
            with self.engine.connect() as conn:
                self._position = self._recorded = pipeline_tables.get_published(conn, OUTBOUND_NAME)
        return self._position

    def run_once(self) -> int:
        """Route and send one batch; return the number of store events looked at (none, without a query, while
        caught up and no append was announced)."""
        if self._caught_up and not self._appended():
            return 0
        batch = self.store.read_all(self.position(), self.batch_size)
        self._read_at = time.monotonic()
        self._caught_up = len(batch) < self.batch_size  # the listener was open before the read: nothing is missed
        if not batch:
            return 0
        self.announcements += 1  # appends, announced or not yet
        routed = [(self.topics.sync_to(t), s) for s in batch for t in self.targets(s)]
        if routed:
            self._send(batch, routed)
        self._position = batch[-1].position  # acknowledged by the broker (or nothing to send)
        self.record(RECORD_SECONDS)
        return len(batch)

    def _send(self, batch: list[StoredEvent], routed: list[tuple[str, StoredEvent]]) -> None:
        """Send the ``routed`` events of ``batch`` and wait for every acknowledgement."""
        producer = self.producer()
        proofs = self.proofs.headers(batch, {stored.position for _, stored in routed})
        futures = []
        for topic, stored in routed:
            message = to_message(stored)
            headers = [*message.headers, (ORIGIN_HASH_HEADER, stored.hash.hex().encode())]
            if stored.position in proofs:
                headers.append((SIGNATURE_HEADER, proofs[stored.position]))
            futures.append(producer.send(topic, key=message.key, value=message.value, headers=headers))
        producer.flush()
        for future in futures:
            future.get(timeout=0)
        self.sent += len(routed)
        log.debug("sync sent", extra={"events": len(routed), "last_position": batch[-1].position})

    def record(self, every: float = 0.0) -> None:
        """Write the acknowledged position, the sender's restart point, if it moved and the last write is ``every``
        seconds old: a report sent alone is not also a transaction of its own; a crash sends again what was sent
        since, and receivers drop it by event id."""
        if self._position is None or self._position == self._recorded:
            return
        if time.monotonic() - self._recorded_at < every:
            return
        with self.engine.begin() as conn:
            pipeline_tables.set_published(conn, OUTBOUND_NAME, self._position)
        self._recorded, self._recorded_at = self._position, time.monotonic()

    def forget(self) -> None:
        """After a failed round: read the recorded position and the store again at the next round (the batch that
        failed is sent again, even if no append is announced meanwhile)."""
        self._position, self._caught_up = None, False

    def wait(self, stop: threading.Event, seconds: float) -> None:
        """Sleep until an append is announced (kept for the next :meth:`run_once`), ``stop`` is set or ``seconds``
        pass (on SQLite: the interval). While listening an append ends the wait, so it lasts up to
        :data:`RECORD_SECONDS` (when imports read together and a position to write are due) if that is longer."""
        if self.appended.listening:
            seconds = max(seconds, RECORD_SECONDS)
        if self.appended.wait(stop, seconds):
            self._announced |= self.appended.payloads

    def _appended(self) -> bool:
        """Whether to read the store now: an append of this node may have committed since the last read (the
        announcements delivered meanwhile are taken; without a listening connection: always). Announced imports
        alone (this node's importer) are read together at most every :data:`RECORD_SECONDS`: imported events never
        travel again, and a parent's sender would otherwise read each poll of its importer as it commits."""
        taken = self.appended.announced()
        payloads = None if taken is None else taken | self._announced
        self._announced = frozenset()
        if payloads is not None and payloads <= {IMPORTED_PAYLOAD}:
            self._imports_unread |= bool(payloads)
            if not self._imports_unread or time.monotonic() - self._read_at < RECORD_SECONDS:
                return False
        self._imports_unread = False
        self.announcements += 1
        return True

    def close(self) -> None:
        """Write the acknowledged position and close the listening connection."""
        try:
            self.record()
        finally:
            self.appended.close()

    def targets(self, stored: StoredEvent) -> list[str]:
        """The nodes ``stored`` goes to."""
        if stored.node_id != self.topology.node_id:
            return []  # imported: never forwarded again
        origin, decider = self._stream_facts(stored)
        return targets(EventFacts(stored.event_type, stored.node_id, origin, decider), self.rules, self.topology)

    def _stream_facts(self, stored: StoredEvent) -> tuple[str, str | None]:
        known = self._streams.get(stored.stream_id)
        if known is None:
            first = stored if stored.stream_version == 1 else self._first_event(stored.stream_id)
            known = (first.node_id, decider_path(self.store.codec, first)) if first else (stored.node_id, None)
            if len(self._streams) > 100_000:
                self._streams.clear()
            self._streams[stored.stream_id] = known
        return known

    def _first_event(self, stream_id: str) -> StoredEvent | None:
        with self.engine.connect() as conn:
            return self.store.first_event(conn, stream_id)

    def status(self, now: datetime) -> dict[str, object]:
        """How far the sender got (a SyncStatus datum): its position, the store's head, and this node's own events
        after its position that the rules may route (imported events and audit records never travel)."""
        c = event_table.c
        with self.engine.connect() as conn:
            sent = self._position if self._position is not None else pipeline_tables.get_published(conn, OUTBOUND_NAME)
            head = int(conn.execute(select(func.coalesce(func.max(c.position), 0))).scalar_one())
            pending = select(func.count()).select_from(event_table).where(c.position > sent)
            pending = pending.where(c.node_id == self.topology.node_id, c.event_type.not_in(NEVER_ROUTED))
            unsent = int(conn.execute(pending).scalar_one())
        return {
            "node_id": self.topology.node_id,
            "head_position": head,
            "sent_position": sent,
            "unsent_events": unsent,
            "reported_at": now,
        }

    def producer(self) -> KafkaProducer:
        """The current producer (built on first use and after a failure)."""
        if self._producer is None:
            self._producer = self.producer_factory()
        return self._producer
