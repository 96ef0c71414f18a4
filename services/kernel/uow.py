"""Unit of work: what a command handler may read and write, atomically (cosmicpython's pattern).

``AbstractUnitOfWork`` is the protocol handlers are written against; it has two implementations:

- ``UnitOfWork``: one command's database transaction. Everything it writes — events and lookups — commits or rolls
  back together, under the store's append lock (which gives the log its order, ``store.py``). It decides
  *optimistically* on PostgreSQL: the handler's reads run before the lock, and the unit of work notes what it read
  (each stream's version, each lookup's refs); its first write takes the lock and checks, in the same statement that
  reads the log's state for the append, that none of it moved — else ``StaleRead``, and the message bus decides the
  command again on the new state (``services.messagebus``). So the checks stay race-free (a decision is written only
  if what it was made on is still current when the lock is held: no check-then-act window) while concurrent commands
  read and decide in parallel, holding the lock only to write. ``optimistic=False`` takes the lock at the start, as
  SQLite always does (its write lock is taken at ``BEGIN IMMEDIATE``: a read transaction cannot be upgraded there
  once another writer committed).
- ``MemoryUnitOfWork`` over a ``MemoryLog``: the same reads and writes on an in-memory log, so the domain rules run
  as fast unit tests. Events go through the real codec (encoded with the store's own row builder, then decoded), so
  handlers read exactly what they read from the store; a unit of work that raises leaves the log as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol

from sqlalchemy import Connection, bindparam, insert, select

from .codec import AvroCodec
from .errors import DuplicateEventConflict, StaleRead, VersionConflict
from .eventlog import GENESIS_HASH
from .events import Event, decode_event
from .store import AppendResult, EventStore, NewEvent, encode_row, utcnow
from .tables import event as event_table
from .tables import lookup as lookup_table


class AbstractUnitOfWork(Protocol):
    """The reads and writes of one command; everything it writes commits or rolls back together."""

    def stream(self, stream_id: str) -> list[Event]:
        """Decoded events of a stream, including those appended earlier in this unit of work."""

    def version(self, stream_id: str) -> int:
        """Current version of a stream (0 when it does not exist)."""

    def append(self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]) -> AppendResult:
        """Append ``events`` if the stream is at ``expected_version`` (None: any), else VersionConflict."""

    def lookup(self, kind: str, key: str) -> list[str]:
        """Refs recorded under (kind, key)."""

    def record(self, kind: str, key: str, ref: str) -> None:
        """Record a lookup (committed with the events)."""


class UnitOfWork:
    """Reads, appends and lookups of one command, atomically, in one database transaction."""

    def __init__(self, store: EventStore, types: Mapping[str, type[Event]], *, optimistic: bool = True) -> None:
        self.store = store
        self.types = types
        self.optimistic = optimistic
        self.results: list[AppendResult] = []
        self._conn: Connection | None = None
        self._locked = False
        self._read: dict[str, int] = {}  # before the lock: stream → the version first read
        self._looked_up: dict[tuple[str, str], list[str]] = {}  # before the lock: (kind, key) → the refs first read

    def __enter__(self) -> UnitOfWork:
        self._begin = self.store.engine.begin()
        self._conn = self._begin.__enter__()
        self._locked = not (self.optimistic and self.store.postgres)  # SQLite: BEGIN IMMEDIATE holds the write lock
        if self._locked:
            self.store.lock(self._conn)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._begin.__exit__(kind, exc, tb)
        self._conn = None

    @property
    def conn(self) -> Connection:
        """The open connection (only inside ``with``)."""
        assert self._conn is not None, "UnitOfWork used outside its with-block"
        return self._conn

    @property
    def locked(self) -> bool:
        """Whether this unit of work holds the append lock (from its start, or since its first write)."""
        return self._locked

    def lock(self) -> None:
        """Take the append lock now (if not held) and check that what was read before it is still current: StaleRead
        if not. Writes call it; a guard that writes outside the event table first calls it too."""
        if not self._locked:
            if self._looked_up or not self._read:
                self._take_lock()
            if self._read:  # takes the lock if not held yet: on PostgreSQL in the same round trip as the check
                self.store.check_reads(self.conn, self._read)
            self._locked = True

    def _take_lock(self) -> None:
        """Take the lock now, and check the lookups read before it (after the lock: what it guards)."""
        self.store.lock(self.conn)
        self._locked = True
        for (kind, key), refs in self._looked_up.items():
            if sorted(now := self._lookup(kind, key)) != sorted(refs):
                raise StaleRead(f"lookup:{kind}:{key}", len(refs), len(now))

    def stream(self, stream_id: str) -> list[Event]:
        """Decoded events of a stream, including those appended earlier in this unit of work."""
        rows = self.conn.execute(_STREAM, {"stream_id": stream_id}).all()
        if not self._locked:
            self._read.setdefault(stream_id, rows[-1].stream_version if rows else 0)
        return [decode_event(r.body, self.store.codec, self.types, r.position) for r in rows]

    def version(self, stream_id: str) -> int:
        """Current version of a stream in this transaction (0 when it does not exist)."""
        version = self.store._version(self.conn, stream_id)
        if not self._locked:
            self._read.setdefault(stream_id, version)
        return version

    def append(self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]) -> AppendResult:
        """Append in this transaction; VersionConflict if the stream moved (StaleRead if a stream read before the
        lock did: checked in the append's own read of the log's state)."""
        if self._locked:
            result = self.store.append_in(self.conn, stream_id, expected_version, events)
        else:
            if self._looked_up:  # checked after the lock is taken, before the append
                self._take_lock()
            self._locked = True  # the append takes the lock, on PostgreSQL in its read of the log's state
            [result] = self.store.append_many(self.conn, [(stream_id, expected_version, events)], self._read)
        self.results.append(result)
        return result

    def lookup(self, kind: str, key: str) -> list[str]:
        """Refs recorded under (kind, key)."""
        refs = self._lookup(kind, key)
        if not self._locked:
            self._looked_up.setdefault((kind, key), refs)
        return refs

    def _lookup(self, kind: str, key: str) -> list[str]:
        return list(self.conn.execute(_LOOKUP, {"kind": kind, "key": key}).scalars())

    def record(self, kind: str, key: str, ref: str) -> None:
        """Record a lookup (committed with the events)."""
        self.lock()
        self.conn.execute(insert(lookup_table).values(kind=kind, key=key, ref=ref))


# the hot reads of every command, built once (SQLAlchemy then reuses their compiled form)
_STREAM = (
    select(event_table.c.body, event_table.c.position, event_table.c.stream_version)
    .where(event_table.c.stream_id == bindparam("stream_id"))
    .order_by(event_table.c.stream_version)
)
_LOOKUP = select(lookup_table.c.ref).where(
    lookup_table.c.kind == bindparam("kind"), lookup_table.c.key == bindparam("key")
)


class MemoryLog:
    """An event log and lookup table in memory, with the store's append rules: optimistic versions, idempotent
    repeats (the same event ids in the same stream), DuplicateEventConflict for a partial or cross-stream repeat."""

    def __init__(
        self, codec: AvroCodec, types: Mapping[str, type[Event]], node_id: str, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.codec = codec
        self.types = types
        self.node_id = node_id
        self.clock = clock
        self.streams: dict[str, list[Event]] = {}
        self.lookups: dict[tuple[str, str], list[str]] = {}
        self.placed: dict[str, tuple[str, int]] = {}  # event id -> (stream id, position)
        self.position = 0
        self.prev = GENESIS_HASH
        self._undo: list[Callable[[], None]] = []  # since begin(): how to take back each write

    def events(self) -> list[Event]:
        """Every event, in position order."""
        return sorted((e for events in self.streams.values() for e in events), key=lambda e: e.position)

    def stream(self, stream_id: str) -> list[Event]:
        """Decoded events of a stream."""
        return list(self.streams.get(stream_id, ()))

    def version(self, stream_id: str) -> int:
        """Current version of a stream (0 when it does not exist)."""
        return len(self.streams.get(stream_id, ()))

    def append(self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]) -> AppendResult:
        """Encode and decode ``events`` through the codec and keep them; the store's version and repeat rules."""
        held = [self.placed[e.event_id] for e in events if e.event_id in self.placed]
        version = self.version(stream_id)
        if held:
            if len(held) != len(events) or any(stream != stream_id for stream, _ in held):
                raise DuplicateEventConflict(sorted(e.event_id for e in events if e.event_id in self.placed))
            return AppendResult(stream_id, version, sorted(p for _, p in held), [e.event_id for e in events], True)
        if expected_version is not None and expected_version != version:
            raise VersionConflict(stream_id, expected_version, version)
        ids = [e.event_id for e in events]
        if len(set(ids)) != len(ids):
            raise DuplicateEventConflict(sorted({i for i in ids if ids.count(i) > 1}))
        recorded_at, before, start = self.clock().astimezone(UTC), self.prev, self.position
        prev = before
        decoded = []
        for offset, new in enumerate(events, start=1):
            row = encode_row(self.codec, self.node_id, stream_id, version + offset, new, prev, recorded_at)
            prev = row["hash"]
            decoded.append(decode_event(row["body"], self.codec, self.types, start + offset))
        kept = self.streams.setdefault(stream_id, [])
        kept += decoded
        self.placed.update((e.event_id, (stream_id, e.position)) for e in decoded)
        self.position, self.prev = start + len(decoded), prev
        self._undo.append(lambda: self._take_back(stream_id, len(decoded), start, before))
        return AppendResult(stream_id, version + len(decoded), [e.position for e in decoded], ids)

    def _take_back(self, stream_id: str, count: int, position: int, prev: bytes) -> None:
        kept = self.streams[stream_id]
        for event in kept[len(kept) - count :]:
            del self.placed[event.event_id]
        del kept[len(kept) - count :]
        if not kept:
            del self.streams[stream_id]
        self.position, self.prev = position, prev

    def lookup(self, kind: str, key: str) -> list[str]:
        """Refs recorded under (kind, key)."""
        return list(self.lookups.get((kind, key), ()))

    def record(self, kind: str, key: str, ref: str) -> None:
        """Record a lookup."""
        refs = self.lookups.setdefault((kind, key), [])
        refs.append(ref)

        def take_back() -> None:
            refs.pop()

        self._undo.append(take_back)

    def begin(self) -> None:
        """Start a unit of work: what follows can be taken back by ``rollback``."""
        self._undo.clear()

    def commit(self) -> None:
        """Keep what was written since ``begin``."""
        self._undo.clear()

    def rollback(self) -> None:
        """Take back, newest first, everything written since ``begin``."""
        while self._undo:
            self._undo.pop()()


class MemoryUnitOfWork:
    """One command's unit of work on a ``MemoryLog``: its writes are kept when the with-block ends normally and
    taken back when it raises (as the database transaction of ``UnitOfWork`` rolls back)."""

    def __init__(self, log: MemoryLog) -> None:
        self.log = log
        self.results: list[AppendResult] = []

    def __enter__(self) -> MemoryUnitOfWork:
        self.log.begin()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.log.commit()
        else:
            self.log.rollback()

    def stream(self, stream_id: str) -> list[Event]:
        """Decoded events of a stream, including those appended earlier in this unit of work."""
        return self.log.stream(stream_id)

    def version(self, stream_id: str) -> int:
        """Current version of a stream (0 when it does not exist)."""
        return self.log.version(stream_id)

    def append(self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]) -> AppendResult:
        """Append to the log; VersionConflict if the stream moved."""
        result = self.log.append(stream_id, expected_version, events)
        self.results.append(result)
        return result

    def lookup(self, kind: str, key: str) -> list[str]:
        """Refs recorded under (kind, key)."""
        return self.log.lookup(kind, key)

    def record(self, kind: str, key: str, ref: str) -> None:
        """Record a lookup (kept with the events)."""
        self.log.record(kind, key, ref)
