"""Tables of the pipeline: the relay's published position (its tracking record)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Connection, DateTime, String, Table, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from services.kernel.db import new_metadata
from services.kernel.store import utcnow

metadata = new_metadata()

relay_position = Table(
    "relay_position",
    metadata,
    Column("relay", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False, comment="Last store position the broker acknowledged."),
    Column("published_at", DateTime(timezone=True), nullable=False),
)


def get_published(conn: Connection, relay: str) -> int:
    """Last position ``relay`` published (0 if none)."""
    value = conn.execute(select(relay_position.c.position).where(relay_position.c.relay == relay)).scalar()
    return int(value or 0)


def set_published(conn: Connection, relay: str, position: int) -> None:
    """Record ``position`` as published; the recorded position only moves forward."""
    dialect = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    conn.execute(
        dialect(relay_position).values(relay=relay, position=position, published_at=now).on_conflict_do_nothing()
    )
    conn.execute(
        update(relay_position)
        .where(relay_position.c.relay == relay, relay_position.c.position < position)
        .values(position=position, published_at=now)
    )
