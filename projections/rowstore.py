"""What the thin stores of the read models share: UTC datetimes in and out, and load/save of one row by key.

SQLite hands back naive datetimes of what was written in UTC; PostgreSQL gives aware ones. Rows are frozen
dataclasses; a save writes only what changed (nothing, an insert or an update).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Table, insert, select, update

from services.kernel.events import Event

R = TypeVar("R")
log = logging.getLogger(__name__)


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


def apply_by_key(
    conn: Connection,
    events: Sequence[Event],
    target: Callable[[Event], str | None],
    evolve: Callable[[Event, R | None], R | None],
    rows: RowStore[R],
    changed: Callable[[Event, R], None],
) -> int:
    """Fold a batch into one row per key: each row loaded once and saved once; ``changed`` sees every change.

    An event for a key whose row does not exist yet (``evolve`` returns None) is logged and skipped.
    """
    loaded: dict[str, R | None] = {}
    current: dict[str, R | None] = {}
    count = 0
    for event in events:
        key = target(event)
        if key is None:
            continue
        if key not in loaded:
            loaded[key] = current[key] = rows.load(conn, key)
        after = evolve(event, current[key])
        if after is None:
            log.warning("%s %s for unknown %s %s ignored", event.NAME, event.event_id, rows.key, key)
            continue
        if after == current[key]:
            continue
        current[key] = after
        changed(event, after)
        count += 1
    for key, after in current.items():
        rows.save(conn, loaded[key], after)
    return count
