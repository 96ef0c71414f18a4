"""The event store: atomic, optimistically concurrent appends; reads by stream and by global position.

Ordering guarantee (why a tailing reader never misses an event): every append takes one store-wide lock for
the length of its transaction (``pg_advisory_xact_lock`` on PostgreSQL; SQLite's write lock, taken at
``BEGIN IMMEDIATE``). Positions are therefore allocated *and committed* in the same order, so when a reader
has seen position N, no transaction can later commit a position below N. Gaps (a rolled-back append burns a
sequence value) are harmless: readers never wait for a missing number. The same lock gives each event its
predecessor's hash without races. The cost is one writer at a time; appends are short and batched.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from .codec import AvroCodec
from .db import is_postgres
from .errors import DuplicateEventConflict, StreamConflict, VersionConflict
from .schemas import EVENT_NAMESPACE
from .tables import event as event_table
from .tables import foreign_event as foreign_table

GENESIS_HASH = bytes(32)
APPEND_LOCK_KEY = 0x7468_6964_7561  # "thidua": the PostgreSQL advisory lock that serialises appends
ANY_VERSION = None


def utcnow() -> datetime:
    """Current time in UTC (the store's default clock)."""
    return datetime.now(UTC)


def link_hash(prev_hash: bytes, body: bytes) -> bytes:
    """The hash that links an event to its predecessor: sha256(prev_hash || body)."""
    return hashlib.sha256(prev_hash + body).digest()


@dataclass(frozen=True)
class NewEvent:
    """An event to append: its type, payload (all fields but ``meta``) and envelope facts."""

    event_type: str
    payload: Mapping[str, Any]
    org_unit: Mapping[str, Any]
    actor: Mapping[str, Any]
    occurred_at: datetime
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    correlation_id: str | None = None
    causation_id: str | None = None


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored, with its global position and hash link."""

    position: int
    event_id: str
    stream_id: str
    stream_version: int
    event_type: str
    schema_fingerprint: bytes
    occurred_at: datetime
    recorded_at: datetime
    org_unit_path: str
    node_id: str
    actor_id: str
    correlation_id: str | None
    causation_id: str | None
    body: bytes
    prev_hash: bytes
    hash: bytes


Append = tuple[str, int | None, Sequence["NewEvent"]]  # (stream id, expected version or None, events)


@dataclass(frozen=True)
class AppendResult:
    """Positions written (or found, for an idempotent repeat) and the stream's version afterwards."""

    stream_id: str
    version: int
    positions: list[int]
    event_ids: list[str]
    duplicate: bool = False


class EventStore:
    """Append-only event store on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine, codec: AvroCodec, node_id: str, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.codec = codec
        self.node_id = node_id
        self.clock = clock
        self._postgres = is_postgres(engine)

    def append(self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]) -> AppendResult:
        """Append ``events`` to ``stream_id`` atomically if it is at ``expected_version`` (None: any)."""
        with self.engine.begin() as conn:
            return self.append_in(conn, stream_id, expected_version, events)

    def append_in(
        self, conn: Connection, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]
    ) -> AppendResult:
        """``append`` inside the caller's transaction (e.g. with an idempotency record)."""
        return self.append_many(conn, [(stream_id, expected_version, events)])[0]

    def append_many(self, conn: Connection, batch: Sequence[Append]) -> list[AppendResult]:
        """Several appends in the caller's transaction with one lock, one id check, one version query, one read of
        the head hash and one insert; any conflict fails the whole batch. Each item is (stream, expected, events)."""
        self.lock(conn)
        repeats = self._repeats(conn, batch)
        versions = self._versions(conn, {stream for stream, _, _ in batch})
        prev = conn.execute(select(event_table.c.hash).order_by(event_table.c.position.desc()).limit(1)).scalar()
        prev = prev or GENESIS_HASH
        rows: list[dict[str, Any]] = []
        spans: list[tuple[str, int, int] | AppendResult] = []  # (stream, first row, version after) or a repeat
        for index, (stream_id, expected_version, events) in enumerate(batch):
            if index in repeats:
                spans.append(repeats[index])
                continue
            version = versions.get(stream_id, 0)
            if expected_version is not None and expected_version != version:
                raise VersionConflict(stream_id, expected_version, version)
            first = len(rows)
            for offset, new in enumerate(events, start=1):
                rows.append(self._row(stream_id, version + offset, new, prev))
                prev = rows[-1]["hash"]
            versions[stream_id] = version + len(events)
            spans.append((stream_id, first, versions[stream_id]))
        positions = self._insert(conn, rows)
        return [
            span if isinstance(span, AppendResult) else _result(span, rows, positions, batch[i][2])
            for i, span in enumerate(spans)
        ]

    def _insert(self, conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
        if not rows:
            return []
        try:
            result = conn.execute(
                insert(event_table).returning(event_table.c.position, sort_by_parameter_order=True), rows
            )
        except IntegrityError as exc:  # backstop: the unique (stream_id, stream_version) index
            stream_id = rows[0]["stream_id"]
            raise VersionConflict(stream_id, rows[0]["stream_version"] - 1, self._version(conn, stream_id)) from exc
        return list(result.scalars())

    def lock(self, conn: Connection) -> None:
        """Take the store-wide append lock for the rest of ``conn``'s transaction (re-entrant)."""
        if self._postgres:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({APPEND_LOCK_KEY})")
        # SQLite: the engine began this transaction with BEGIN IMMEDIATE, which holds the write lock.

    def _repeats(self, conn: Connection, batch: Sequence[Append]) -> dict[int, AppendResult]:
        """Items whose events are all stored already (an idempotent repeat); a partial repeat is a conflict."""
        ids = [e.event_id for _, _, events in batch for e in events]
        if not ids:
            return {}
        c = event_table.c
        found = {
            r.event_id: r
            for r in conn.execute(
                select(c.event_id, c.stream_id, c.position, c.stream_version).where(c.event_id.in_(ids))
            )
        }
        repeats = {}
        for index, (stream_id, _, events) in enumerate(batch):
            held = [found[e.event_id] for e in events if e.event_id in found]
            if not held:
                continue
            if len(held) != len(events) or any(r.stream_id != stream_id for r in held):
                raise DuplicateEventConflict(sorted(r.event_id for r in held))
            held.sort(key=lambda r: r.position)
            repeats[index] = AppendResult(
                stream_id,
                self._version(conn, stream_id),
                [r.position for r in held],
                [r.event_id for r in held],
                duplicate=True,
            )
        return repeats

    @staticmethod
    def _versions(conn: Connection, streams: set[str]) -> dict[str, int]:
        """Current version of each stream that exists."""
        c = event_table.c
        query = select(c.stream_id, func.max(c.stream_version)).where(c.stream_id.in_(streams)).group_by(c.stream_id)
        return {str(row[0]): int(row[1]) for row in conn.execute(query)}

    @staticmethod
    def _version(conn: Connection, stream_id: str) -> int:
        query = select(func.coalesce(func.max(event_table.c.stream_version), 0))
        return int(conn.execute(query.where(event_table.c.stream_id == stream_id)).scalar_one())

    def _row(self, stream_id: str, version: int, new: NewEvent, prev_hash: bytes) -> dict[str, Any]:
        recorded_at = self.clock().astimezone(UTC)
        occurred_at = _aware(new.occurred_at)
        meta = {
            "event_id": new.event_id,
            "stream_id": stream_id,
            "stream_version": version,
            "occurred_at": occurred_at,
            "recorded_at": recorded_at,
            "node_id": self.node_id,
            "org_unit": dict(new.org_unit),
            "actor": dict(new.actor),
            "correlation_id": new.correlation_id,
            "causation_id": new.causation_id,
        }
        schema = self.codec.catalog.current(f"{EVENT_NAMESPACE}.{new.event_type}")
        body = self.codec.encode_with(schema, {"meta": meta, **new.payload})
        return {
            "event_id": new.event_id,
            "stream_id": stream_id,
            "stream_version": version,
            "event_type": new.event_type,
            "schema_fingerprint": schema.fingerprint,
            "occurred_at": occurred_at,
            "recorded_at": recorded_at,
            "org_unit_path": new.org_unit["path"],
            "node_id": self.node_id,
            "actor_id": new.actor["actor_id"],
            "correlation_id": new.correlation_id,
            "causation_id": new.causation_id,
            "body": body,
            "prev_hash": prev_hash,
            "hash": link_hash(prev_hash, body),
        }

    def read_stream(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
        """Events of one stream after ``after_version``, in version order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(event_table)
                .where(event_table.c.stream_id == stream_id, event_table.c.stream_version > after_version)
                .order_by(event_table.c.stream_version)
            ).all()
        return [_stored(r) for r in rows]

    def read_all(
        self,
        after_position: int = 0,
        limit: int = 1000,
        conn: Connection | None = None,
        *,
        under: str | None = None,
        types: Sequence[str] | None = None,
    ) -> list[StoredEvent]:
        """Up to ``limit`` events after ``after_position``, in global order (safe for tailing); optionally only
        events of org units in the subtree ``under`` and of the event ``types``."""
        query = select(event_table).where(event_table.c.position > after_position)
        if under is not None:
            path = event_table.c.org_unit_path
            query = query.where(or_(path == under, path.startswith(under + "/", autoescape=True)))
        if types is not None:
            query = query.where(event_table.c.event_type.in_(list(types)))
        query = query.order_by(event_table.c.position).limit(limit)
        if conn is not None:
            return [_stored(r) for r in conn.execute(query)]
        with self.engine.connect() as own:
            return [_stored(r) for r in own.execute(query)]

    def head_position(self) -> int:
        """The highest committed position (0 when empty)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(event_table.c.position), 0))).scalar_one())

    def stream_version(self, stream_id: str) -> int:
        """Current version of a stream (0 when it does not exist)."""
        with self.engine.connect() as conn:
            return self._version(conn, stream_id)

    # Import of events written by other nodes (issue 7, services/sync).

    def import_foreign(
        self,
        conn: Connection,
        body: bytes,
        source_node: str,
        origin_hash: bytes | None = None,
        origin_position: int | None = None,
    ) -> ForeignImport:
        """Append another node's event with its original bytes, event id, stream id and version, origin node and
        business time, inside the caller's transaction. The local hash chain links it at a local position; the
        origin's hash and position are kept in ``foreign_event``. Idempotent by event id; a version that is taken
        by another event raises StreamConflict; a version ahead of the stream returns GAP and writes nothing."""
        self.lock(conn)
        row = foreign_row(self.codec, body)
        stream_id, version, event_id = row["stream_id"], row["stream_version"], row["event_id"]

        def found(outcome: str, position: int | None = None) -> ForeignImport:
            return ForeignImport(outcome, event_id, stream_id, version, row["node_id"], position)

        held = conn.execute(
            select(event_table.c.position, event_table.c.stream_id, event_table.c.stream_version).where(
                event_table.c.event_id == event_id
            )
        ).first()
        if held is not None:
            if (held.stream_id, held.stream_version) != (stream_id, version):
                raise StreamConflict(stream_id, version, event_id, f"{held.stream_id}@{held.stream_version}")
            return found(DUPLICATE, held.position)
        current = self._version(conn, stream_id)
        if version > current + 1:
            return found(GAP)
        if version <= current:
            other = conn.execute(
                select(event_table.c.event_id).where(
                    event_table.c.stream_id == stream_id, event_table.c.stream_version == version
                )
            ).scalar()
            raise StreamConflict(stream_id, version, event_id, other)
        prev = conn.execute(select(event_table.c.hash).order_by(event_table.c.position.desc()).limit(1)).scalar()
        row["prev_hash"] = prev or GENESIS_HASH
        row["hash"] = link_hash(row["prev_hash"], body)
        position: int = conn.execute(insert(event_table).returning(event_table.c.position), [row]).scalar_one()
        conn.execute(
            insert(foreign_table).values(
                event_id=event_id,
                position=position,
                origin_node=row["node_id"],
                source_node=source_node,
                origin_position=origin_position,
                origin_hash=origin_hash,
                imported_at=self.clock().astimezone(UTC),
            )
        )
        return found(IMPORTED, position)

    def first_event(self, conn: Connection, stream_id: str) -> StoredEvent | None:
        """The first event of ``stream_id`` with its origin node (None when the stream is not here)."""
        c = event_table.c
        row = conn.execute(select(event_table).where(c.stream_id == stream_id, c.stream_version == 1)).first()
        return _stored(row) if row is not None else None


def _result(
    span: tuple[str, int, int], rows: list[dict[str, Any]], positions: list[int], events: Sequence[NewEvent]
) -> AppendResult:
    stream_id, first, version = span
    last = first + len(events)
    return AppendResult(stream_id, version, positions[first:last], [r["event_id"] for r in rows[first:last]])


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("event times must be timezone-aware")
    return moment.astimezone(UTC)


def _stored(row: Any) -> StoredEvent:
    data = row._asdict()
    for key in ("occurred_at", "recorded_at"):
        if data[key].tzinfo is None:  # SQLite returns naive datetimes; the store writes UTC
            data[key] = data[key].replace(tzinfo=UTC)
    return StoredEvent(**data)


# --- Import of events written by other nodes (issue 7: sync between levels) -------------------------------------

IMPORTED, DUPLICATE, GAP = "IMPORTED", "DUPLICATE", "GAP"


@dataclass(frozen=True)
class ForeignImport:
    """What ``import_foreign`` did with one event: IMPORTED (at ``position``), DUPLICATE (already held at
    ``position``) or GAP (its stream lacks the previous version here: the caller parks it and retries)."""

    outcome: str
    event_id: str
    stream_id: str
    stream_version: int
    origin_node: str
    position: int | None = None


def foreign_row(codec: AvroCodec, body: bytes) -> dict[str, Any]:
    """The ``event`` row of another node's event, read from its body (meta), before the local hash link."""
    decoded = codec.decode(body)
    meta = decoded.datum["meta"]
    return {
        "event_id": meta["event_id"],
        "stream_id": meta["stream_id"],
        "stream_version": int(meta["stream_version"]),
        "event_type": decoded.name,
        "schema_fingerprint": decoded.writer_fingerprint,
        "occurred_at": _aware(meta["occurred_at"]),
        "recorded_at": _aware(meta["recorded_at"]),
        "org_unit_path": meta["org_unit"]["path"],
        "node_id": meta["node_id"],
        "actor_id": meta["actor"]["actor_id"],
        "correlation_id": meta.get("correlation_id"),
        "causation_id": meta.get("causation_id"),
        "body": body,
    }
