"""Importing foreign events, on SQLite and PostgreSQL: original bytes and facts kept, the local chain intact,
idempotent, reordering across sources parked and drained, conflicts and poison messages dead-lettered (on the
real broker: the dead letters are read back from its topic)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import IllegalStateError
from sqlalchemy import Engine, func, select

from bench.harness import consume_all, end_offsets, unit_registered
from services.kernel.codec import AvroCodec
from services.kernel.contracts import EVENT_TYPES
from services.kernel.db import make_engine
from services.kernel.errors import StreamConflict
from services.kernel.kafkaclients import make_producer
from services.kernel.messaging import to_message
from services.kernel.store import DUPLICATE, GAP, GENESIS_HASH, IMPORTED, EventStore, StoredEvent, link_hash
from services.kernel.tables import foreign_event
from services.kernel.tables import metadata as store_metadata
from services.pipeline.deadletters import Record
from services.pipeline.topics import Topics, TopicSpec, ensure_topics
from services.sync import tables
from services.sync.importer import Importer
from services.sync.outbound import ORIGIN_HASH_HEADER
from services.sync.receipts import build_receipt
from services.sync.rules import Topology
from tests.factories import guidance_issued

DEAD_LETTERS = Topics("central").dead_letters


@pytest.fixture
def producer(kafka_bootstrap: str) -> Iterator[KafkaProducer]:
    """The importing node's producer (dead letters), on the real broker."""
    made = make_producer(kafka_bootstrap, client_id="test-sync-import")
    yield made
    made.close()


@pytest.fixture
def dead_letters(kafka_bootstrap: str) -> Callable[[], list[Any]]:
    """Reads back the records this test put on central's dead-letter topic (those after its end offset now)."""
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        ensure_topics(admin, [TopicSpec(DEAD_LETTERS, 1, 1)])
    finally:
        admin.close()
    start = end_offsets(kafka_bootstrap, [DEAD_LETTERS]).get((DEAD_LETTERS, 0), 0)
    return lambda: [r for r in consume_all(kafka_bootstrap, [DEAD_LETTERS]) if r.offset >= start]


def reasons(records: list[Any]) -> list[bytes]:
    return [dict(r.headers)["dlt_reason"] for r in records]


@pytest.fixture
def origin(tmp_path: Path, codec: AvroCodec) -> EventStore:
    """The store of node p15, whose events the node under test imports."""
    engine = make_engine(f"sqlite:///{tmp_path / 'p15.db'}")
    store_metadata.create_all(engine)
    return EventStore(engine, codec, "p15")


@pytest.fixture
def store(engine: Engine, codec: AvroCodec) -> EventStore:
    """The importing node: central."""
    return EventStore(engine, codec, "central")


def record(stored: StoredEvent, offset: int, source: str = "p15") -> Record:
    message = to_message(stored)
    headers = (*message.headers, (ORIGIN_HASH_HEADER, stored.hash.hex().encode()))
    return Record(Topics(source).sync_to("central"), 0, offset, message.key, message.value, headers)


def importer(store: EventStore, producer: KafkaProducer) -> Importer:
    topology = Topology("central", None, ("p15", "p46"))
    return Importer(store.engine, store, EVENT_TYPES, topology, producer)


def test_a_foreign_event_keeps_its_bytes_ids_origin_and_time_and_joins_the_local_chain(
    store: EventStore, origin: EventStore
) -> None:
    store.append("guidance-local", 0, [guidance_issued()])
    origin.append("orgunit-U-1", 0, [unit_registered("U-1", "VN/15/02683")])
    sent = origin.read_all()[0]
    with store.engine.begin() as conn:
        first = store.import_foreign(conn, sent.body, "p15", sent.hash, sent.position)
        again = store.import_foreign(conn, sent.body, "p15", sent.hash, sent.position)
    assert (first.outcome, again.outcome, again.position) == (IMPORTED, DUPLICATE, first.position)
    local, imported = store.read_all()
    assert imported.body == sent.body and imported.event_id == sent.event_id
    assert (imported.stream_id, imported.stream_version, imported.node_id) == ("orgunit-U-1", 1, "p15")
    assert (imported.occurred_at, imported.recorded_at) == (sent.occurred_at, sent.recorded_at)
    assert imported.prev_hash == local.hash != sent.prev_hash  # the local chain, over local positions
    with store.engine.connect() as conn:
        row = conn.execute(select(foreign_event)).one()
    assert (row.origin_node, row.source_node, row.origin_hash, row.origin_position) == ("p15", "p15", sent.hash, 1)


def test_versions_ahead_are_gaps_and_taken_versions_conflict(store: EventStore, origin: EventStore) -> None:
    origin.append("guidance-g", 0, [guidance_issued("một")])
    origin.append("guidance-g", 1, [guidance_issued("hai")])
    one, two = origin.read_all()
    with store.engine.begin() as conn:
        assert store.import_foreign(conn, two.body, "p15").outcome == GAP
    assert store.head_position() == 0
    store.append("guidance-g", 0, [guidance_issued("của trung ương")])  # the same stream written here
    with store.engine.begin() as conn, pytest.raises(StreamConflict) as raised:
        store.import_foreign(conn, one.body, "p15")
    assert raised.value.code == "STREAM_CONFLICT"


def test_reordered_and_redelivered_records_are_parked_drained_and_imported_once(
    store: EventStore, origin: EventStore, producer: KafkaProducer, dead_letters: Callable[[], list[Any]]
) -> None:
    origin.append("guidance-g", 0, [guidance_issued("một"), guidance_issued("hai"), guidance_issued("ba")])
    events = origin.read_all()
    sync = importer(store, producer)
    outcomes = [sync.handle(record(events[i], offset)) for offset, i in enumerate([2, 1, 0, 0, 2])]
    assert outcomes == [GAP, GAP, IMPORTED, DUPLICATE, DUPLICATE]
    assert [e.event_id for e in store.read_stream("guidance-g")] == [e.event_id for e in events]
    assert [e.stream_version for e in store.read_all()] == [1, 2, 3]  # positions follow the versions
    with store.engine.connect() as conn:
        assert conn.execute(select(tables.sync_parked)).all() == []
        assert tables.offsets(conn) == {(Topics("p15").sync_to("central"), 0): 5}
        receipt = build_receipt(conn, "p15", "central", "2026-06", datetime.now(UTC))
    assert receipt["count"] == 3 and receipt["event_ids"] == sorted(e.event_id for e in events)
    assert dead_letters() == []


def test_poison_conflicting_and_misattributed_records_go_to_the_dead_letter_topic(
    store: EventStore, origin: EventStore, producer: KafkaProducer, dead_letters: Callable[[], list[Any]]
) -> None:
    origin.append("guidance-g", 0, [guidance_issued()])
    store.append("guidance-g", 0, [guidance_issued("trung ương")])
    sent = origin.read_all()[0]
    sync = importer(store, producer)
    garbage = Record(Topics("p15").sync_to("central"), 0, 0, b"k", b"\x00not avro")
    assert sync.handle(garbage) == "UNDECODABLE_MESSAGE"
    assert sync.handle(record(sent, 1)) == "STREAM_CONFLICT"
    assert sync.handle(record(sent, 0, source="p46")) == "ORIGIN_MISMATCH"  # p15's event on p46's topic
    letters = dead_letters()
    assert reasons(letters) == [b"UNDECODABLE_MESSAGE", b"STREAM_CONFLICT", b"ORIGIN_MISMATCH"]
    assert [r.value for r in letters] == [b"\x00not avro", to_message(sent).value, to_message(sent).value]
    assert store.head_position() == 1  # nothing imported


def test_one_poll_is_imported_in_one_transaction_a_refused_record_leaves_the_others(
    store: EventStore, origin: EventStore, producer: KafkaProducer, dead_letters: Callable[[], list[Any]]
) -> None:
    origin.append("guidance-g", 0, [guidance_issued("một"), guidance_issued("hai"), guidance_issued("ba")])
    events = origin.read_all()
    sync = importer(store, producer)
    topic = Topics("p15").sync_to("central")
    garbage = Record(topic, 0, 1, b"k", b"\x00not avro")
    poll = [record(events[1], 0), garbage, record(events[0], 2), record(events[2], 3)]
    assert sync.handle_many(poll) == [IMPORTED, "UNDECODABLE_MESSAGE", IMPORTED, IMPORTED]  # no parking: v1 came too
    assert [e.event_id for e in store.read_stream("guidance-g")] == [e.event_id for e in events]
    assert [e.stream_version for e in store.read_all()] == [1, 2, 3]  # written in version order
    with store.engine.connect() as conn:
        assert tables.offsets(conn) == {(topic, 0): 4}  # recorded once, after the last record of the poll
        assert conn.execute(select(tables.sync_parked)).all() == []
    assert reasons(dead_letters()) == [b"UNDECODABLE_MESSAGE"]
    assert sync.counts == {"UNDECODABLE_MESSAGE": 1, IMPORTED: 3}


def test_a_conflicting_record_in_the_middle_of_a_poll_leaves_the_imports_around_it(
    store: EventStore, origin: EventStore, producer: KafkaProducer, dead_letters: Callable[[], list[Any]]
) -> None:
    """A record refused by the store (its version taken here) is refused before anything of it is written: the poll's
    other records are imported, in the same transaction, without a savepoint per record."""
    origin.append("guidance-a", 0, [guidance_issued("a")])
    origin.append("guidance-taken", 0, [guidance_issued("của p15")])
    origin.append("guidance-b", 0, [guidance_issued("b")])
    store.append("guidance-taken", 0, [guidance_issued("trung ương")])
    a, taken, b = origin.read_all()
    sync = importer(store, producer)
    assert sync.handle_many([record(a, 0), record(taken, 1), record(b, 2)]) == [IMPORTED, "STREAM_CONFLICT", IMPORTED]
    assert [e.event_id for e in store.read_all()][1:] == [a.event_id, b.event_id]
    assert reasons(dead_letters()) == [b"STREAM_CONFLICT"]


def test_a_shuffled_poll_is_written_in_version_order_in_one_batch(
    store: EventStore, origin: EventStore, producer: KafkaProducer, dead_letters: Callable[[], list[Any]]
) -> None:
    """Ten events of a stream, shuffled, one of them twice, and the second event of another stream whose first is not
    here: one batch (COPY-sized) writes the ten in version order, hash-linked, and parks the other until its first
    event comes in a later poll."""
    origin.append("guidance-g", 0, [guidance_issued(f"g{i}") for i in range(10)])
    origin.append("guidance-h", 0, [guidance_issued("h1"), guidance_issued("h2")])
    g, (h1, h2) = origin.read_all()[:10], origin.read_all()[10:]
    order = [3, 0, 9, 1, 2, 8, 4, 5, 7, 6, 3]
    poll = [record(g[i], offset) for offset, i in enumerate(order)] + [record(h2, 11)]
    sync = importer(store, producer)
    assert sync.handle_many(poll) == [IMPORTED] * 10 + [DUPLICATE, GAP]
    assert [(e.stream_id, e.stream_version) for e in store.read_all()] == [("guidance-g", v) for v in range(1, 11)]
    assert sync.handle_many([record(h1, 12)]) == [IMPORTED]
    stored = store.read_all()
    assert [e.event_id for e in stored[10:]] == [h1.event_id, h2.event_id]  # the parked one drained after it
    previous = GENESIS_HASH
    for event in stored:
        assert event.prev_hash == previous and event.hash == link_hash(previous, event.body)
        previous = event.hash
    with store.engine.connect() as conn:
        assert conn.execute(select(tables.sync_parked)).all() == []
        assert conn.execute(select(func.count()).select_from(foreign_event)).scalar_one() == 12
    assert dead_letters() == []


def test_a_poll_whose_transaction_fails_records_nothing(
    store: EventStore, origin: EventStore, producer: KafkaProducer, dead_letters: Callable[[], list[Any]]
) -> None:
    origin.append("guidance-g", 0, [guidance_issued("một"), guidance_issued("hai")])
    events = origin.read_all()
    sync = importer(store, producer)
    producer.close()  # the producer is gone (node shutting down): the garbage record cannot be dead-lettered
    garbage = Record(Topics("p15").sync_to("central"), 0, 2, b"k", b"\x00not avro")
    with pytest.raises(IllegalStateError):
        sync.handle_many([record(events[0], 0), record(events[1], 1), garbage])
    assert store.head_position() == 0  # the two imports before it were rolled back with it: the poll is read again
    with store.engine.connect() as conn:
        assert tables.offsets(conn) == {}
    assert sync.counts == {} and dead_letters() == []
