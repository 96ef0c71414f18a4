"""What the thin stores of the read models share: UTC datetimes in and out, rows loaded and saved by key in sets.

SQLite hands back naive datetimes of what was written in UTC; PostgreSQL gives aware ones. Rows are frozen
dataclasses; a save writes only what changed (nothing, an insert or an update). A batch reads every row it
touches with one SELECT per table and writes them back with one statement per kind of change (``bulk``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Table

from projections.bulk import copy_rows, select_by_keys, update_by_key
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
    """A dataclass row as column values, datetimes in UTC (values are not copied: rows are never mutated)."""
    names = _NAMES.get(type(row)) or _NAMES.setdefault(type(row), tuple(f.name for f in fields(row)))
    return utc_aware({name: getattr(row, name) for name in names}, keys)


_NAMES: dict[type, tuple[str, ...]] = {}  # field names per row type


class RowStore(Generic[R]):
    """Load and save rows of ``row_type`` in ``table`` by the primary-key column ``key``."""

    def __init__(self, table: Table, row_type: type[R], key: str, datetimes: tuple[str, ...]) -> None:
        self.table = table
        self.row_type = row_type
        self.key = key
        self.datetimes = datetimes
        self.names = [f.name for f in fields(row_type)]  # type: ignore[arg-type]

    def _row(self, row: dict[str, Any]) -> R:
        data = utc_aware(row, self.datetimes)
        return self.row_type(**{name: data[name] for name in self.names})

    def load(self, conn: Connection, value: str) -> R | None:
        """The row whose key is ``value``, if any."""
        return self.load_many(conn, [value]).get(value)

    def load_many(self, conn: Connection, keys: Iterable[str]) -> dict[str, R]:
        """The rows whose keys are among ``keys``, by key (absent keys are left out)."""
        found = select_by_keys(conn, self.table, [self.key], [(k,) for k in keys])
        return {row[self.key]: self._row(row) for row in found}

    def save(self, conn: Connection, before: R | None, after: R | None) -> None:
        """Persist the change from ``before`` to ``after``."""
        self.save_many(conn, [(before, after)])

    def save_many(self, conn: Connection, changes: Iterable[tuple[R | None, R | None]]) -> None:
        """Persist each change from ``before`` to ``after``: one INSERT and one UPDATE statement at most."""
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for before, after in changes:
            if after is None or after == before:
                continue
            (inserts if before is None else updates).append(to_columns(after, self.datetimes))
        copy_rows(conn, self.table, inserts)
        update_by_key(conn, self.table, [self.key], updates)


def apply_by_key(
    conn: Connection,
    events: Sequence[Event],
    target: Callable[[Event], str | None],
    evolve: Callable[[Event, R | None], R | None],
    rows: RowStore[R],
    changed: Callable[[Event, R], None],
) -> int:
    """Fold a batch into one row per key: the rows read with one SELECT, each saved once; ``changed`` sees every
    change.

    An event for a key whose row does not exist yet (``evolve`` returns None) is logged and skipped.
    """
    targets = [(event, target(event)) for event in events]
    loaded: dict[str, R | None] = dict(rows.load_many(conn, {key for _, key in targets if key is not None}))
    current: dict[str, R | None] = {}
    count = 0
    for event, key in targets:
        if key is None:
            continue
        state = current[key] if key in current else loaded.setdefault(key, None)
        after = evolve(event, state)
        if after is None:
            log.warning("%s %s for unknown %s %s ignored", event.NAME, event.event_id, rows.key, key)
            continue
        if after == state:
            continue
        current[key] = after
        changed(event, after)
        count += 1
    rows.save_many(conn, [(loaded[key], after) for key, after in current.items()])
    return count
