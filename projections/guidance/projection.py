"""The guidance projection: pure evolve + thin store, applied by either runner."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from projections.base import FACTS_FIRST, handled_types
from services.kernel.events import Event

from . import store
from .evolve import Key, evolve, row_key
from .rows import Row
from .tables import metadata


class GuidanceProjection:
    """Maintains the ``guidance_*`` tables; each row is loaded once per batch and saved once."""

    name = "guidance"
    version = 2  # bump when evolve changes meaning: the node rebuilds it blue/green (docs/upgrade.md)
    # 2: blocs (EmulationBlocRegistered), agency types and the stated period are kept for duty binding and offers
    event_types = handled_types(row_key, evolve)  # what it reads: an as-of rebuild replays only these
    apply_first = FACTS_FIRST  # order-free (projections.base.FACTS_FIRST): a build reads in that order
    metadata = metadata

    def setup(self, conn: Connection) -> None:
        """No reference rows: official units are read from the reference list at query time."""

    def apply(self, conn: Connection, events: Sequence[Event]) -> int:
        """Apply each event to the row it names; return how many events changed a row."""
        keyed = [(event, row_key(event)) for event in events]
        loaded: dict[Key, Row | None] = dict(store.load_many(conn, {key for _, key in keyed if key is not None}))
        current: dict[Key, Row | None] = {}
        changed = 0
        for event, key in keyed:
            if key is None:
                continue
            state = current[key] if key in current else loaded.setdefault(key, None)
            after = evolve(event, state)
            changed += after != state
            current[key] = after
        store.save_many(conn, [(loaded[key], after) for key, after in current.items()])
        return changed
