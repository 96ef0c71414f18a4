"""Unit of work: one command's transaction, holding the store's append lock from its first read.

Because every append already serialises on that lock, reading streams and write-side lookups inside the same
transaction makes a command's checks race-free (no check-then-act window), and everything it writes —
events and lookups — commits or rolls back together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType

from sqlalchemy import Connection, insert, select

from .events import Event, decode_event
from .store import AppendResult, EventStore, NewEvent
from .tables import event as event_table
from .tables import lookup as lookup_table


class UnitOfWork:
    """Reads, appends and lookups of one command, atomically."""

    def __init__(self, store: EventStore, types: Mapping[str, type[Event]]) -> None:
        self.store = store
        self.types = types
        self.results: list[AppendResult] = []
        self._conn: Connection | None = None

    def __enter__(self) -> UnitOfWork:
        self._begin = self.store.engine.begin()
        self._conn = self._begin.__enter__()
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

    def stream(self, stream_id: str) -> list[Event]:
        """Decoded events of a stream, including those appended earlier in this unit of work."""
        rows = self.conn.execute(
            select(event_table.c.body, event_table.c.position)
            .where(event_table.c.stream_id == stream_id)
            .order_by(event_table.c.stream_version)
        ).all()
        return [decode_event(r.body, self.store.codec, self.types, r.position) for r in rows]

    def version(self, stream_id: str) -> int:
        """Current version of a stream in this transaction (0 when it does not exist)."""
        return self.store._version(self.conn, stream_id)

    def append(self, stream_id: str, expected_version: int | None, events: Sequence[NewEvent]) -> AppendResult:
        """Append in this transaction; VersionConflict if the stream moved."""
        result = self.store.append_in(self.conn, stream_id, expected_version, events)
        self.results.append(result)
        return result

    def lookup(self, kind: str, key: str) -> list[str]:
        """Refs recorded under (kind, key)."""
        rows = self.conn.execute(
            select(lookup_table.c.ref).where(lookup_table.c.kind == kind, lookup_table.c.key == key)
        )
        return [r.ref for r in rows]

    def record(self, kind: str, key: str, ref: str) -> None:
        """Record a lookup (committed with the events)."""
        self.conn.execute(insert(lookup_table).values(kind=kind, key=key, ref=ref))
