"""The guidance projection: pure evolve + thin store, applied by either runner."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from services.kernel.events import Event

from . import store
from .evolve import evolve, row_key
from .rows import Row
from .tables import metadata


class GuidanceProjection:
    """Maintains the ``guidance_*`` tables; each row is loaded once per batch and saved once."""

    name = "guidance"
    metadata = metadata

    def setup(self, conn: Connection) -> None:
        """No reference rows: official units are read from the reference list at query time."""

    def apply(self, conn: Connection, events: Sequence[Event]) -> int:
        """Apply each event to the row it names; return how many events changed a row."""
        rows: dict[tuple[type, tuple[Any, ...]], tuple[Row | None, Row | None]] = {}
        changed = 0
        for event in events:
            key = row_key(event)
            if key is None:
                continue
            if key not in rows:
                loaded = store.load(conn, *key)
                rows[key] = (loaded, loaded)
            before, current = rows[key]
            after = evolve(event, current)
            changed += after != current
            rows[key] = (before, after)
        for before, after in rows.values():
            store.save(conn, before, after)
        return changed
