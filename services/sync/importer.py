"""The importer: what other nodes route to this node becomes foreign streams in the local store.

A poll's records in one transaction: validate each (undecodable, unknown schema, not an event, ``ce_type``
contradicting the schema: dead letter), then import the valid events together with ``EventStore.import_foreign_many``
(the store's append lock and one read of the log's state in one round trip, one insert for the batch; per event its
original bytes, event id, stream id and version, origin node and business time, the origin's hash and position kept
in ``foreign_event``): park an event whose stream lacks the previous version (another source has not delivered it
yet) and import the parked successors once it is there, record the write-side lookups its stream now holds
(services/domain/lookups.py), mark the receipt of its (source, period) due, and record each partition's next offset.
The transaction takes the store's append lock once (announced as imports: ``services.kernel.store.IMPORTED_PAYLOAD``;
a poll without an event to import does not take it), marks each receipt due once and asks once whether anything is
parked; a refused record writes nothing and needs no savepoint. A version already held by another event (two nodes
wrote the same stream concurrently) is a ``STREAM_CONFLICT`` dead letter; dead letters go out in the records' order.
Redelivery and duplicates are harmless: the event id is found and nothing is written twice.

An event's origin proof (``ce_signature``) is kept with it (``foreign_event.origin_signature``) and checked
when the origin's key is known here: a proof that does not verify is an ``ORIGIN_SIGNATURE`` dead letter (a proof by
a key not known yet is kept, and ``thidua audit verify`` checks it once the key's announcement has arrived). Witness
requests and answers that come on the same topics go to ``witnessing.Witnessing``.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from kafka import KafkaProducer
from sqlalchemy import Connection, Engine, delete, select

from services.domain.lookups import record_imported
from services.kernel.codec import split_header
from services.kernel.errors import DecodeError, Kind, StreamConflict, ThiduaError
from services.kernel.events import Event
from services.kernel.messaging import sequence_of
from services.kernel.signing import OriginProof
from services.kernel.store import GAP, IMPORTED, EventStore, Foreign, ForeignImport
from services.pipeline.deadletters import Record, Rejected, dead_letter_headers, decode_record
from services.pipeline.topics import Topics, mirrored

from . import tables
from .outbound import ORIGIN_HASH_HEADER
from .proofs import SIGNATURE_HEADER
from .receipts import period_of
from .rules import Topology
from .witnessing import MESSAGES, Witnessing

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Origin:
    """Where a foreign event came from: the delivering node and the origin's hash and position."""

    source: str
    origin_hash: bytes | None
    origin_position: int | None
    origin_signature: bytes | None = None


class OriginSignatureInvalid(ThiduaError):
    """An event whose origin proof does not verify with its origin's known key: not what the origin signed."""

    code = "ORIGIN_SIGNATURE"
    kind = Kind.INVALID

    def __init__(self, origin: str, event_id: str, why: str) -> None:
        super().__init__(
            f"Sự kiện {event_id} không khớp chữ ký của nút {origin}: {why}.",
            f"Event {event_id} does not match node {origin}'s signature: {why}.",
            origin=origin,
            event_id=event_id,
        )


class OriginMismatch(ThiduaError):
    """A sync topic carried an event that its source node did not write (nodes never forward foreign events)."""

    code = "ORIGIN_MISMATCH"
    kind = Kind.INVALID

    def __init__(self, source: str, origin: str, event_id: str) -> None:
        super().__init__(
            f"Sự kiện {event_id} do nút {origin} ghi, nhưng đến từ chủ đề của nút {source}.",
            f"Event {event_id} was written by node {origin} but came from node {source}'s sync topic.",
            source=source,
            origin=origin,
            event_id=event_id,
        )


class Importer:
    """Imports records of the sync topics addressed to this node."""

    def __init__(
        self,
        engine: Engine,
        store: EventStore,
        types: Mapping[str, type[Event]],
        topology: Topology,
        producer: KafkaProducer,
        remote_prefix: str = "",
        period: str = "month",
    ) -> None:
        self.engine = engine
        self.store = store
        self.types = types
        self.topology = topology
        self.producer = producer
        self.remote_prefix = remote_prefix
        self.period = period
        self.own = Topics(topology.node_id)
        self.counts: dict[str, int] = {}
        self.witnessing: Witnessing | None = None  # set by the sync service: answers witness messages
        self._due: set[tuple[str, str]] = set()  # (source, period) of the receipts this transaction made due
        self._parked: bool | None = None  # whether sync_parked may hold a row, as far as this transaction knows

    @property
    def sources(self) -> dict[str, str]:
        """{topic: source node} of every sync topic addressed to this node."""
        me = self.topology.node_id
        return {mirrored(Topics(p).sync_to(me), p, self.remote_prefix): p for p in self.topology.peers}

    def handle(self, record: Record) -> str:
        """Import one record (or dead-letter it) and record its offset, atomically; return the outcome."""
        return self.handle_many([record])[0]

    def handle_many(self, records: Sequence[Record]) -> list[str]:
        """Import the records of one poll (or dead-letter them) and record their offsets in one transaction (a
        refused record leaves the others); return their outcomes.

        One commit per poll instead of one per record: a record's import is a few statements, its commit a disk
        flush, and one commit per record capped central's imports at ~110 reports/s (docs/benchmarks.md, "Latency
        through sync"). If the transaction fails nothing is recorded and the poll is read again.
        """
        self._due, self._parked = set(), None
        with self.engine.begin() as conn:
            outcomes = self._handle_all(conn, records)
            for source, period in sorted(self._due):  # the receipts the imports made due, once each
                tables.upsert_ignore(conn, tables.sync_receipt_due, source_node=source, period=period)
            ends: dict[tuple[str, int], int] = {}
            for record in records:
                ends[(record.topic, record.partition)] = max(
                    ends.get((record.topic, record.partition), 0), record.offset
                )
            for (topic, partition), offset in sorted(ends.items()):
                tables.set_offset(conn, topic, partition, offset + 1)
        if self.witnessing is not None:
            self.witnessing.flush()  # the answers decided in the transaction that just committed
        for outcome in outcomes:
            self.counts[outcome] = self.counts.get(outcome, 0) + 1
        return outcomes

    def _handle_all(self, conn: Connection, records: Sequence[Record]) -> list[str]:
        """The records' outcomes, in order: a witness message is answered where it comes (after the events before it
        are imported), valid events are imported together (``import_foreign_many``), refused records are sent to the
        dead-letter topic in their order."""
        outcomes = [""] * len(records)
        pending: list[tuple[int, Record, Origin]] = []
        letters: list[tuple[int, Rejected]] = []
        for index, record in enumerate(records):
            source = self.sources.get(record.topic, record.topic)
            message = self._message_type(record)
            if message is not None and self.witnessing is not None:
                self._import(conn, pending, outcomes, letters)
                with conn.begin_nested():
                    outcomes[index] = self.witnessing.handle(conn, record, message, source)
                continue
            try:
                event = decode_record(record, self.store.codec, self.types)
                if event.meta["node_id"] != source:
                    raise OriginMismatch(source, event.meta["node_id"], event.event_id)
                origin = _origin(record, source)
                self._check_origin(conn, record.value or b"", origin, event.event_id)
            except (DecodeError, OriginMismatch, OriginSignatureInvalid) as exc:
                letters.append((index, Rejected.of(record, "decode" if isinstance(exc, DecodeError) else "apply", exc)))
                outcomes[index] = exc.code
                continue
            pending.append((index, record, origin))
        self._import(conn, pending, outcomes, letters)
        for _, rejected in sorted(letters, key=lambda letter: letter[0]):
            self.dead_letter(rejected)
        return outcomes

    def _message_type(self, record: Record) -> str | None:
        """The full name of a witness message (None for anything else, left to the event path)."""
        try:
            fingerprint, _ = split_header(record.value or b"")
        except DecodeError:
            return None
        found = self.store.codec.catalog.by_fingerprint(fingerprint)
        return found.fullname if found is not None and found.fullname in MESSAGES else None

    def _check_origin(self, conn: Connection, body: bytes, origin: Origin, event_id: str) -> None:
        """Refuse an event whose origin proof fails with the origin's known, trusted key (unknown keys pass: verify
        checks them later)."""
        if origin.origin_signature is None or origin.origin_hash is None or self.witnessing is None:
            return
        try:
            proof = OriginProof.from_bytes(origin.origin_signature)
        except ValueError as exc:
            raise OriginSignatureInvalid(origin.source, event_id, f"malformed proof ({exc})") from exc
        key = self.witnessing.ring(conn).trusted(proof.seal.key_id, origin.source)
        if key is None:
            return
        wrong = proof.check(key.public, origin.source, body, origin.origin_hash)
        if wrong is not None:
            raise OriginSignatureInvalid(origin.source, event_id, wrong)

    def _import(
        self,
        conn: Connection,
        pending: list[tuple[int, Record, Origin]],
        outcomes: list[str],
        letters: list[tuple[int, Rejected]],
    ) -> None:
        """Import the ``pending`` events in one batch (and empty it): park the gaps, then record what each imported
        event brings and import the parked events that now follow it; a version held by another event is a
        ``STREAM_CONFLICT`` dead letter."""
        items = [
            Foreign(r.value or b"", o.source, o.origin_hash, o.origin_position, o.origin_signature)
            for _, r, o in pending
        ]
        results = self.store.import_foreign_many(conn, items) if items else []
        imported = []
        for (index, record, origin), result in zip(pending, results, strict=True):
            if isinstance(result, StreamConflict):
                letters.append((index, Rejected.of(record, "apply", result)))
                outcomes[index] = result.code
                continue
            outcomes[index] = result.outcome
            if result.outcome == GAP:
                self._park(conn, record.value or b"", origin, result)
            elif result.outcome == IMPORTED:
                imported.append((origin.source, result))
        for source, result in imported:
            self._imported(conn, result, source)
            if self._may_be_parked(conn):
                self._drain(conn, result.stream_id, result.stream_version)
        pending.clear()

    def _may_be_parked(self, conn: Connection) -> bool:
        """Whether an event may be parked (asked of the database once per poll; parking one in it says yes)."""
        if self._parked is None:
            self._parked = conn.execute(select(tables.sync_parked.c.event_id).limit(1)).first() is not None
        return self._parked

    def _imported(self, conn: Connection, result: ForeignImport, source: str) -> None:
        assert result.occurred_at is not None
        record_imported(conn, self.store.codec, self.types, result.stream_id, result.event_type)
        self._due.add((source, period_of(result.occurred_at, self.period)))  # recorded once per transaction

    def _park(self, conn: Connection, body: bytes, origin: Origin, result: ForeignImport) -> None:
        tables.upsert_ignore(
            conn,
            tables.sync_parked,
            event_id=result.event_id,
            stream_id=result.stream_id,
            stream_version=result.stream_version,
            source_node=origin.source,
            body=body,
            origin_hash=origin.origin_hash,
            origin_position=origin.origin_position,
            origin_signature=origin.origin_signature,
            parked_at=datetime.now(UTC),
        )
        self._parked = True
        log.info("parked until its stream catches up", extra={"event_id": result.event_id, "stream": result.stream_id})

    def _drain(self, conn: Connection, stream_id: str, version: int) -> None:
        """Import the parked events that now follow the stream's head, in version order."""
        parked = tables.sync_parked
        while True:
            row = conn.execute(
                select(parked).where(parked.c.stream_id == stream_id, parked.c.stream_version == version + 1)
            ).first()
            if row is None:
                return
            conn.execute(delete(parked).where(parked.c.event_id == row.event_id))
            try:
                with conn.begin_nested():
                    result = self.store.import_foreign(
                        conn, row.body, row.source_node, row.origin_hash, row.origin_position, row.origin_signature
                    )
            except StreamConflict as exc:  # its slot was taken meanwhile: it is reported, the stream stays as is
                log.error("parked event conflicts with its stream", extra={"event_id": row.event_id, "error": str(exc)})
                return
            if result.outcome == IMPORTED:
                self._imported(conn, result, row.source_node)
            version += 1

    def dead_letter(self, rejected: Rejected) -> None:
        """Send a rejected record to this node's dead-letter topic and wait for the broker's ack."""
        group = f"thidua-{self.topology.node_id}-sync"
        record = rejected.record
        future = self.producer.send(
            self.own.dead_letters, key=record.key, value=record.value, headers=dead_letter_headers(rejected, group)
        )
        self.producer.flush()
        future.get(timeout=0)
        log.warning(
            "sync dead letter",
            extra={
                "reason": rejected.code,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
            },
        )


def _origin(record: Record, source: str) -> Origin:
    headers = record.header_text()
    try:
        origin_hash = bytes.fromhex(headers.get(ORIGIN_HASH_HEADER, "")) or None
    except ValueError:
        origin_hash = None
    try:
        signature = base64.b64decode(headers.get(SIGNATURE_HEADER, ""), validate=True) or None
    except binascii.Error:
        signature = b"malformed"  # refused as ORIGIN_SIGNATURE when the origin's key is known
    return Origin(source, origin_hash, sequence_of(headers) or None, signature)
