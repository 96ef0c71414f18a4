"""The embedded runner on SQLite and PostgreSQL: one transaction per batch for every read model, each event
applied once even with two runners on one store, a failing read model not holding the others back, the
linger that lets batches grow under load, the index that serves a subtree's waiting proposals."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, select

from bench.harness import unit_registered, wait_for
from projections import tracking
from projections.awards.tables import awards_proposal
from projections.runner import EmbeddedRunner
from services.bootstrap import Node, bootstrap
from services.demo.year import run_demo
from services.kernel.contracts import EVENT_TYPES
from services.kernel.db import new_metadata
from services.kernel.events import Event
from services.kernel.settings import Settings
from services.kernel.store import EventStore, StoredEvent

Tables = dict[str, list[tuple[Any, ...]]]
PREFIX_INDEX = "ix_awards_proposal_state_holder_prefix"


@pytest.fixture
def node(engine: Engine, tmp_path) -> Node:  # type: ignore[no-untyped-def]
    """The demo's year, its read models emptied and their positions forgotten: everything to apply again."""
    built = bootstrap(Settings(data_dir=tmp_path, node_id="p31"), engine=engine)
    run_demo(built)
    for projection in built.projections:
        projection.metadata.drop_all(built.engine)
    built.runner.setup()
    with built.engine.begin() as conn:
        for projection in built.projections:
            tracking.reset_position(conn, projection.name)
    return built


def tables(node: Node) -> Tables:
    with node.engine.connect() as conn:
        return {
            table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
            for projection in node.projections
            for table in projection.metadata.sorted_tables
        }


def runner(node: Node, store: Any, projections: Sequence[Any] | None = None, batch: int = 40) -> EmbeddedRunner:
    chosen = node.projections if projections is None else projections
    return EmbeddedRunner(node.engine, store, node.codec, EVENT_TYPES, chosen, batch)


class Overtaken:
    """The store as runner A sees it: while A reads its first batch, runner B applies everything."""

    def __init__(self, store: EventStore, other: EmbeddedRunner) -> None:
        self.store, self.other, self.reads = store, other, 0

    def read_all(self, after: int = 0, limit: int = 500) -> list[StoredEvent]:
        read = self.store.read_all(after, limit)
        self.reads += 1
        if self.reads == 1:
            self.other.run_until_idle()
        return read


def test_two_runners_on_one_store_apply_each_event_once(node: Node) -> None:
    b = runner(node, node.store)
    overtaken = Overtaken(node.store, b)
    a = runner(node, overtaken)
    assert a.run_until_idle() == 0  # its first batch was applied by B meanwhile: read again, nothing left
    assert overtaken.reads == 2
    head = node.store.head_position()
    assert a.positions() == {p.name: head for p in node.projections}
    once = tables(node)
    for projection in node.projections:  # the same history applied by one runner alone
        projection.metadata.drop_all(node.engine)
    node.runner.setup()
    with node.engine.begin() as conn:
        for projection in node.projections:
            tracking.reset_position(conn, projection.name)
    runner(node, node.store).run_until_idle()
    assert tables(node) == once


class Broken:
    """A read model whose every batch fails."""

    name = "broken"
    metadata = new_metadata()

    def setup(self, conn: Connection) -> None:
        return None

    def apply(self, conn: Connection, events: Sequence[Event]) -> int:
        raise RuntimeError("this read model cannot apply anything")


def test_a_failing_read_model_does_not_hold_the_others_back(node: Node) -> None:
    tail = runner(node, node.store, [*node.projections, Broken()], batch=10_000)
    tail.setup()  # records the broken read model's version (it has no table)
    with pytest.raises(RuntimeError, match="cannot apply"):
        tail.run_once()  # the shared transaction fails, then each read model gets its own
    head = node.store.head_position()
    assert tail.positions() == {**{p.name: head for p in node.projections}, "broken": 0}
    healthy = tables(node)
    assert all(healthy[t] for t in ("guidance_report", "rollup_slot", "awards_proposal", "orgunit_unit"))
    with pytest.raises(RuntimeError, match="cannot apply"):
        tail.run_once()  # retried: only the broken one is behind, the others are not applied twice
    assert tables(node) == healthy


class Counted:
    """A read model that keeps the positions it is given and runs no statement of its own."""

    name = "counted"
    metadata = new_metadata()

    def __init__(self) -> None:
        self.applied: list[int] = []

    def setup(self, conn: Connection) -> None:
        return None

    def apply(self, conn: Connection, events: Sequence[Event]) -> int:
        self.applied.extend(e.position for e in events)
        return len(events)


def test_a_batch_after_the_first_reads_nothing_but_the_events_before_its_transaction(node: Node) -> None:
    counted = Counted()
    tail = runner(node, node.store, [counted], batch=10)
    tail.setup()  # records its version (it has no table) at position 0
    assert tail.run_once() == 10  # the first batch reads the live versions and positions
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(node.engine, "before_cursor_execute", record)
    try:
        assert tail.run_once() == 10
    finally:
        event.remove(node.engine, "before_cursor_execute", record)
    statements = [s for s in seen if not s.startswith("BEGIN")]
    # the store's read, then in the batch's transaction the live versions and the positions moved (6 before)
    assert len(statements) == 3, statements
    assert "readmodel_version" in statements[1] and "projection_position" in statements[2]
    assert len(counted.applied) == len(set(counted.applied)) == 20


def test_positions_moved_elsewhere_after_a_batch_are_seen(node: Node) -> None:
    a, b = Counted(), Counted()
    first, second = runner(node, node.store, [a], batch=10_000), runner(node, node.store, [b], batch=10_000)
    first.setup()
    events = first.run_until_idle()
    assert len(a.applied) == events > 0
    elsewhere = EventStore(node.engine, node.codec, "p31")
    elsewhere.append("orgunit-U-9", 0, [unit_registered("U-9", "VN/31/11311")])
    assert second.run_until_idle() == 1 and b.applied == [node.store.head_position()]  # B applies the new one
    assert first.run_until_idle() == 0  # A's kept position is behind: its batch rolls back, read again: none left
    assert len(a.applied) == events  # moving the positions came first in its transaction: nothing applied
    assert first.positions() == {"counted": node.store.head_position()}
    with node.engine.begin() as conn:
        tracking.reset_position(conn, "counted")  # forgotten: everything again (at-least-once)
    assert first.run_until_idle() == events + 1


class Stop(threading.Event):
    """Records how long the tail waited on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return self.is_set()


def test_the_tail_lingers_after_a_batch_of_several_events_only(node: Node) -> None:
    tail = EmbeddedRunner(node.engine, node.store, node.codec, EVENT_TYPES, node.projections, 500, 2000, 0.03)
    stop = Stop()
    script = iter([(7, False), (1, False), (2, False), (2000, True), (3, False), (0, False)])

    def scripted() -> int:  # batches of 7 events, 1, 2, a full catch-up batch, 3 events, then idle
        count, tail.behind = next(script)
        if count == 0:
            stop.set()
        return count

    tail.run_once = scripted  # type: ignore[method-assign]
    tail.run_forever(stop, poll_seconds=0.2)
    assert stop.waits == [0.03, 0.03]  # after 7 and after 3; not after light load (1, 2) nor while catching up


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # its planner: SQLite has no operator classes
def test_what_waits_in_a_subtree_is_found_through_the_index_prefix(node: Node) -> None:
    with node.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # the demo's table is tiny: ask for the index
        query = select(awards_proposal).where(
            awards_proposal.c.state == "PENDING", awards_proposal.c.holder_path.startswith("VN/31/", autoescape=True)
        )
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}"))
    assert PREFIX_INDEX in plan and "~>=~" in plan  # the LIKE prefix became a range on the index


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # the store's NOTIFY
def test_the_idle_tail_wakes_on_an_append_from_another_process(node: Node) -> None:
    tail = runner(node, node.store)
    tail.run_until_idle()
    elsewhere = EventStore(node.engine, node.codec, "p31")  # no after-commit hook: as thidua sync importing
    stop = threading.Event()
    thread = threading.Thread(target=tail.run_forever, args=(stop, 60.0), daemon=True)  # polls once a minute
    thread.start()
    try:
        wait_for(lambda: tail.appended is not None and tail.appended.listening, 30, 0.01, "the idle tail listens")
        elsewhere.append("orgunit-U-9", 0, [unit_registered("U-9", "VN/31/11311")])
        head = node.store.head_position()
        wait_for(lambda: set(tail.positions().values()) == {head}, 20, 0.05, "applied long before the next poll")
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
