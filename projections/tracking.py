"""Tracking records: the position each projection has applied, written in the same transaction as its rows."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Integer,
    String,
    Table,
    bindparam,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.kernel.db import new_metadata
from services.kernel.store import utcnow

metadata = new_metadata()

projection_position = Table(
    "projection_position",
    metadata,
    Column("projection", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def get_position(conn: Connection, projection: str) -> int:
    """Last store position applied by ``projection`` (0 if none)."""
    value = conn.execute(
        select(projection_position.c.position).where(projection_position.c.projection == projection)
    ).scalar()
    return int(value or 0)


def get_positions(conn: Connection, projections: Collection[str], lock: bool = False) -> dict[str, int]:
    """Last store position applied by each of ``projections`` (0 if none), in one query; ``lock`` takes their
    rows FOR UPDATE on PostgreSQL (SQLite's write transaction already excludes other writers)."""
    query = select(projection_position.c.projection, projection_position.c.position).where(
        projection_position.c.projection.in_(list(projections))
    )
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    found = {str(row.projection): int(row.position) for row in conn.execute(query)}
    return {name: found.get(name, 0) for name in projections}


def set_position(conn: Connection, projection: str, position: int) -> None:
    """Record ``position`` for ``projection`` (insert or update)."""
    set_positions(conn, {projection: position})


def set_positions(conn: Connection, positions: Mapping[str, int]) -> None:
    """Record each projection's position (insert or update), in one statement."""
    if not positions:
        return
    dialect = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    stmt = dialect(projection_position).values(
        [{"projection": name, "position": position, "updated_at": now} for name, position in positions.items()]
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["projection"], set_={"position": stmt.excluded.position, "updated_at": now}
        )
    )


def advance_positions(conn: Connection, moves: Mapping[str, tuple[int, int]]) -> bool:
    """Move each projection's position from the first of its pair to the second, in one statement, only where it
    still is at the first (a row not there yet counts as 0); return whether every one moved (counted from the rows
    returned: a driver's ``rowcount`` of a multi-row upsert is not reliable). The rows stay locked
    until the transaction ends (PostgreSQL; SQLite's write transaction already excludes other writers); when this
    returns False the caller must roll back: some rows may have moved."""
    if not moves:
        return True
    now = utcnow()
    t = projection_position
    stmt = _insert(conn)(t).values(
        [{"projection": name, "position": new, "updated_at": now} for name, (_, new) in moves.items()]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["projection"],
        set_={"position": stmt.excluded.position, "updated_at": now},
        where=tuple_(t.c.projection, t.c.position).in_([(name, old) for name, (old, _) in moves.items()]),
    )
    return len(conn.execute(stmt.returning(t.c.projection)).all()) == len(moves)


def reset_position(conn: Connection, projection: str) -> None:
    """Forget the position of ``projection`` (before a rebuild)."""
    conn.execute(
        update(projection_position)
        .where(projection_position.c.projection == projection)
        .values(position=0, updated_at=utcnow())
    )


# --- Kafka path (services.pipeline.worker) --------------------------------------------------------------------
# A worker does not know store positions. It records, per projection, the last Kafka offset applied on each
# partition it consumed, and the ids of the events it applied, in the same transaction as the read-model rows:
# an offset at or below the recorded one is a redelivery (skipped without a lookup), and an event id already
# recorded is a duplicate published twice by the relay (skipped: the id is already there when the batch claims it).
# Kafka's own committed offsets are only advisory (committed after this transaction); on assignment the worker seeks
# to these offsets.

projection_kafka_offset = Table(
    "projection_kafka_offset",
    metadata,
    Column("projection", String(100), primary_key=True),
    Column("topic", String(249), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("offset", BigInteger, nullable=False, comment="Last offset applied (-1: none yet)."),
    Column("applied", BigInteger, nullable=False, comment="Events applied from this partition (metrics)."),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

projection_event = Table(
    "projection_event",
    metadata,
    Column("projection", String(100), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    comment="Event ids a projection has applied from Kafka: duplicates (same event_id) have no effect.",
)

TopicPartitionKey = tuple[str, int]


def _insert(conn: Connection) -> Any:
    return pg_insert if conn.dialect.name == "postgresql" else sqlite_insert


def lock_kafka_offsets(
    conn: Connection, projections: Collection[str], partitions: Iterable[TopicPartitionKey]
) -> dict[tuple[str, str, int], int]:
    """Last applied offset per (projection, topic, partition) (-1 if none), locking the rows until the transaction
    ends.

    Two workers that both believe they own a partition (during a rebalance) are serialised here: the second
    waits for the first to commit and then sees its offsets.
    """
    keys = sorted({(name, t, p) for name in projections for t, p in partitions})
    if not keys:
        return {}
    now = utcnow()
    rows = [
        {"projection": name, "topic": t, "partition": p, "offset": -1, "applied": 0, "updated_at": now}
        for name, t, p in keys
    ]
    conn.execute(_insert(conn)(projection_kafka_offset).values(rows).on_conflict_do_nothing())
    table = projection_kafka_offset
    query = select(table.c.projection, table.c.topic, table.c.partition, table.c.offset).where(
        tuple_(table.c.projection, table.c.topic, table.c.partition).in_(keys)
    )
    if conn.dialect.name == "postgresql":
        query = query.order_by(table.c.projection, table.c.topic, table.c.partition).with_for_update()
    found = {(r.projection, r.topic, r.partition): int(r.offset) for r in conn.execute(query)}
    return {key: found.get(key, -1) for key in keys}


def get_kafka_offsets(conn: Connection, projection: str | None = None) -> dict[tuple[str, str, int], int]:
    """Last applied offset per (projection, topic, partition), without locking."""
    query = select(projection_kafka_offset)
    if projection is not None:
        query = query.where(projection_kafka_offset.c.projection == projection)
    return {(r.projection, r.topic, r.partition): int(r.offset) for r in conn.execute(query)}


def advance_kafka_offsets(
    conn: Connection,
    projection: str,
    offsets: Mapping[TopicPartitionKey, int],
    applied: Mapping[TopicPartitionKey, int],
) -> None:
    """Move ``projection``'s recorded offsets forward (never back) and add to its applied counters (rows must
    exist)."""
    moves = [(projection, t, p, offset, applied.get((t, p), 0)) for (t, p), offset in offsets.items()]
    advance_offsets(conn, moves)


def advance_offsets(conn: Connection, moves: Collection[tuple[str, str, int, int, int]]) -> None:
    """Move recorded offsets forward (never back) and add to the applied counters, for every (projection, topic,
    partition, offset, events applied) of ``moves`` (rows must exist): one statement on PostgreSQL."""
    if not moves:
        return
    table = projection_kafka_offset
    if conn.dialect.name == "postgresql":
        columns = [list(column) for column in zip(*sorted(moves), strict=True)]
        conn.exec_driver_sql(_ADVANCE_PG, dict(zip(("p", "t", "n", "o", "a"), columns, strict=True)))
        return
    stmt = (
        update(table)
        .where(
            table.c.projection == bindparam("k_projection"),
            table.c.topic == bindparam("k_topic"),
            table.c.partition == bindparam("k_partition"),
            table.c.offset < bindparam("k_offset"),
        )
        .values(offset=bindparam("k_offset"), applied=table.c.applied + bindparam("added"), updated_at=utcnow())
    )
    keys = ("k_projection", "k_topic", "k_partition", "k_offset", "added")
    conn.execute(stmt, [dict(zip(keys, move, strict=True)) for move in sorted(moves)])


_ADVANCE_PG = """UPDATE projection_kafka_offset AS t
SET "offset" = m.o, applied = t.applied + m.a, updated_at = now()
FROM unnest(%(p)s::varchar[], %(t)s::varchar[], %(n)s::int[], %(o)s::bigint[], %(a)s::bigint[]) AS m(p, t, n, o, a)
WHERE t.projection = m.p AND t.topic = m.t AND t."partition" = m.n AND t."offset" < m.o"""


def claim_event_ids(conn: Connection, ids: Mapping[str, Collection[str]]) -> set[tuple[str, str]]:
    """Record the event ids of each projection (``ids``: projection → its distinct ids) not recorded yet, in one
    statement, and return the (projection, event id) pairs that were: they were applied before (a duplicate the
    relay published twice). A pair another transaction is recording waits for it. Only the pairs already there come
    back (usually none), not every pair recorded."""
    names = sorted(name for name, listed in ids.items() if listed)
    if not names:
        return set()
    if conn.dialect.name == "postgresql":
        statement, params = _claim_pg({name: sorted(ids[name]) for name in names})
        return {(str(p), str(e)) for p, e in conn.exec_driver_sql(statement, params)}
    listed = sorted((name, event_id) for name in names for event_id in ids[name])
    recorded = {(str(p), str(e)) for p, e in conn.exec_driver_sql(_CLAIM_SQLITE, (json.dumps(listed),))}
    return set(listed) - recorded


def _claim_pg(ids: Mapping[str, list[str]]) -> tuple[str, dict[str, Any]]:
    """The claim and its parameters: each projection's event ids as one comma-separated text (psycopg dumps a list
    parameter element by element in Python: 2,500 ids a batch of 500 events for five read models were ~5 % of the
    worker's CPU, docs/benchmarks.md § 3), or, when an id holds a comma (or is empty), the pairs as two arrays."""
    texts = {name: ",".join(listed) for name, listed in ids.items()}
    if all(text and text.count(",") == len(ids[name]) - 1 for name, text in texts.items()):
        return _CLAIM_JOINED, {"p": list(texts), "e": list(texts.values())}
    pairs = [(name, event_id) for name, listed in ids.items() for event_id in listed]
    return _CLAIM_LISTED, {"p": [p for p, _ in pairs], "e": [e for _, e in pairs]}


_CLAIM_PG = """WITH k(p, e) AS ({keys}),
recorded AS (
  INSERT INTO projection_event (projection, event_id) SELECT p, e FROM k
  ON CONFLICT DO NOTHING RETURNING projection, event_id
)
SELECT p, e FROM k EXCEPT ALL SELECT projection, event_id FROM recorded"""
# The pairs in key order (one lock order for concurrent claims): each projection's ids, by a lateral nested loop.
_CLAIM_JOINED = _CLAIM_PG.format(
    keys="SELECT g.p, e FROM unnest(%(p)s::varchar[], %(e)s::text[]) AS g(p, ids), "
    "unnest(string_to_array(g.ids, ',')) AS e"
)
_CLAIM_LISTED = _CLAIM_PG.format(keys="SELECT * FROM unnest(%(p)s::varchar[], %(e)s::varchar[])")

_CLAIM_SQLITE = """INSERT INTO projection_event (projection, event_id)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?) WHERE true
ON CONFLICT DO NOTHING RETURNING projection, event_id"""
