"""What the thin stores of the read models share: UTC datetimes in and out, and load/save of one row by key.

SQLite hands back naive datetimes of what was written in UTC; PostgreSQL gives aware ones. Rows are frozen
dataclasses; a save writes only what changed (nothing, an insert or an update).
"""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Table, insert, select, update

R = TypeVar("R")


def utc_aware(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """``row`` with the datetimes under ``keys`` in UTC."""
    for key in keys:
        value = row.get(key)
        if isinstance(value, datetime):
            row[key] = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return row


def to_columns(row: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """A dataclass row as column values, datetimes in UTC."""
    return utc_aware(asdict(row), keys)


class RowStore(Generic[R]):
    """Load and save rows of ``row_type`` in ``table`` by the primary-key column ``key``."""

    def __init__(self, table: Table, row_type: type[R], key: str, datetimes: tuple[str, ...]) -> None:
        self.table = table
        self.row_type = row_type
        self.key = key
        self.datetimes = datetimes

    def load(self, conn: Connection, value: str) -> R | None:
        """The row whose key is ``value``, if any."""
        row = conn.execute(select(self.table).where(self.table.c[self.key] == value)).first()
        if row is None:
            return None
        data = utc_aware(row._asdict(), self.datetimes)
        return self.row_type(**{f.name: data[f.name] for f in fields(self.row_type)})  # type: ignore[arg-type]

    def save(self, conn: Connection, before: R | None, after: R | None) -> None:
        """Persist the change from ``before`` to ``after``."""
        if after is None or after == before:
            return
        values = to_columns(after, self.datetimes)
        if before is None:
            conn.execute(insert(self.table).values(**values))
        else:
            conn.execute(update(self.table).where(self.table.c[self.key] == values[self.key]).values(**values))
