"""Commands decided before the append lock (``UnitOfWork``'s optimistic decide), on SQLite and a real PostgreSQL:
a decision made on a state that moved before its write is made again, never written; concurrent commands lose and
reorder nothing, and the log stays one gap-free, hash-linked order that a tailing reader follows."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy import event as sa_event
from sqlalchemy.exc import OperationalError

from services.bootstrap import Node, bootstrap
from services.kernel.errors import DomainRefusal, StaleRead
from services.kernel.eventlog import GENESIS_HASH
from services.kernel.settings import Settings
from services.kernel.store import link_hash
from services.kernel.tables import event as event_table
from services.kernel.uow import UnitOfWork
from services.messagebus import HANDLERS, OPTIMISTIC_TRIES
from services.migrations import upgrade
from services.planning.commands import AmendPlan, IssueGuidance, IssuePlan
from services.planning.handlers import load_plan
from tests.conftest import _postgres_engine
from tests.domain_fixtures import at
from tests.factories import SYSTEM_ACTOR, guidance_issued

WRITERS = 8


@pytest.fixture
def node(engine: Engine, tmp_path: Path) -> Node:
    built = bootstrap(Settings(data_dir=tmp_path, node_id="p46"), engine=engine)
    built.init_db()
    return built


@pytest.fixture
def pg_node(postgres_url: str, tmp_path: Path) -> Iterator[Node]:
    """A node on PostgreSQL only: two units of work interleaving before the lock (SQLite's is taken at BEGIN)."""
    for engine in _postgres_engine(postgres_url):
        upgrade(engine)
        built = bootstrap(Settings(data_dir=tmp_path, node_id="p46"), engine=engine)
        built.init_db()
        yield built


def _plan(plan_id: str, number: str | None = None) -> IssuePlan:
    issued = date(2026, 9, 1) if number else None
    return IssuePlan(plan_id, "VN/46", "KH-UBND", "Kế hoạch", at(2026, 9, 1), SYSTEM_ACTOR, number, issued)


def _events(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(event_table).order_by(event_table.c.position)))


def _decide_together(monkeypatch: pytest.MonkeyPatch, command: type, parties: int) -> None:
    """Make the first decision of ``parties`` commands of type ``command`` wait for each other after the handler ran,
    or before it records a lookup (which takes the lock): before any of them takes the lock, where the unit of work
    decides before the lock, so every one of them decides on the same state. Where it holds the lock from the start
    (SQLite), they run one after the other as they come."""
    real, barrier, waited = HANDLERS[command], threading.Barrier(parties), threading.local()
    record = UnitOfWork.record

    def together(uow: Any) -> None:
        if not uow.locked and not getattr(waited, "done", False):
            waited.done = True
            barrier.wait(timeout=30)

    def handler(cmd: Any, uow: Any, deps: Any) -> None:
        real(cmd, uow, deps)
        together(uow)

    def recording(uow: Any, kind: str, key: str, ref: str) -> None:  # a lookup's record takes the lock: wait before
        together(uow)
        record(uow, kind, key, ref)

    monkeypatch.setitem(HANDLERS, command, handler)
    monkeypatch.setattr(UnitOfWork, "record", recording)


def _run_all(work: list[Any]) -> list[Any]:
    outcomes: list[Any] = [None] * len(work)

    def run(i: int) -> None:
        try:
            outcomes[i] = work[i]()
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_a_decision_on_a_stream_that_moved_before_the_lock_writes_nothing(pg_node: Node) -> None:
    store = pg_node.store
    store.append("s-read", 0, [guidance_issued()])
    with UnitOfWork(store, pg_node.bus.types) as uow:
        assert len(uow.stream("s-read")) == 1 and uow.version("s-other") == 0 and not uow.locked
        store.append("s-read", 1, [guidance_issued("moved")])  # another command commits meanwhile
        with pytest.raises(StaleRead) as stale:
            uow.append("s-other", 0, [guidance_issued("decided on version 1")])
    assert (stale.value.details["stream_id"], stale.value.details["actual_version"]) == ("s-read", 2)
    assert store.stream_version("s-other") == 0  # nothing of the stale decision was written


def test_a_lookup_that_moved_before_the_lock_writes_nothing(pg_node: Node) -> None:
    with UnitOfWork(pg_node.store, pg_node.bus.types) as uow:
        assert uow.lookup("plan_document", "k") == []
        with UnitOfWork(pg_node.store, pg_node.bus.types) as other:
            other.record("plan_document", "k", "plan-a")
        with pytest.raises(StaleRead):
            uow.record("plan_document", "k", "plan-b")
    with UnitOfWork(pg_node.store, pg_node.bus.types) as uow:
        assert uow.lookup("plan_document", "k") == ["plan-a"]


def test_nodes_in_two_schemas_of_one_database_append_at_once(pg_node: Node, postgres_url: str, tmp_path: Path) -> None:
    """The append lock is the event table's: a node in another schema of the same database does not wait for it,
    a second writer of the same node does."""
    for engine in _postgres_engine(postgres_url):
        upgrade(engine)
        other = bootstrap(Settings(data_dir=tmp_path / "other", node_id="p15"), engine=engine)
        with pg_node.engine.begin() as held, other.engine.begin() as elsewhere, pg_node.engine.begin() as same:
            pg_node.store.lock(held)
            elsewhere.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
            other.store.lock(elsewhere)  # at once, not after 5 s
            same.exec_driver_sql("SET LOCAL lock_timeout = '200ms'")
            with pytest.raises(OperationalError, match="lock timeout"):
                pg_node.store.lock(same)


def test_a_read_only_unit_of_work_never_takes_the_lock(pg_node: Node) -> None:
    with UnitOfWork(pg_node.store, pg_node.bus.types) as uow:
        uow.stream("anything")
        assert not uow.locked
        held = uow.conn.exec_driver_sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").scalar_one()
    assert held == 0


def test_concurrent_amendments_of_one_plan_each_get_their_own_number(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight amendments decided on the same version of the plan: each is decided again until it is written on the
    plan as it is, so all eight land, numbered 1–8, none refused with a version conflict."""
    node.bus.handle(_plan("p-1"))
    _decide_together(monkeypatch, AmendPlan, WRITERS)
    amend = [lambda i=i: node.bus.handle(AmendPlan("p-1", f"lần {i}", at(2026, 9, 2), SYSTEM_ACTOR)) for i in range(8)]
    outcomes = _run_all(amend)
    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    with UnitOfWork(node.store, node.bus.types, optimistic=False) as uow:
        plan = load_plan(uow, "p-1")
        amended = [e.data for e in uow.stream("plan-p-1")[1:]]
    assert plan.amendments == WRITERS and plan.version == WRITERS + 1
    assert sorted(a["amendment_no"] for a in amended) == list(range(1, WRITERS + 1))
    assert sorted(a["reason"] for a in amended) == sorted(f"lần {i}" for i in range(WRITERS))
    decided_again = node.bus.stale_reads
    if node.store.postgres:  # all eight decided on version 1: seven decided again at least once
        assert WRITERS - 1 <= decided_again <= WRITERS * OPTIMISTIC_TRIES
    else:
        assert decided_again == 0  # SQLite holds the write lock from BEGIN: nothing is read stale


def test_one_document_number_is_given_once_under_concurrent_plans(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight plans with the same document number, each in its own stream, decided on the same state: the lookup they
    read is checked under the lock, so exactly one gets the number and seven are refused for it."""
    _decide_together(monkeypatch, IssuePlan, WRITERS)
    outcomes = _run_all([lambda i=i: node.bus.handle(_plan(f"p-{i}", "220")) for i in range(WRITERS)])
    refused = [o for o in outcomes if isinstance(o, DomainRefusal)]
    assert len(refused) == WRITERS - 1 and {r.code for r in refused} == {"DUPLICATE_DOCUMENT_NUMBER"}
    issued = [e for e in _events(node.engine) if e.event_type == "PlanIssued"]
    assert len(issued) == 1
    assert not node.bus.store.postgres or node.bus.stale_reads >= WRITERS - 1


@pytest.mark.slow
def test_a_tail_follows_every_event_of_concurrent_commands_in_one_linked_order(node: Node) -> None:
    """Commands from eight threads with commits delayed at random after their rows are written: a tail sees every
    event once, in position order, and the log is one gap-free hash chain (what the relay, the sync sender and the
    checkpoints rely on)."""
    engine = node.engine

    @sa_event.listens_for(engine, "commit")
    def _slow_commit(_conn: Any) -> None:
        time.sleep(random.random() / 200)

    stop, seen = threading.Event(), []

    def tail() -> None:
        after = 0
        while True:
            done = stop.is_set()  # read the flag before reading, so the last pass sees everything
            batch = node.store.read_all(after, limit=50)
            seen.extend(s.position for s in batch)
            after = batch[-1].position if batch else after
            if done and not batch:
                return

    def write(writer: int) -> None:
        for i in range(15):
            guidance = IssueGuidance(f"g-{writer}-{i}", "VN/46", "Hướng dẫn", ("VN/46",), at(2026, 9, 3), SYSTEM_ACTOR)
            node.bus.handle(guidance)

    reader = threading.Thread(target=tail)
    reader.start()
    _run_all([lambda w=w: write(w) for w in range(WRITERS)])
    stop.set()
    reader.join()
    rows = _events(engine)
    assert seen == [r.position for r in rows]  # every committed event, once, in order
    assert sorted(r.stream_id for r in rows if r.event_type == "GuidanceIssued") == sorted(
        f"guidance-g-{w}-{i}" for w in range(WRITERS) for i in range(15)
    )
    previous = GENESIS_HASH
    for row in rows:
        assert bytes(row.prev_hash) == previous and bytes(row.hash) == link_hash(previous, bytes(row.body))
        previous = bytes(row.hash)
