"""Tracking records: the position each projection has applied, written in the same transaction as its rows."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Connection, DateTime, String, Table, select, update
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


def set_position(conn: Connection, projection: str, position: int) -> None:
    """Record ``position`` for ``projection`` (insert or update)."""
    dialect = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    stmt = dialect(projection_position).values(projection=projection, position=position, updated_at=utcnow())
    conn.execute(
        stmt.on_conflict_do_update(index_elements=["projection"], set_={"position": position, "updated_at": utcnow()})
    )


def reset_position(conn: Connection, projection: str) -> None:
    """Forget the position of ``projection`` (before a rebuild)."""
    conn.execute(
        update(projection_position)
        .where(projection_position.c.projection == projection)
        .values(position=0, updated_at=utcnow())
    )
