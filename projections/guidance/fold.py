"""Rows folded in memory: one batch's (the incremental path) or a whole build's from scratch, saved at once."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from projections.base import Handlers
from services.kernel.events import Event

from . import store
from .evolve import Key, evolve, row_key
from .rows import Row

CAPACITY = 200_000  # rows a build holds in memory before writing them out
KEY, EVOLVE = Handlers(row_key), Handlers(evolve)  # the hot path's dispatch, by the event's class


class Fold:
    """The rows some events changed, each loaded once (unless the tables are known empty) and saved once."""

    def __init__(self, empty: bool | None = False) -> None:
        # True: nothing to load (a build into empty tables, until its first write-out); None: found out on the
        # first batch (an as-of build may carry on from a cached one, whose tables hold rows)
        self.empty = empty
        self.stored: dict[Key, Row | None] = {}  # what the tables hold for each key folded
        self.current: dict[Key, Row | None] = {}

    def apply(self, conn: Connection, events: Sequence[Event]) -> int:
        """Fold each event into the row it names; return how many events changed a row."""
        keyed = [(event, key) for event in events if (key := KEY[event.__class__](event)) is not None]
        stored, current = self.stored, self.current
        if self.empty is None:
            self.empty = store.empty(conn)
        if not self.empty:
            stored.update(store.load_many(conn, {key for _, key in keyed if key not in current}))
        changed = 0
        for event, key in keyed:
            state = current[key] if key in current else stored.setdefault(key, None)
            after = EVOLVE[event.__class__](event, state)
            changed += after != state
            current[key] = after
        return changed

    def write_out(self, conn: Connection) -> None:
        """Save what changed; the fold starts over on what the tables then hold."""
        store.save_many(conn, [(self.stored[key], after) for key, after in self.current.items()])
        self.stored.clear()
        self.current.clear()
        self.empty = False
