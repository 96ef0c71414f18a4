"""What a projection offers its runners (embedded tail today, Faust workers in the deployment)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Connection, MetaData

from services.kernel.events import Event


class Projection(Protocol):
    """A read model: its tables, optional reference rows, and how a batch of events changes it.

    ``version`` is the read model's own number, bumped when ``evolve`` changes meaning; with a fingerprint of its
    tables' DDL it makes the version the database records (``projections.versions``): another version is rebuilt
    blue/green (``projections.bluegreen``)."""

    name: str
    version: int
    metadata: MetaData

    def setup(self, conn: Connection) -> None:
        """Create reference rows the read model needs before any event (idempotent)."""

    def apply(self, conn: Connection, events: Sequence[Event]) -> int:
        """Apply events in the caller's transaction; return how many changed the model."""


# An order a read model may declare itself free of (``apply_first``): these plan, criteria and bloc events first (in
# position order), then every other event by org unit and position give the tables position order gives (each
# declaring read model has a table-by-table test: tests/integration/test_order_free.py). A build from scratch reads
# in that order once for every read model that declares it (``projections.bluegreen``): each unit's events together.
FACTS_FIRST = frozenset(
    {"PlanIssued", "PlanNumberAssigned", "PlanAmended", "CriteriaRegistered", "EmulationBlocRegistered"}
)


def handled_types(*dispatchers: Any) -> frozenset[str]:
    """The event type names registered on ``functools.singledispatch`` functions (what a read model uses): an
    as-of rebuild of the read model reads only these events (``services.audit.asof``)."""
    return frozenset(name for d in dispatchers for cls in d.registry if (name := getattr(cls, "NAME", "")))


class Handlers(dict[type, Callable[..., Any]]):
    """The handlers of a ``functools.singledispatch`` function by the event's class, each picked by it once: the hot
    paths call ``handlers[type(event)](event, state)``, a plain dict lookup, without singledispatch's per-call
    wrapper, weak-reference cache and registry token check (functions are registered at import, before any call)."""

    def __init__(self, dispatcher: Any) -> None:
        super().__init__()
        self.dispatch: Callable[[type], Callable[..., Any]] = dispatcher.dispatch

    def __missing__(self, cls: type) -> Callable[..., Any]:
        self[cls] = picked = self.dispatch(cls)
        return picked


@runtime_checkable
class BuildsFromScratch(Protocol):
    """A read model with a faster path for a build from scratch (the rollup: ``projections.rollup.build``)."""

    def start_build(self) -> None:
        """The next batches of this thread build the tables from scratch."""

    def finish_build(self, conn: Connection) -> None:
        """Write what the build holds, in the caller's transaction."""

    def end_build(self) -> None:
        """Back to the incremental path."""


class _Collector:
    """Python's cyclic garbage collector, paused while at least one build from scratch, or one rollup batch, runs in
    the process.

    A build holds its whole state in memory (hundreds of thousands of slots, rows and counter keys), and each of the
    collector's full passes walks all of it again: on an as-of build of Hồ Chí Minh City that was a fifth of the
    client's CPU (docs/benchmarks.md § 9). A build makes next to no cyclic garbage (2,859 objects over that build),
    so the collector waits until the last build ends; reference counting still frees everything else meanwhile.
    A rollup batch allocates a few hundred thousand objects that live until it ends: the collector scanned them
    every 700 allocations, 16–25 % of the rollup's client CPU in a worker's batches under load (§ 3)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._builds = 0
        self._was_enabled = False

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The collector off inside (nested and concurrent builds: on again when the last one leaves, if it was)."""
        with self._lock:
            if self._builds == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._builds += 1
        try:
            yield
        finally:
            with self._lock:
                self._builds -= 1
                if self._builds == 0 and self._was_enabled:
                    gc.enable()


COLLECTOR = _Collector()


@contextmanager
def from_scratch(projections: Sequence[Projection]) -> Iterator[Callable[[Connection], None]]:
    """Batches applied inside build ``projections``' tables from scratch (a blue/green or as-of build): a read model
    that offers it (:class:`BuildsFromScratch`; the rollup) keeps what they change in memory and writes it all at
    once when the returned function is called, in the build's last transaction. On leaving, every read model is back
    on its incremental path (what an unfinished build held is dropped). The cyclic garbage collector is paused
    meanwhile (:class:`_Collector`)."""
    found = [p for p in projections if isinstance(p, BuildsFromScratch)]

    def finish(conn: Connection) -> None:
        for projection in found:
            projection.finish_build(conn)

    with COLLECTOR.paused():
        for projection in found:
            projection.start_build()
        try:
            yield finish
        finally:
            for projection in found:
                projection.end_build()
