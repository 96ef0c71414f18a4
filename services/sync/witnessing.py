"""The witness protocol over the sync topics (``services/audit/witness.py`` has the checks and the records).

As an **origin**, the sync process asks each of its witnesses (``audit_witnesses``, default its parent) to countersign
its latest checkpoint: a ``WitnessRequest`` on ``thidua.<node>.sync.<witness>``, sent again after
``audit_witness_resend_seconds`` while no cosignature came back. As a **witness**, it answers the requests of its
peers on ``thidua.<witness>.sync.<origin>`` (``WitnessResponse``). Requests and answers are handled in the importer's
transaction (the records they make commit with the consumed offsets); answers are sent after the commit. A lost
answer costs a resend, nothing else: the witness answers a request it already countersigned with the same
cosignature.

Messages: key = the origin's node id; value = Avro single-object; headers ``ce_specversion``, ``ce_id``,
``ce_source``, ``ce_type`` (the record's full name), ``ce_time`` and ``content-type`` (not an event: the importer,
reconciliation and the workers' decoders leave them alone).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaProducer
from sqlalchemy import Connection

from services.audit import witness
from services.audit.keys import KeyRing, load_keyring
from services.kernel.messaging import CONTENT_TYPE, SPEC_VERSION
from services.kernel.settings import AuditSettings
from services.kernel.store import EventStore
from services.pipeline.deadletters import Record
from services.pipeline.topics import Topics

from .rules import Topology

log = logging.getLogger(__name__)
MESSAGES = (witness.REQUEST, witness.RESPONSE)
RING_SECONDS = 5.0


class Witnessing:
    """Both sides of the witness protocol for one node's sync process."""

    def __init__(
        self,
        store: EventStore,
        topology: Topology,
        settings: AuditSettings,
        producer: KafkaProducer,
        anchors: Sequence[Any] = (),
    ) -> None:
        self.store = store
        self.topology = topology
        self.producer = producer
        self.anchors = list(anchors)
        self.witnesses = [w for w in settings.witnesses if w in topology.peers]
        skipped = sorted(set(settings.witnesses) - set(self.witnesses))
        if skipped:
            log.warning("witnesses that are not peers are skipped (no sync topic)", extra={"nodes": skipped})
        self.resend_seconds = settings.audit_witness_resend_seconds
        self.topics = Topics(topology.node_id)
        self._sent: dict[str, tuple[int, int, float]] = {}  # witness -> (tree size, proof's old size, when)
        self._from: dict[str, int] = {}  # witness -> the size it asked a proof from (NEED_PROOF)
        self._ring: KeyRing | None = None
        self._ring_loaded = 0.0
        self._outbox: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = []
        self.counts: Counter[str] = Counter()

    def ring(self, conn: Connection, refresh: bool = False) -> KeyRing:
        """The keys this node trusts (anchors and the key events of its log), reloaded every few seconds."""
        now = time.monotonic()
        if self._ring is None or refresh or now - self._ring_loaded > RING_SECONDS:
            self._ring = load_keyring(conn, self.store.codec, self.store.node_id, self.anchors, self.topology.peers)
            self._ring_loaded = now
        return self._ring

    # --- the origin ------------------------------------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> int:
        """Ask every witness that has not countersigned the latest checkpoint (again after the resend time)."""
        if not self.witnesses:
            return 0
        moment = now or datetime.now(UTC)
        sent = 0
        with self.store.engine.connect() as conn:
            checkpoint = witness.latest_checkpoint(conn, self.store)
            if checkpoint is None:
                return 0
            size = int(checkpoint["event_count"])
            for target in self.witnesses:
                cosigned = witness.cosigned_size(conn, self.store, target)
                if cosigned >= size:
                    continue
                old = max(self._from.get(target, cosigned), cosigned)
                previous = self._sent.get(target)
                if previous and previous[:2] == (size, old) and time.monotonic() - previous[2] < self.resend_seconds:
                    continue
                request = witness.build_request(conn, self.store, checkpoint, target, old, moment)
                if request is None:
                    log.error(
                        "cannot prove consistency from the size a witness holds", extra={"witness": target, "size": old}
                    )
                    continue
                self._queue(self.topics.sync_to(target), witness.REQUEST, request, moment)
                self._sent[target] = (size, old, time.monotonic())
                sent += 1
        self.flush()
        self.counts["requests_sent"] += sent
        return sent

    # --- inbound records ---------------------------------------------------------------------------------------------

    def handle(self, conn: Connection, record: Record, fullname: str, source: str) -> str:
        """A WitnessRequest or WitnessResponse from ``source`` (in the importer's transaction); the outcome."""
        datum = self.store.codec.decode(record.value or b"").datum
        me = self.store.node_id
        if fullname == witness.REQUEST:
            if datum["origin_node"] != source or datum["witness_node"] != me:
                return "WITNESS_MISADDRESSED"
            ring = self.ring(conn)
            if not any(k.trusted for k in ring.of_node(source)):
                ring = self.ring(conn, refresh=True)
            answer = witness.answer(conn, self.store, ring, datum, datetime.now(UTC))
            self._queue(self.topics.sync_to(source), witness.RESPONSE, answer, answer["answered_at"])
            self.counts[f"answered_{answer['status']}"] += 1
            return f"WITNESS_{answer['status']}"
        if datum["witness_node"] != source or datum["origin_node"] != me:
            return "WITNESS_MISADDRESSED"
        if datum["status"] == witness.NEED_PROOF:
            self._from[source] = int(datum["witnessed_size"])
            self._sent.pop(source, None)  # ask again at once, from that size
        elif datum["status"] == witness.REFUSE:
            log.error(
                "a witness refused this node's checkpoint",
                extra={
                    "witness": source,
                    "reason": datum["reason"],
                    "size": datum["tree_size"],
                    "witnessed_size": datum["witnessed_size"],
                },
            )
        outcome = witness.accept_response(conn, self.store, self.ring(conn, refresh=True), datum)
        self.counts[f"response_{outcome}"] += 1
        if outcome == "RECORDED":
            self._from.pop(source, None)
        return f"WITNESS_{outcome}"

    # --- sending -----------------------------------------------------------------------------------------------------

    def _queue(self, topic: str, fullname: str, datum: dict[str, Any], moment: datetime) -> None:
        headers = {
            "ce_specversion": SPEC_VERSION,
            "ce_id": str(uuid.uuid4()),
            "ce_source": f"/thidua/{self.store.node_id}",
            "ce_type": fullname,
            "ce_time": moment.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "content-type": CONTENT_TYPE,
        }
        value = self.store.codec.encode(fullname, datum)
        key = datum["origin_node"].encode()
        self._outbox.append((topic, key, value, [(k, v.encode()) for k, v in headers.items()]))

    def flush(self) -> int:
        """Send what was queued (after the transaction that decided it committed) and wait for the acks."""
        outbox, self._outbox = self._outbox, []
        futures = [
            self.producer.send(topic, key=key, value=value, headers=headers) for topic, key, value, headers in outbox
        ]
        if futures:
            self.producer.flush()
            for future in futures:
                future.get(timeout=0)
        return len(futures)
