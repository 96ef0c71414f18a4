"""The rollup projection: facts per key, slots re-settled per event in memory and written per batch, counters per
ancestor flushed per batch."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from sqlalchemy import Connection

from projections.base import COLLECTOR, handled_types
from services.kernel.adminunits import AdminUnitCatalog
from services.kernel.events import Event

from . import fact_store, store
from .batch import Facts, Work
from .build import CAPACITY, BuildWork
from .changes import CHANGE, FACT_EVENTS, change
from .tables import metadata

# "rollup" in ASCII: with the schema's name, the transaction lock that serialises this projection's batches on
# PostgreSQL (READ COMMITTED: statements after it see the previous holder's commit). Two workers applying different
# streams at once would otherwise each miss the other's uncommitted fact (a unit registered while its plan is issued
# would never be bound) or overwrite a slot from a stale read; a batch also reads its slots before writing them.
# Most batches write the root's counter row anyway, so this costs little more than that row lock already does.
# Read models in other schemas (other nodes, tests, benchmarks) have their own tables and do not wait for it.
APPLY_LOCK_KEY = 0x726F_6C6C_7570
APPLY_LOCK = f"SELECT pg_advisory_xact_lock({APPLY_LOCK_KEY} # hashtextextended(current_schema(), 0))"


class RollupProjection:
    """Maintains the ``rollup_*`` tables: expected, submitted, on-time and missing reports, registrations,
    indicator values and child plans, for every subtree and period."""

    name = "rollup"
    version = 2  # bump when evolve changes meaning: the node rebuilds it blue/green (docs/upgrade.md)
    # 2: who is expected (the most specific duty; khối/cụm membership, agency types; never the receiver) and how
    #    targets are judged (phased floors; conditions as measures of their own)
    event_types = handled_types(change)  # what it reads: an as-of rebuild replays only these
    # A subtree's rows (its units' slots, counters of it and below) depend only on the events of the subtree and of
    # its ancestors (plans, criteria, blocs and duties travel down, reports up): an as-of read of one subtree replays
    # only those (tests/integration/test_asof_scoped.py compares it with a full replay).
    subtree_closed = True
    # Order-free: plan, criteria and bloc events first (in position order), then every other event by org unit and
    # position give the same tables as position order (tests/integration/test_asof_scoped.py, table by table): a
    # build from scratch applies in that order, each unit's slots written once instead of once per batch.
    apply_first = frozenset(e.NAME for e in FACT_EVENTS)
    # indexes only the queries read (apply finds slots by key, report id or indicator code): a build creates them last
    indexes_after_build = (
        "ix_rollup_slot_period_status_unit_path_plan_id",
        "ix_rollup_slot_period_outcome_unit_path_plan_id",
        "ix_rollup_slot_period_unit_path_plan_id",
        "ix_rollup_unit_parent_path_level",
    )
    metadata = metadata
    build_capacity = CAPACITY  # slots and counter keys a build holds in memory before writing them out

    def __init__(self, catalog: AdminUnitCatalog) -> None:
        self.catalog = catalog
        self._local = threading.local()

    @property
    def facts(self) -> Facts:
        """This thread's facts, kept across its batches while the tables' facts token stays the same (the tail and
        an as-of or replay build may apply batches at once, to different tables)."""
        found: Facts | None = getattr(self._local, "facts", None)
        if found is None:
            found = self._local.facts = Facts()
        return found

    def setup(self, conn: Connection) -> None:
        """Seed the root, the official provinces and communes (units duties may bind) and a facts token."""
        fact_store.seed_reference(conn, self.catalog)
        store.seed_facts_token(conn)

    def start_build(self) -> None:
        """This thread's next batches build the tables from scratch (``projections.base.from_scratch``): one
        work spans them, written by :meth:`finish_build` (``build.BuildWork``)."""
        self._local.build = None
        self._local.building = True

    def finish_build(self, conn: Connection) -> None:
        """Write what the build holds (in the caller's transaction, the build's last)."""
        work: BuildWork | None = getattr(self._local, "build", None)
        if work is not None:
            work.conn = conn
            with COLLECTOR.paused():
                work.write_out()

    def end_build(self) -> None:
        """Back to the incremental path (after the build, or when it stopped: what it held is dropped)."""
        self._local.build = None
        self._local.building = False

    def _work(self, conn: Connection, token: str | None) -> Work:
        """A batch's work, or the build's (the same across its batches: its facts and pending rows carry on)."""
        if not getattr(self._local, "building", False):
            return Work(conn, self.facts.valid_for(token))
        work: BuildWork | None = self._local.build
        if work is None or work.facts.token != token:  # the facts changed elsewhere: start over from the tables
            if work is not None:
                work.conn = conn
                work.write_out()
            work = self._local.build = BuildWork(conn, self.facts.valid_for(token), self.build_capacity)
        work.conn = conn
        return work

    def apply(self, conn: Connection, events: Sequence[Event]) -> int:
        """Apply the events in the caller's transaction: each run of report and unit events read ahead and folded
        in memory, each plan or criteria event on what the tables hold; slots written back and the summed
        counter deltas added once."""
        with COLLECTOR.paused():
            return self._apply(conn, events)

    def _apply(self, conn: Connection, events: Sequence[Event]) -> int:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(APPLY_LOCK)
        read = token = store.facts_token(conn)
        work = self._work(conn, token)
        changed = 0
        for run in runs(events):
            if isinstance(run[0], FACT_EVENTS):
                work.flush()
                if CHANGE[run[0].__class__](
                    run[0], work
                ):  # a fact event delivered again changes nothing, not even the token
                    changed += 1
                    token = store.next_facts_token(token, run[0].event_id)
                work.forget_facts(token)
            else:
                work.prepare(run)
                changed += sum(CHANGE[event.__class__](event, work) for event in run)
        if isinstance(work, BuildWork):
            work.end_batch()  # written at the end of the build (or when memory is full)
        else:
            work.flush()
            store.flush(conn, work.tally)
        if token is not None and token != read:
            store.write_facts_token(conn, token)
        return changed


def runs(events: Sequence[Event]) -> list[Sequence[Event]]:
    """The batch cut before and after every fact event: runs of other events, and fact events alone."""
    found: list[Sequence[Event]] = []
    start = 0
    for i, event in enumerate(events):
        if isinstance(event, FACT_EVENTS):
            if start < i:
                found.append(events[start:i])
            found.append(events[i : i + 1])
            start = i + 1
    if start < len(events):
        found.append(events[start:])
    return found
