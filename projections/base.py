"""What a projection offers its runners (embedded tail today, Faust workers in the deployment)."""

from __future__ import annotations

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


@contextmanager
def from_scratch(projections: Sequence[Projection]) -> Iterator[Callable[[Connection], None]]:
    """Batches applied inside build ``projections``' tables from scratch (a blue/green or as-of build): a read model
    that offers it (:class:`BuildsFromScratch`; the rollup) keeps what they change in memory and writes it all at
    once when the returned function is called, in the build's last transaction. On leaving, every read model is back
    on its incremental path (what an unfinished build held is dropped)."""
    found = [p for p in projections if isinstance(p, BuildsFromScratch)]
    for projection in found:
        projection.start_build()

    def finish(conn: Connection) -> None:
        for projection in found:
            projection.finish_build(conn)

    try:
        yield finish
    finally:
        for projection in found:
            projection.end_build()
