"""Event-store contract suite, run against SQLite and a real PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, select, text
from sqlalchemy import event as sa_event

from services.kernel import store as store_module
from services.kernel.appended import AppendedSignal
from services.kernel.codec import AvroCodec
from services.kernel.db import is_postgres
from services.kernel.errors import DuplicateEventConflict, SchemaViolation, StoreIntegrityError, VersionConflict
from services.kernel.eventlog import COPY_FROM_ROWS, lock_and_read_state
from services.kernel.store import GENESIS_HASH, EventStore, link_hash
from services.kernel.tables import event as event_table
from services.migrations import upgrade
from tests.conftest import _postgres_engine
from tests.factories import guidance_issued, org_unit_registered


@pytest.fixture
def store(engine: Engine, codec: AvroCodec) -> EventStore:
    return EventStore(engine, codec, node_id="p46")


def test_append_and_read_stream(store: EventStore) -> None:
    result = store.append("s-1", 0, [guidance_issued("một"), guidance_issued("hai")])
    assert result.version == 2 and len(result.positions) == 2 and not result.duplicate
    events = store.read_stream("s-1")
    assert [e.stream_version for e in events] == [1, 2]
    assert [e.position for e in events] == result.positions
    decoded = store.codec.decode(events[1].body)
    assert decoded.name == "GuidanceIssued" and decoded.datum["title"] == "hai"
    meta = decoded.datum["meta"]
    assert (meta["stream_id"], meta["stream_version"], meta["node_id"]) == ("s-1", 2, "p46")
    assert events[0].occurred_at.isoformat() == "2026-06-01T00:00:00+00:00"
    assert events[0].recorded_at.tzinfo is not None
    assert meta["recorded_at"] == events[1].recorded_at


def test_conflict_writes_nothing(store: EventStore) -> None:
    store.append("s-1", 0, [guidance_issued()])
    head = store.head_position()
    with pytest.raises(VersionConflict) as raised:
        store.append("s-1", 0, [guidance_issued(), guidance_issued()])
    assert raised.value.code == "VERSION_CONFLICT"
    assert raised.value.details == {"stream_id": "s-1", "expected_version": 0, "actual_version": 1}
    assert store.head_position() == head and store.stream_version("s-1") == 1


def test_failed_batch_is_atomic(store: EventStore) -> None:
    bad = org_unit_registered("U-1", name=None)  # name is required by the schema: encoding fails
    with pytest.raises(SchemaViolation):
        store.append("s-2", 0, [guidance_issued(), bad])
    assert store.read_stream("s-2") == [] and store.head_position() == 0


def test_idempotent_reappend_is_a_no_op(store: EventStore) -> None:
    batch = [guidance_issued("a"), guidance_issued("b")]
    first = store.append("s-1", 0, batch)
    again = store.append("s-1", 0, batch)  # same event ids, e.g. a retried import
    assert again.duplicate and again.positions == first.positions and again.version == 2
    assert len(store.read_all()) == 2


def test_partial_or_cross_stream_duplicates_are_refused(store: EventStore) -> None:
    a, b = guidance_issued("a"), guidance_issued("b")
    store.append("s-1", 0, [a])
    with pytest.raises(DuplicateEventConflict):
        store.append("s-1", None, [a, b])
    with pytest.raises(DuplicateEventConflict):
        store.append("other", 0, [a])
    assert len(store.read_all()) == 1


def test_read_all_in_batches(store: EventStore) -> None:
    for i in range(7):
        store.append(f"s-{i % 3}", None, [guidance_issued(str(i))])
    seen, after = [], 0
    while batch := store.read_all(after, limit=3):
        seen += batch
        after = batch[-1].position
    assert len(seen) == 7 and [e.position for e in seen] == sorted(e.position for e in seen)


def test_hash_chain_links_every_event(store: EventStore) -> None:
    for i in range(5):
        store.append(f"s-{i % 2}", None, [guidance_issued(str(i)), guidance_issued(str(i))])
    prev = GENESIS_HASH
    for stored in store.read_all():
        assert stored.prev_hash == prev
        assert stored.hash == link_hash(prev, stored.body)
        prev = stored.hash


def _append_with_retry(store: EventStore, stream: str, writer: int, count: int, won: list[Any]) -> None:
    for i in range(count):
        while True:
            version = store.stream_version(stream)
            try:
                result = store.append(stream, version, [guidance_issued(f"w{writer}-{i}")])
                won.append((writer, i, result.version))
                break
            except VersionConflict:
                time.sleep(random.random() / 1000)


@pytest.mark.slow
def test_eight_concurrent_writers_on_one_stream(store: EventStore) -> None:
    won: list[Any] = []
    writers = [threading.Thread(target=_append_with_retry, args=(store, "hot", w, 15, won)) for w in range(8)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    events = store.read_stream("hot")
    assert [e.stream_version for e in events] == list(range(1, 121))  # each version won exactly once
    titles = sorted(store.codec.decode(e.body).datum["title"] for e in events)
    assert titles == sorted(f"w{w}-{i}" for w in range(8) for i in range(15))  # nothing lost, nothing twice
    assert sorted(v for _, _, v in won) == list(range(1, 121))


@pytest.mark.slow
def test_tailing_reader_misses_nothing_under_concurrent_writers(store: EventStore, engine: Engine) -> None:
    """Commits are delayed at random after the rows are written; a tail must still see every event."""

    @sa_event.listens_for(engine, "commit")
    def _slow_commit(_conn: Any) -> None:
        time.sleep(random.random() / 200)

    stop = threading.Event()
    seen: list[int] = []

    def tail() -> None:
        after = 0
        while True:
            done = stop.is_set()  # read the flag before reading, so the last pass sees everything
            batch = store.read_all(after, limit=50)
            for stored in batch:
                seen.append(stored.position)
                after = stored.position
            if done and not batch:
                return

    def write(writer: int) -> None:
        for i in range(20):
            store.append(f"w{writer}-{i}", 0, [guidance_issued(), guidance_issued()])

    reader = threading.Thread(target=tail)
    reader.start()
    writers = [threading.Thread(target=write, args=(w,)) for w in range(8)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    reader.join()
    with engine.connect() as conn:
        stored = [r.position for r in conn.execute(select(event_table.c.position).order_by("position"))]
    assert len(stored) == 320
    assert seen == stored  # every committed event, once, in order: no skipped positions


def test_append_many_is_one_atomic_batch(store: EventStore, engine: Engine) -> None:
    store.append("s-0", 0, [guidance_issued("đã có")])
    batch = [
        ("s-1", 0, [guidance_issued("a"), guidance_issued("b")]),
        ("s-2", None, [guidance_issued("c")]),
        ("s-1", 2, [guidance_issued("d")]),
        ("s-0", 1, [guidance_issued("e")]),
    ]
    with engine.begin() as conn:
        results = store.append_many(conn, batch)
    assert [(r.stream_id, r.version, len(r.positions)) for r in results] == [
        ("s-1", 2, 2),
        ("s-2", 1, 1),
        ("s-1", 3, 1),
        ("s-0", 2, 1),
    ]
    assert [e.stream_version for e in store.read_stream("s-1")] == [1, 2, 3]
    prev = GENESIS_HASH
    for stored in store.read_all():  # one chain across the batch
        assert stored.prev_hash == prev and stored.hash == link_hash(prev, stored.body)
        prev = stored.hash
    head = store.head_position()
    with pytest.raises(VersionConflict), engine.begin() as conn:  # one stale item fails the whole batch
        store.append_many(conn, [("s-3", 0, [guidance_issued()]), ("s-2", 0, [guidance_issued()])])
    assert store.head_position() == head and store.read_stream("s-3") == []
    with engine.begin() as conn:  # repeating a batch is a no-op that answers the first positions
        again = store.append_many(conn, batch[:2])
    assert [r.duplicate for r in again] == [True, True] and again[0].positions == results[0].positions


# --- The bulk write path (COPY on PostgreSQL) and the one position counter every insert shares -----------------


def _batch(streams: int, per_stream: int, prefix: str = "b") -> list[Any]:
    """``streams`` new streams of ``per_stream`` events: enough rows for the bulk path (COPY on PostgreSQL)."""
    return [
        (f"{prefix}-{s}", 0, [guidance_issued(f"{prefix}{s}.{i}") for i in range(per_stream)]) for s in range(streams)
    ]


def _positions(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [r.position for r in conn.execute(select(event_table.c.position).order_by(event_table.c.position))]


def _assert_chain(store: EventStore) -> None:
    prev = GENESIS_HASH
    for stored in store.read_all(limit=10_000):
        assert stored.prev_hash == prev and stored.hash == link_hash(prev, stored.body), stored.position
        prev = stored.hash


def test_bulk_single_and_imported_events_share_one_gapless_counter(store: EventStore, engine: Engine) -> None:
    assert COPY_FROM_ROWS <= 30  # the bulk batches below take the COPY path on PostgreSQL
    foreign = EventStore(engine, store.codec, "p15")._row("from-p15", 1, guidance_issued("p15"), GENESIS_HASH)
    written: list[int] = []
    written += store.append("single-1", 0, [guidance_issued()]).positions
    with engine.begin() as conn:
        written += [p for r in store.append_many(conn, _batch(10, 3, "x")) for p in r.positions]
    written += store.append("single-2", 0, [guidance_issued(), guidance_issued()]).positions
    with engine.begin() as conn:
        imported = store.import_foreign(conn, foreign["body"], "p15")
    written.append(imported.position or 0)
    with engine.begin() as conn:
        written += [p for r in store.append_many(conn, _batch(4, 8, "y")) for p in r.positions]
    written += store.append("single-3", 0, [guidance_issued()]).positions  # the default path after a COPY
    assert written == list(range(1, 68)) == _positions(engine)
    assert [e.stream_version for e in store.read_stream("y-3")] == list(range(1, 9))
    _assert_chain(store)
    if is_postgres(engine):
        with engine.connect() as conn:  # the sequence stands where the rows are: the next nextval is 68
            assert conn.execute(text("SELECT last_value FROM event_position_seq")).scalar_one() == 67


def test_bulk_results_match_the_stored_rows(store: EventStore, engine: Engine) -> None:
    batch = [*_batch(12, 3), ("b-0", 3, [guidance_issued("again")])]
    with engine.begin() as conn:
        results = store.append_many(conn, batch)
    for (stream, _, events), result in zip(batch, results, strict=True):
        stored = {e.event_id: e for e in store.read_stream(stream)}
        assert [stored[i].position for i in result.event_ids] == result.positions
        assert result.event_ids == [e.event_id for e in events] and result.stream_id == stream
    assert results[-1].version == 4 and store.stream_version("b-0") == 4


def test_conflict_in_the_middle_of_a_bulk_batch_writes_nothing(store: EventStore, engine: Engine) -> None:
    store.append("b-20", 0, [guidance_issued()])
    head = store.head_position()
    batch = _batch(40, 2)  # b-20 expects version 0 but is at 1
    with pytest.raises(VersionConflict) as raised, engine.begin() as conn:
        store.append_many(conn, batch)
    assert raised.value.details == {"stream_id": "b-20", "expected_version": 0, "actual_version": 1}
    assert store.head_position() == head and store.read_stream("b-19") == [] and store.stream_version("b-20") == 1
    batch[20] = ("b-20", 1, batch[20][2])
    with engine.begin() as conn:
        results = store.append_many(conn, batch)
    assert results[0].positions[0] == head + 1  # the refused batch took no numbers
    assert _positions(engine) == list(range(1, head + 81))
    _assert_chain(store)


def test_schema_violation_in_a_bulk_batch_writes_nothing_and_keeps_the_transaction(
    store: EventStore, engine: Engine
) -> None:
    batch = _batch(15, 2)
    batch[7] = ("b-7", 0, [guidance_issued(), org_unit_registered("U-1", name=None)])  # name is required
    with engine.begin() as conn:
        with pytest.raises(SchemaViolation):
            store.append_many(conn, batch)
        assert store.append_many(conn, _batch(15, 2, "c"))[0].positions == [1, 2]  # the transaction goes on
    assert store.read_stream("b-0") == [] and store.head_position() == 30


def test_one_event_id_twice_in_a_batch_is_refused(store: EventStore, engine: Engine) -> None:
    batch = _batch(15, 2)
    twice = batch[3][2][1]
    batch[9] = ("b-9", 0, [guidance_issued(), twice])
    with pytest.raises(DuplicateEventConflict) as raised, engine.begin() as conn:
        store.append_many(conn, batch)
    assert raised.value.details["event_ids"] == [twice.event_id]
    assert store.head_position() == 0


def test_bulk_repeat_is_a_no_op_answering_the_first_positions(store: EventStore, engine: Engine) -> None:
    batch = _batch(10, 3)
    with engine.begin() as conn:
        first = store.append_many(conn, batch)
    with engine.begin() as conn:
        again = store.append_many(conn, batch)
    assert all(r.duplicate for r in again) and [r.positions for r in again] == [r.positions for r in first]
    assert [r.version for r in again] == [3] * 10 and store.head_position() == 30


def test_a_position_is_never_given_twice(store: EventStore, engine: Engine) -> None:
    with engine.begin() as conn:
        store.append_many(conn, _batch(10, 3))
    with engine.begin() as conn:  # tampering removes the head row: its number stays used
        conn.execute(delete(event_table).where(event_table.c.position == 30))
    assert store.append("after", 0, [guidance_issued()]).positions == [31]
    with engine.begin() as conn:
        assert store.append_many(conn, _batch(10, 3, "c"))[0].positions[0] == 32


def test_rolled_back_bulk_append_leaves_the_counter_usable(store: EventStore, engine: Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:  # noqa: PT012 - the failure comes after the append
        store.append_many(conn, _batch(10, 3))
        raise RuntimeError("the caller fails after the append")
    assert store.head_position() == 0
    position = store.append("after", 0, [guidance_issued()]).positions[0]
    assert position == (31 if is_postgres(engine) else 1)  # PostgreSQL burns the numbers (a gap); SQLite reuses
    with engine.begin() as conn:
        assert store.append_many(conn, _batch(10, 3))[-1].positions[-1] == position + 30


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_row_written_past_the_lock_fails_the_bulk_append_whole(store: EventStore, engine: Engine) -> None:
    """A writer that bypassed the lock and the sequence takes a position the COPY needs: the driver's error
    surfaces as what it is (the position's key, not a version conflict) and the batch writes nothing."""
    store.append("s-0", 0, [guidance_issued()])
    intruder = EventStore(engine, store.codec, "p46")._row("intruder", 1, guidance_issued(), GENESIS_HASH)
    with engine.begin() as conn:
        conn.execute(insert(event_table).values(position=20, **intruder))
    with pytest.raises(StoreIntegrityError) as raised, engine.begin() as conn:
        store.append_many(conn, _batch(10, 3))
    assert raised.value.code == "STORE_INTEGRITY_ERROR" and raised.value.details == {"constraint": "pk_event"}
    assert _positions(engine) == [1, 20] and store.read_stream("b-0") == []


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
@pytest.mark.parametrize(("taken", "raised"), [("version", VersionConflict), ("event_id", DuplicateEventConflict)])
def test_a_key_taken_past_the_lock_is_named_for_what_it_is(
    store: EventStore, engine: Engine, taken: str, raised: type[Exception]
) -> None:
    """A writer that bypasses the lock commits, between the append's read and its insert, a row holding the stream
    version (a version conflict) or the event id (a duplicate) the append is about to write."""
    events = [guidance_issued("x")]
    stream_id = "s-taken"
    intruder = EventStore(engine, store.codec, "p46")._row(
        stream_id if taken == "version" else "other",
        1,
        events[0] if taken == "event_id" else guidance_issued(),
        GENESIS_HASH,
    )

    done: list[bool] = []

    def intrude(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO event") and not done:
            done.append(True)
            with engine.begin() as other:
                other.execute(insert(event_table).values(**intruder))

    sa_event.listen(engine, "before_cursor_execute", intrude)
    try:
        with pytest.raises(raised):
            store.append(stream_id, 0, events)
    finally:
        sa_event.remove(engine, "before_cursor_execute", intrude)
    held = [e.event_id for e in store.read_stream(stream_id)]
    assert held == ([intruder["event_id"]] if taken == "version" else [])


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_the_lock_is_taken_once_per_transaction_but_again_after_a_savepoint_rollback(
    store: EventStore, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    locks: list[str] = []

    @sa_event.listens_for(engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "pg_advisory_xact_lock" in statement:
            locks.append(statement)

    def _pipelined(conn: Any, lock: str, *args: Any) -> Any:  # the lock sent with the state read, past SQLAlchemy
        locks.append(lock)
        return lock_and_read_state(conn, lock, *args)

    monkeypatch.setattr(store_module, "lock_and_read_state", _pipelined)

    def held(conn: Any) -> int:
        query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        return int(conn.execute(text(query)).scalar_one())

    with engine.begin() as conn:
        store.lock(conn)
        store.append_in(conn, "s-1", 0, [guidance_issued()])
        store.append_in(conn, "s-1", 1, [guidance_issued()])
        assert len(locks) == 1 and held(conn) == 1
    with engine.begin() as conn:
        with conn.begin_nested() as savepoint:
            store.lock(conn)
            assert held(conn) == 1
            savepoint.rollback()
        assert held(conn) == 0  # the savepoint's rollback released it ...
        store.append_in(conn, "s-2", 0, [guidance_issued()])
        assert held(conn) == 1 and len(locks) == 3  # ... so the append took it again


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_an_append_that_waited_for_the_lock_reads_what_was_committed_while_it_waited(
    store: EventStore, engine: Engine
) -> None:
    """The lock and the log's state go out in one round trip, but the state is read after the lock is granted: an
    append that waited sees the holder's commit (a state read with the lock's own snapshot would not, and would write
    version 1 again and link to the old head)."""
    waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    outcome: list[Any] = []
    with engine.connect() as holder, holder.begin():
        store.append_in(holder, "s-1", 0, [guidance_issued()])

        def second() -> None:
            try:
                with engine.begin() as conn:
                    conn.execute(text("SELECT 1"))  # the transaction is under way before the lock is asked
                    outcome.append(store.append_many(conn, [("s-1", None, [guidance_issued()])]))
            except Exception as exc:  # noqa: BLE001 - the outcome under test
                outcome.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        with engine.connect() as watcher:
            deadline = time.monotonic() + 10
            while not watcher.execute(text(waiting)).scalar_one() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert watcher.execute(text(waiting)).scalar_one() == 1
    thread.join(timeout=10)
    [[result]] = outcome
    first, later = store.read_stream("s-1")
    assert (result.version, later.stream_version) == (2, 2)
    assert later.prev_hash == first.hash == link_hash(first.prev_hash, first.body)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_an_append_wakes_the_listeners_of_its_own_node_only(
    store: EventStore, engine: Engine, postgres_url: str, codec: AvroCodec
) -> None:
    """Each node notifies its own channel (named after its event table, like its lock): nodes that share a database
    in their own schemas (the sync rig) do not wake each other's relays and senders."""
    other_engine = next(other_engines := _postgres_engine(postgres_url))
    upgrade(other_engine)
    other = EventStore(other_engine, codec, "other-node")
    mine, theirs = AppendedSignal(engine), AppendedSignal(other_engine)
    stop = threading.Event()
    try:
        mine.wait(stop, 0.01)  # both listening from here on
        theirs.wait(stop, 0.01)
        other.append("s-other", 0, [guidance_issued()])
        mine.wait(stop, 0.5)
        theirs.wait(stop, 5)
        assert (mine.wakeups, theirs.wakeups) == (0, 1)
        store.append("s-mine", 0, [guidance_issued()])
        mine.wait(stop, 5)
        theirs.wait(stop, 0.5)
        assert (mine.wakeups, theirs.wakeups) == (1, 1)
    finally:
        mine.close()
        theirs.close()
        other_engines.close()  # drops the other node's schema


@pytest.mark.slow
def test_tailing_reader_misses_nothing_under_concurrent_bulk_and_single_writers(
    store: EventStore, engine: Engine
) -> None:
    """Bulk batches (COPY on PostgreSQL) and single appends at once, commits delayed at random: a tail sees every
    event once, in order, and the positions are the ones the appends answered."""

    @sa_event.listens_for(engine, "commit")
    def _slow_commit(_conn: Any) -> None:
        time.sleep(random.random() / 200)

    stop = threading.Event()
    seen: list[int] = []
    answered: list[int] = []

    def tail() -> None:
        after = 0
        while True:
            done = stop.is_set()
            batch = store.read_all(after, limit=50)
            seen.extend(e.position for e in batch)
            after = batch[-1].position if batch else after
            if done and not batch:
                return

    def write(writer: int) -> None:
        for i in range(6):
            if writer % 2:
                with engine.begin() as conn:
                    results = store.append_many(conn, _batch(10, 3, f"w{writer}.{i}"))
                answered.extend(p for r in results for p in r.positions)
            else:
                answered.extend(store.append(f"w{writer}-{i}", 0, [guidance_issued()]).positions)

    reader = threading.Thread(target=tail)
    reader.start()
    writers = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    reader.join()
    stored = _positions(engine)
    assert len(stored) == 3 * 6 * 30 + 3 * 6
    assert seen == stored == sorted(answered)
    _assert_chain(store)
