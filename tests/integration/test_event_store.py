"""Event-store contract suite, run against SQLite and a real PostgreSQL (the ``engine`` fixture)."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy import event as sa_event

from services.kernel.codec import AvroCodec
from services.kernel.errors import DuplicateEventConflict, SchemaViolation, VersionConflict
from services.kernel.store import GENESIS_HASH, EventStore, link_hash
from services.kernel.tables import event as event_table
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
    batch = [("s-1", 0, [guidance_issued("a"), guidance_issued("b")]), ("s-2", None, [guidance_issued("c")]),
             ("s-1", 2, [guidance_issued("d")]), ("s-0", 1, [guidance_issued("e")])]  # fmt: skip
    with engine.begin() as conn:
        results = store.append_many(conn, batch)
    assert [(r.stream_id, r.version, len(r.positions)) for r in results] == [
        ("s-1", 2, 2), ("s-2", 1, 1), ("s-1", 3, 1), ("s-0", 2, 1)]  # fmt: skip
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
