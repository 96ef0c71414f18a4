"""The guidance projection: pure evolve + thin store, applied by either runner."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from sqlalchemy import Connection

from projections.base import FACTS_FIRST, handled_types
from services.kernel.events import Event

from .evolve import evolve, row_key
from .fold import CAPACITY, Fold
from .tables import metadata


class GuidanceProjection:
    """Maintains the ``guidance_*`` tables; each row is loaded once per batch and saved once."""

    name = "guidance"
    version = 2  # bump when evolve changes meaning: the node rebuilds it blue/green (docs/upgrade.md)
    # 2: blocs (EmulationBlocRegistered), agency types and the stated period are kept for duty binding and offers
    event_types = handled_types(row_key, evolve)  # what it reads: an as-of rebuild replays only these
    apply_first = FACTS_FIRST  # order-free (projections.base.FACTS_FIRST): a build reads in that order
    metadata = metadata

    build_capacity = CAPACITY  # rows a build from scratch holds in memory before writing them out

    def __init__(self) -> None:
        self._local = threading.local()  # this thread's build from scratch, if any (``start_build``)

    def setup(self, conn: Connection) -> None:
        """No reference rows: official units are read from the reference list at query time."""

    def start_build(self) -> None:
        """This thread's next batches build the tables from scratch (``projections.base.from_scratch``): one fold
        spans them, nothing loaded while the tables are empty (a build may also carry on from a cached as-of build),
        each row written once by :meth:`finish_build`."""
        self._local.build = Fold(empty=None)

    def finish_build(self, conn: Connection) -> None:
        """Write what the build holds (in the caller's transaction, the build's last)."""
        build: Fold | None = getattr(self._local, "build", None)
        if build is not None:
            build.write_out(conn)

    def end_build(self) -> None:
        """Back to the incremental path (after the build, or when it stopped: what it held is dropped)."""
        self._local.build = None

    def apply(self, conn: Connection, events: Sequence[Event]) -> int:
        """Apply each event to the row it names (each row loaded once and saved once per batch, or per build from
        scratch); return how many events changed a row."""
        build: Fold | None = getattr(self._local, "build", None)
        if build is None:
            fold = Fold()
            changed = fold.apply(conn, events)
            fold.write_out(conn)
            return changed
        changed = build.apply(conn, events)
        if len(build.current) >= self.build_capacity:  # memory bounded: written now, loaded again if needed
            build.write_out(conn)
        return changed
