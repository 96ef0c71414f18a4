"""Tables of the sync service: consumed offsets, parked events, receipts due (the imported events themselves
are in the store: ``event`` and ``foreign_event``)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Connection, DateTime, Integer, LargeBinary, String, Table, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.kernel.db import new_metadata

metadata = new_metadata()

sync_offset = Table(
    "sync_offset",
    metadata,
    Column("topic", String(250), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False, comment="Next offset to import (written with the import)."),
    comment="How far the importer got in each sync topic partition; the database, not Kafka, decides.",
)

sync_parked = Table(
    "sync_parked",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("stream_id", String(200), nullable=False, index=True),
    Column("stream_version", BigInteger, nullable=False),
    Column("source_node", String(50), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("origin_hash", LargeBinary(32)),
    Column("origin_position", BigInteger),
    Column(
        "origin_signature", LargeBinary, comment="The origin's seal and inclusion proof it came with (signed appends)."
    ),
    Column("parked_at", DateTime(timezone=True), nullable=False),
    comment="Foreign events that arrived before their stream's previous version (reordering across sources).",
)

sync_receipt_due = Table(
    "sync_receipt_due",
    metadata,
    Column("source_node", String(50), primary_key=True),
    Column("period", String(10), primary_key=True),
    comment="(source, period) pairs whose receipt must be (re)published; written with the import.",
)


def upsert_ignore(conn: Connection, table: Table, **values: object) -> None:
    """Insert a row unless its primary key exists."""
    dialect = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(dialect(table).values(**values).on_conflict_do_nothing())


def set_offset(conn: Connection, topic: str, partition: int, next_offset: int) -> None:
    """Record the next offset to import of one partition."""
    dialect = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = dialect(sync_offset).values(topic=topic, partition=partition, next_offset=next_offset)
    conn.execute(stmt.on_conflict_do_update(index_elements=["topic", "partition"], set_={"next_offset": next_offset}))


def offsets(conn: Connection) -> dict[tuple[str, int], int]:
    """Next offset to import per (topic, partition)."""
    return {(r.topic, r.partition): r.next_offset for r in conn.execute(select(sync_offset))}
