"""Replay from the store into shadow read models (same table definitions, ``shadow_`` prefix), with no side
effects: only the projections' ``apply`` runs (no message bus, no webhook reactor, no tracking record); compare
the shadows with the live tables; switch a shadow in atomically (``projections.bluegreen``: the blue/green switch
of new read-model versions). The shadow tables and the rewriting connection (``projections.shadow``) are shared
with the replay from Kafka (``kafka_replay``) and the as-of cache."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, select

from projections import versions
from projections.base import Projection
from projections.bluegreen import Builder
from projections.shadow import prepare_shadows, shadow_connection, shadow_metadata
from services.kernel.codec import AvroCodec
from services.kernel.events import Event, decode_event
from services.kernel.store import EventStore

PREFIX = "shadow_"


@dataclass
class ReplayResult:
    """What a replay applied."""

    projections: list[str]
    position: int = 0
    events: int = 0
    seconds: float = 0.0


def replay(
    engine: Engine,
    store: EventStore,
    codec: AvroCodec,
    types: dict[str, type[Event]],
    projections: Sequence[Projection],
    to_position: int | None = None,
    until: datetime | None = None,
    batch_size: int = 2000,  # a replay is a catch-up: the embedded tail's catch-up batch size
    progress: Callable[[int, int], None] | None = None,
    prefix: str = PREFIX,
) -> ReplayResult:
    """Rebuild the shadows of ``projections`` from the store's events up to a position or a recorded time."""
    started = datetime.now(UTC)
    result = ReplayResult([p.name for p in projections])
    prepare_shadows(engine, projections, prefix)
    with shadow_connection(engine, projections, prefix) as conn:
        after = 0
        while batch := store.read_all(after, batch_size):
            within = [s for s in batch if to_position is None or s.position <= to_position]
            stored = [s for s in within if until is None or s.recorded_at <= until]
            if stored:
                events = [decode_event(s.body, codec, types, s.position) for s in stored]
                with conn.begin():
                    for projection in projections:
                        projection.apply(conn, events)
                result.position = stored[-1].position
                result.events += len(stored)
            if progress is not None:
                progress(len(batch), batch[-1].position)
            if len(within) < len(batch):
                break
            after = batch[-1].position
    result.seconds = (datetime.now(UTC) - started).total_seconds()
    return result


@dataclass
class TableDiff:
    """A live table against its shadow: row counts, checksums and the keys that differ."""

    table: str
    live_rows: int
    shadow_rows: int
    live_checksum: str
    shadow_checksum: str
    differing_keys: list[Any] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        """Whether the shadow holds exactly the live rows."""
        return self.live_checksum == self.shadow_checksum


def compare(engine: Engine, projection: Projection, limit: int = 20) -> list[TableDiff]:
    """Every table of ``projection`` against its shadow (empty when the live tables hold another version: their
    rows are not comparable)."""
    shadow = shadow_metadata(projection, PREFIX)
    diffs = []
    with engine.connect() as conn:
        if not versions.current(versions.live_versions(conn, [projection.name]), projection):
            return []
        for table in projection.metadata.sorted_tables:
            live_rows = _keyed(conn, table)
            shadow_rows = _keyed(conn, shadow.tables[PREFIX + table.name])
            keys = sorted(k for k in live_rows.keys() | shadow_rows.keys() if live_rows.get(k) != shadow_rows.get(k))
            diffs.append(
                TableDiff(
                    table.name,
                    len(live_rows),
                    len(shadow_rows),
                    _checksum(live_rows),
                    _checksum(shadow_rows),
                    keys[:limit],
                )
            )
    return diffs


def _keyed(conn: Connection, table: Table) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    key = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
    rows = conn.execute(select(table)).mappings()
    return {tuple(_norm(r[k]) for k in key): tuple(_norm(r[c.name]) for c in table.columns) for r in rows}


def _norm(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _checksum(rows: dict[tuple[Any, ...], tuple[Any, ...]]) -> str:
    digest = hashlib.sha256()
    for key in sorted(rows, key=repr):
        digest.update(repr(rows[key]).encode())
    return digest.hexdigest()[:16]


def swap(builder: Builder, projection: Projection, position: int) -> int:
    """Switch the shadow in (``Builder.switch_in``): in one transaction under the store's append lock, the events
    after ``position`` are applied to it, it replaces the live tables (whatever version they held), and the runners
    carry on from the head; return that position. The read model never goes back in time."""
    return builder.switch_in(projection, PREFIX, position)
