"""The event table's append path, below ``EventStore``: one read of the log's state and one bulk write.

Callers hold the store-wide append lock (see ``store.py``), so nothing moves between the read and the write.
Positions come from the table's own counter, whichever way a row is written, so every insert path agrees:
on PostgreSQL the ``position`` sequence (small batches take ``nextval`` as the column default; bulk batches
reserve a range with one ``setval(nextval + n - 1)`` and COPY the rows with their positions); on SQLite the
AUTOINCREMENT counter (``sqlite_sequence``), which an explicit position advances. A rolled-back PostgreSQL
append burns its numbers (a gap); a position is never given twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import BigInteger, Connection, DateTime, Dialect, Integer, LargeBinary, String, Table, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeEngine

from .tables import event as event_table

GENESIS_HASH = bytes(32)
COPY_FROM_ROWS = 8  # PostgreSQL: batches of at least this many rows go through COPY (below, INSERT is cheaper)
COLUMNS = tuple(c.name for c in event_table.columns)  # position first, then the columns of a row
_ROW_VALUES = itemgetter(*COLUMNS[1:])  # a row dict's values in COLUMNS order (without position)
_COPY = f"COPY event ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"

# One statement reads the three facts an append needs: which of its event ids are stored already, the version of
# each of its streams (NULL: new; one index probe per stream, however long), and the head (hash and, on SQLite,
# the highest position ever given). The head comes first: PostgreSQL types a UNION's columns from its branches
# in order. The lists arrive as one array (PostgreSQL) or one JSON text (SQLite): no statement per batch size.
_STATE = """
SELECT 2 AS part, NULL AS event_id, NULL AS stream_id, {last} AS position, NULL AS stream_version,
       (SELECT hash FROM event ORDER BY position DESC LIMIT 1) AS hash
UNION ALL
SELECT 0, event_id, stream_id, position, stream_version, NULL FROM event WHERE event_id {ids}
UNION ALL
SELECT 1, NULL, s.stream_id, NULL, (SELECT max(stream_version) FROM event WHERE stream_id = s.stream_id), NULL
  FROM {streams}
"""
_STATE_POSTGRES = text(
    _STATE.format(
        last="0",
        ids="= ANY(CAST(:ids AS VARCHAR[]))",
        streams="unnest(CAST(:streams AS VARCHAR[])) AS s (stream_id)",
    )
)
_STATE_SQLITE = text(
    _STATE.format(
        last="max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'event'), 0),"
        " coalesce((SELECT max(position) FROM event), 0))",
        ids="IN (SELECT value FROM json_each(:ids))",
        streams="(SELECT value AS stream_id FROM json_each(:streams)) AS s",
    )
)
# PostgreSQL, the lock and the state in one round trip: the two statements go out together in a pipeline. The state
# is its own statement, so (READ COMMITTED) its snapshot is taken after the lock is granted and it sees every append
# committed before; one SELECT that called the lock in itself would read with a snapshot taken before the wait.
_STATE_PIPELINE = _STATE.format(
    last="0", ids="= ANY(%(ids)s :: VARCHAR[])", streams="unnest(%(streams)s :: VARCHAR[]) AS s (stream_id)"
)
_INSERT_RETURNING = insert(event_table).returning(event_table.c.position, sort_by_parameter_order=True)
_RESERVE = text(
    "SELECT setval(pg_get_serial_sequence('event', 'position'),"
    " nextval(pg_get_serial_sequence('event', 'position')) + :n - 1)"
)


@dataclass(frozen=True)
class Held:
    """An event that is stored already: where it is."""

    event_id: str
    stream_id: str
    position: int
    stream_version: int


@dataclass
class LogState:
    """What an append reads under the lock: stored events among its ids, its streams' versions, the head."""

    held: dict[str, Held]
    versions: dict[str, int]
    head_hash: bytes
    last_position: int  # SQLite: the highest position ever given; PostgreSQL: 0 (its sequence knows)


def read_state(conn: Connection, postgres: bool, event_ids: Iterable[str], stream_ids: Iterable[str]) -> LogState:
    """The log's state for an append of ``event_ids`` to ``stream_ids``, in one statement."""
    if postgres:
        found: Any = conn.execute(_STATE_POSTGRES, {"ids": list(event_ids), "streams": list(stream_ids)})
    else:
        lists = {"ids": json.dumps(list(event_ids)), "streams": json.dumps(list(stream_ids))}
        found = conn.execute(_STATE_SQLITE, lists)
    return _state(found)


def lock_and_read_state(conn: Connection, lock: str, event_ids: Iterable[str], stream_ids: Iterable[str]) -> LogState:
    """PostgreSQL: run ``lock`` (the append lock's statement) and read the log's state after it, in one round trip."""
    driver: Any = conn.connection.driver_connection
    failure = conn.dialect.loaded_dbapi.Error
    params = {"ids": list(event_ids), "streams": list(stream_ids)}
    try:
        with driver.pipeline(), driver.cursor() as locking, driver.cursor() as reading:
            locking.execute(lock)
            reading.execute(_STATE_PIPELINE, params)
            found = reading.fetchall()  # the pipeline's sync: both statements' results
    except failure as exc:
        raise DBAPIError.instance(lock, None, exc, failure, dialect=conn.dialect) from exc
    return _state(found)


def _state(found: Iterable[Any]) -> LogState:
    state = LogState({}, {}, GENESIS_HASH, 0)
    for part, event_id, stream_id, position, version, head_hash in found:
        if part == 0:
            state.held[event_id] = Held(event_id, stream_id, int(position), int(version))
        elif part == 1:
            if version is not None:
                state.versions[stream_id] = int(version)
        else:
            state.head_hash = bytes(head_hash) if head_hash is not None else GENESIS_HASH
            state.last_position = int(position)
    return state


def write_rows(conn: Connection, postgres: bool, rows: Sequence[dict[str, Any]], state: LogState) -> list[int]:
    """Insert ``rows`` (hash-linked, in order) and return their positions, ascending in row order; raises
    IntegrityError when a unique key is taken (a writer that bypassed the lock)."""
    if not rows:
        return []
    if not postgres:
        first = state.last_position + 1
        _executemany(conn, [(first + i, *values) for i, values in enumerate(_values(conn.dialect, rows))])
        state.last_position += len(rows)
        return list(range(first, first + len(rows)))
    if len(rows) < COPY_FROM_ROWS:
        return list(conn.execute(_INSERT_RETURNING, list(rows)).scalars())
    last = int(conn.execute(_RESERVE, {"n": len(rows)}).scalar_one())
    first = last - len(rows) + 1
    _copy(conn, [(first + i, *_ROW_VALUES(row)) for i, row in enumerate(rows)])
    return list(range(first, last + 1))


def _values(dialect: Dialect, rows: Iterable[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
    """The rows' values in ``COLUMNS`` order (without position), as the dialect's column types bind them."""
    processors = [(i, _binder(event_table.c[name].type, dialect)) for i, name in enumerate(COLUMNS[1:])]
    processed = [(i, process) for i, process in processors if process is not None]
    for row in rows:
        value = list(_ROW_VALUES(row))
        for index, process in processed:
            value[index] = process(value[index])
        yield tuple(value)


def _binder(kind: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    return kind.dialect_impl(dialect).bind_processor(dialect)


def copy_types(table: Table = event_table) -> list[str]:
    """PostgreSQL type names of ``table``'s columns, for a binary COPY."""
    names = []
    for column in table.columns:
        kind = column.type
        if isinstance(kind, Integer):
            names.append("int8" if isinstance(kind, BigInteger) else "int4")
        elif isinstance(kind, String):
            names.append("varchar")
        elif isinstance(kind, LargeBinary):
            names.append("bytea")
        elif isinstance(kind, DateTime):
            names.append("timestamptz" if kind.timezone else "timestamp")
        else:
            raise TypeError(f"no COPY type for {table.name}.{column.name}: {kind!r}")
    return names


_COPY_TYPES = copy_types()


def _executemany(conn: Connection, values: list[tuple[Any, ...]]) -> None:
    """SQLite: one executemany of positional rows, past SQLAlchemy's per-row parameter handling."""
    marks = ", ".join("?" for _ in COLUMNS)
    conn.exec_driver_sql(f"INSERT INTO event ({', '.join(COLUMNS)}) VALUES ({marks})", values)


def _copy(conn: Connection, values: list[tuple[Any, ...]]) -> None:
    """COPY rows into ``event`` on the connection's own psycopg connection, inside its transaction; the driver's
    errors come out as SQLAlchemy's (a taken unique key: IntegrityError), as for any other statement."""
    driver: Any = conn.connection.driver_connection
    failure = conn.dialect.loaded_dbapi.Error
    try:
        with driver.cursor() as cursor, cursor.copy(_COPY) as copy:
            copy.set_types(_COPY_TYPES)
            for value in values:
                copy.write_row(value)
    except failure as exc:
        raise DBAPIError.instance(_COPY, None, exc, failure, dialect=conn.dialect) from exc
