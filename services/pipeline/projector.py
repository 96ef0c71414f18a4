"""The Kafka runner's core: decode a batch of records and apply it to every projection in one transaction.

Exactly-once effect over at-least-once delivery, without store positions:
- per projection and partition, the last applied offset is written in the same transaction as the rows; a
  record at or below it is a redelivery (Kafka's committed offset lags the database after a crash) and is skipped;
- per projection, the ids of applied events are written in the same transaction (claimed: inserted unless there,
  in one statement); an event id there before is a duplicate the relay published twice (at another offset) and is
  skipped;
- the offset rows are locked for the transaction, so two workers that briefly both own a partition during a
  rebalance apply it one after the other, the second seeing the first one's offsets.

This module is synchronous (SQLAlchemy); the Faust worker runs it in a thread so the event loop never blocks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from projections import tracking, versions
from projections.base import Projection
from services.kernel.codec import AvroCodec
from services.kernel.errors import DecodeError
from services.kernel.events import Event

from .deadletters import Record, Rejected, decode_record

Excluded = frozenset[tuple[str, str, int, int]]  # (projection, topic, partition, offset) not to apply


@dataclass(frozen=True)
class Decoded:
    """A record and the event it carries."""

    record: Record
    event: Event


@dataclass
class Applied:
    """What one transaction did: events applied per projection, and rejections found (isolation pass only)."""

    events: dict[str, int] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)


def is_transient(exc: BaseException) -> bool:
    """Whether a failure is the database being away (retry the batch) rather than a bad event (dead letter)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def types_read(projection: Projection, types: Mapping[str, type[Event]]) -> frozenset[type[Event]] | None:
    """The event classes ``projection`` reads (its ``event_types``, as a rebuild reads them), None when it does not
    say: the other events change nothing in it, so they are neither applied nor recorded as applied."""
    names = getattr(projection, "event_types", None)
    return None if names is None else frozenset(cls for name, cls in types.items() if name in names)


class KafkaProjector:
    """Applies batches of consumed records to projections, with offsets and event ids in the same transaction."""

    def __init__(
        self,
        engine: Engine,
        codec: AvroCodec,
        types: Mapping[str, type[Event]],
        projections: Sequence[Projection],
    ) -> None:
        self.engine = engine
        self.codec = codec
        self.types = types
        self.projections = list(projections)
        self.versions = {p.name: versions.code_version(p) for p in self.projections}
        self.reads = {p.name: types_read(p, types) for p in self.projections}

    def decode(self, records: Sequence[Record]) -> tuple[list[Decoded], list[Rejected]]:
        """Decode every record; those that cannot be decoded are rejected (stage ``decode``)."""
        decoded, rejected = [], []
        for record in records:
            try:
                decoded.append(Decoded(record, decode_record(record, self.codec, self.types)))
            except DecodeError as exc:
                rejected.append(Rejected.of(record, "decode", exc))
        return decoded, rejected

    def apply(self, decoded: Sequence[Decoded], records: Sequence[Record], excluded: Excluded = frozenset()) -> Applied:
        """Apply ``decoded`` (minus ``excluded``) and advance the offsets past all ``records``; commit."""
        with self.engine.begin() as conn:
            return self._apply_in(conn, decoded, records, excluded, isolate=False)

    def find_rejections(self, decoded: Sequence[Decoded], records: Sequence[Record]) -> list[Rejected]:
        """Apply event by event under savepoints to find those a projection refuses; roll everything back."""
        with self.engine.connect() as conn:
            tx = conn.begin()
            try:
                return self._apply_in(conn, decoded, records, frozenset(), isolate=True).rejected
            finally:
                tx.rollback()

    def _apply_in(
        self,
        conn: Connection,
        decoded: Sequence[Decoded],
        records: Sequence[Record],
        excluded: Excluded,
        isolate: bool,
    ) -> Applied:
        last: dict[tuple[str, int], int] = {}
        for record in records:
            last[record.tp] = max(record.offset, last.get(record.tp, -1))
        result = Applied()
        names = [p.name for p in self.projections]
        recorded = tracking.lock_kafka_offsets(conn, names, last)
        live = versions.live_versions(conn, names)  # after the lock: a switch is either before it or after us
        active = [p for p in self.projections if versions.current(live, p, self.versions[p.name])]
        candidates = {
            name: self._candidates(name, decoded, recorded, excluded, live[name].built_through, self.reads[name])
            for name in (p.name for p in active)
        }
        ids = {n: [d.event.event_id for d in ds] for n, ds in candidates.items()}
        applied_before = tracking.claim_event_ids(conn, ids)
        moves = []
        for projection in active:  # a read model at another version waits for its blue/green build
            name = projection.name
            fresh = [d for d in candidates[name] if (name, d.event.event_id) not in applied_before]
            if isolate:
                result.rejected += self._isolate(conn, projection, fresh)
            elif fresh:
                projection.apply(conn, [d.event for d in fresh])
            counts = Counter(d.record.tp for d in fresh)
            moves += [(name, *tp, o, counts[tp]) for tp, o in last.items() if o > recorded[(name, *tp)]]
            result.events[name] = len(fresh)
        tracking.advance_offsets(conn, moves)
        return result

    @staticmethod
    def _candidates(
        name: str,
        decoded: Sequence[Decoded],
        recorded: Mapping[tuple[str, str, int], int],
        excluded: Excluded,
        built_through: int = 0,
        reads: frozenset[type[Event]] | None = None,
    ) -> list[Decoded]:
        """Records past the recorded offsets, not excluded, above the store position a blue/green build had applied,
        of a type the projection reads (``reads``; None: every type), first copy of each event id in the batch;
        those whose ids the projection has not applied are fresh."""
        candidates, ids = [], set()
        for d in decoded:
            if reads is not None and d.event.__class__ not in reads:
                continue
            position = (name, *d.record.tp)
            if d.record.offset <= recorded[position] or (*position, d.record.offset) in excluded:
                continue
            if d.event.position <= built_through or d.event.event_id in ids:
                continue
            ids.add(d.event.event_id)
            candidates.append(d)
        return candidates

    @staticmethod
    def _isolate(conn: Connection, projection: Projection, fresh: Sequence[Decoded]) -> list[Rejected]:
        rejected = []
        for d in fresh:
            try:
                with conn.begin_nested():
                    projection.apply(conn, [d.event])
            except Exception as exc:  # a projection refusing one event: that event becomes a dead letter
                if is_transient(exc):
                    raise
                rejected.append(Rejected.of(d.record, "apply", exc, projection.name))
        return rejected

    def resume_offsets(self, partitions: Sequence[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """Per partition, the next offset every projection at the code's version still needs (0 where one has
        none); a read model being rebuilt blue/green gets its offsets when it is switched in."""
        with self.engine.connect() as conn:
            recorded = tracking.get_kafka_offsets(conn)
            live = versions.live_versions(conn)
        active = [p for p in self.projections if versions.current(live, p, self.versions[p.name])] or self.projections
        return {tp: min(recorded.get((p.name, *tp), -1) + 1 for p in active) if active else 0 for tp in partitions}
