"""Replay from the store into shadow read models (same table definitions, ``shadow_`` prefix), with no side
effects: only the projections' ``apply`` runs (no message bus, no webhook reactor, no tracking record); compare
the shadows with the live tables; swap a shadow in atomically (one transaction). The shadow tables, the rewriting
connection, compare and promote are shared with the replay from Kafka (``kafka_replay``)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, Table, delete, event, insert, select
from sqlalchemy.sql.elements import conv

from projections import tracking
from projections.base import Projection
from services.kernel.codec import AvroCodec
from services.kernel.db import new_metadata
from services.kernel.events import Event, decode_event
from services.kernel.store import EventStore

PREFIX = "shadow_"
_OPTION = "thidua_shadow_tables"


def shadow_metadata(projection: Projection, prefix: str = PREFIX) -> MetaData:
    """Copies of the projection's tables named ``<prefix><name>`` (indexes and constraints renamed alike)."""
    shadow = new_metadata()
    for table in projection.metadata.sorted_tables:
        shadow_table(table, shadow, prefix)
    return shadow


def shadow_table(table: Table, metadata: MetaData, prefix: str = PREFIX) -> Table:
    """A copy of ``table`` in ``metadata`` named ``<prefix><name>``, its indexes and constraints renamed alike."""
    copy = table.to_metadata(metadata, name=prefix + table.name)
    for item in [*copy.indexes, *copy.constraints]:  # names are per schema: keep the copies' apart
        name = getattr(item, "name", None)
        if isinstance(name, str) and not name.startswith(prefix):
            item.name = conv(_prefixed(prefix, name))  # type: ignore[attr-defined]
    return copy


def _prefixed(prefix: str, name: str) -> str:
    """``ix_x`` → ``ix_<prefix>x``; a name the naming convention already derived from the prefixed table stays."""
    kind, _, rest = name.partition("_")
    if kind not in ("ix", "uq", "pk", "ck", "fk"):
        return prefix + name
    return name if rest.startswith(prefix) else f"{kind}_{prefix}{rest}"


def _install_rewrite(engine: Engine) -> None:
    """Once per engine: a connection with the execution option ``(pattern, prefix)`` rewrites its statements'
    table names."""
    if getattr(engine, "_thidua_shadow_rewrite", False):
        return

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _rewrite(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> Any:
        option = conn.get_execution_options().get(_OPTION)
        if option is not None:
            pattern, prefix = option
            statement = pattern.sub(lambda m: prefix + m.group(0), statement)
        return statement, params

    engine._thidua_shadow_rewrite = True  # type: ignore[attr-defined]


def shadow_connection(engine: Engine, projections: Sequence[Projection], prefix: str = PREFIX) -> Connection:
    """A connection on which the projections' own SQL reads and writes their ``<prefix>`` shadow tables."""
    _install_rewrite(engine)
    names = sorted({t.name for p in projections for t in p.metadata.sorted_tables}, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w.])(?:" + "|".join(map(re.escape, names)) + r")\b")
    return engine.connect().execution_options(**{_OPTION: (pattern, prefix)})


def prepare_shadows(engine: Engine, projections: Sequence[Projection], prefix: str = PREFIX) -> None:
    """Empty shadow tables for ``projections`` (dropped and created again), with their reference rows."""
    for projection in projections:
        shadow = shadow_metadata(projection, prefix)
        with engine.begin() as conn:
            shadow.drop_all(conn)
            shadow.create_all(conn)
    with shadow_connection(engine, projections, prefix) as conn:
        for projection in projections:
            with conn.begin():
                projection.setup(conn)


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
    """Every table of ``projection`` against its shadow."""
    shadow = shadow_metadata(projection)
    diffs = []
    with engine.connect() as conn:
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


def swap(engine: Engine, projection: Projection, position: int) -> None:
    """Promote the shadow in one transaction: the live rows become the shadow's, the projection's tracking
    position becomes ``position`` (the replay's last), and the shadow tables are dropped. Stop the projection's
    tail or worker first, or let it continue from ``position``."""
    with engine.begin() as conn:
        promote(conn, projection)
        tracking.set_position(conn, projection.name, position)


def promote(conn: Connection, projection: Projection, prefix: str = PREFIX) -> None:
    """In the caller's transaction: replace the live rows of ``projection`` by its shadow's; drop the shadow."""
    shadow = shadow_metadata(projection, prefix)
    tables = projection.metadata.sorted_tables
    for table in reversed(tables):
        conn.execute(delete(table))
    for table in tables:
        source = shadow.tables[prefix + table.name]
        columns = [c.name for c in table.columns]
        conn.execute(insert(table).from_select(columns, select(*[source.c[n] for n in columns])))
    shadow.drop_all(conn)


def drop_shadows(engine: Engine, projection: Projection, prefix: str = PREFIX) -> None:
    """Remove the projection's shadow tables."""
    with engine.begin() as conn:
        shadow_metadata(projection, prefix).drop_all(conn)
