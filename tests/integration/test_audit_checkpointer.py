"""Automatic checkpoints on SQLite and PostgreSQL: the Checkpointer by count and by time, one checkpoint when
several processes decide at once, serve's background thread, and the leader relay (real Kafka)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kafka.admin import KafkaAdminClient
from sqlalchemy import Engine, select

from bench.harness import append_units, consume_all, wait_for
from services.audit.checkpoints import CHECKPOINT, Checkpointer, start_checkpoints
from services.audit.keys import load_or_create, trusted_keys
from services.audit.verify import verify_chain
from services.bootstrap import Node, bootstrap
from services.kernel.codec import AvroCodec
from services.kernel.messaging import header_map
from services.kernel.settings import Settings
from services.kernel.store import EventStore
from services.kernel.tables import event as event_table
from services.pipeline.relay import Relay, build_relay
from services.pipeline.topics import Topics, ensure_topics, topic_specs

KEY = Ed25519PrivateKey.generate()


def checkpoints(store: EventStore) -> list[int]:
    """Head positions the node's checkpoints signed, in order."""
    with store.engine.connect() as conn:
        query = select(event_table.c.position).where(event_table.c.event_type == CHECKPOINT)
        positions = list(conn.execute(query.order_by(event_table.c.position)).scalars())
    return positions


def verified(store: EventStore, key: Ed25519PrivateKey = KEY) -> int:
    """Checkpoints verified on an intact chain."""
    report = verify_chain(store.engine, store.codec, trusted_keys(key, store.node_id, None))
    assert report.ok, report.first_break
    return int(report.checkpoints)


@pytest.fixture
def store(engine: Engine, codec: AvroCodec) -> EventStore:
    return EventStore(engine, codec, "p46")


def test_a_checkpoint_every_n_events_or_after_m_minutes_never_over_nothing(store: EventStore) -> None:
    start = store.clock()
    auto = Checkpointer(store, lambda: KEY, every=5, seconds=600, started_at=start)
    assert auto.tick(start + timedelta(days=1)) is None  # an empty log: nothing to sign, however late
    append_units(store, 4, per_stream=4)
    assert auto.tick(start + timedelta(minutes=9)) is None  # 4 < 5 events, 9 < 10 minutes
    append_units(store, 1, per_stream=1, prefix="C")
    first = auto.tick(start + timedelta(minutes=9))
    assert first is not None and (first.head_position, first.event_count) == (5, 5)
    assert auto.tick(first_time := store.clock() + timedelta(days=1)) is None  # nothing new since: no checkpoint
    append_units(store, 1, per_stream=1, prefix="D")
    assert auto.tick(first_time - timedelta(days=1) + timedelta(minutes=9)) is None
    second = auto.tick(store.clock() + timedelta(minutes=10, seconds=1))  # one new event, 10 minutes after
    assert second is not None and second.head_position == first.position + 1
    assert checkpoints(store) == [first.position, second.position] and verified(store) == 2
    assert auto.written == 2


def test_processes_deciding_at_once_write_one_checkpoint(store: EventStore) -> None:
    append_units(store, 7, per_stream=7)
    deciders = [Checkpointer(store, lambda: KEY, every=5, seconds=0) for _ in range(4)]
    barrier, written = threading.Barrier(len(deciders)), []

    def decide(auto: Checkpointer) -> None:
        barrier.wait()
        written.append(auto.tick())

    threads = [threading.Thread(target=decide, args=(auto,)) for auto in deciders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len([w for w in written if w is not None]) == 1 and len(checkpoints(store)) == 1


def test_the_serve_thread_signs_when_due_survives_a_failure_and_stops_on_request(store: EventStore) -> None:
    calls = []

    def key() -> Ed25519PrivateKey:  # the first attempt fails (e.g. the key file is not readable yet)
        calls.append(1)
        if len(calls) == 1:
            raise PermissionError("key file not readable")
        return KEY

    stop = threading.Event()
    thread = start_checkpoints(Checkpointer(store, key, every=3, seconds=0), stop, interval=0.05)
    append_units(store, 3, per_stream=3)
    wait_for(lambda: checkpoints(store), 20, 0.05, "a checkpoint from the thread")
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and thread.daemon and len(calls) >= 2
    assert verified(store) == 1


@pytest.fixture
def relay_node(engine: Engine, tmp_path: Path, kafka_bootstrap: str) -> Iterator[Node]:
    """A node with topics of its own on the real broker, automatic checkpoints every 5 events; topics deleted."""
    settings = Settings(
        data_dir=tmp_path,
        node_id=f"c{uuid.uuid4().hex[:8]}",
        kafka_bootstrap_servers=kafka_bootstrap,
        audit_checkpoint_every=5,
        audit_checkpoint_seconds=0,
    )
    node = bootstrap(settings, engine=engine)
    node.init_db()
    topics = Topics(settings.node_id)
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        ensure_topics(admin, topic_specs(settings))
        yield node
    finally:
        admin.delete_topics([*topics.events, topics.dead_letters, topics.schemas])
        admin.close()


def running(relay: Relay) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=relay.run_forever, args=(stop, 0.05), daemon=True)
    thread.start()
    return stop, thread


def test_the_leader_relay_writes_checkpoints_and_publishes_them(relay_node: Node) -> None:
    store = relay_node.store
    relay = build_relay(relay_node, relay_node.settings)
    relay.checkpoint_check_seconds = 0.05
    append_units(store, 12, per_stream=4)  # before the relay starts: its first batch holds all 12
    stop, thread = running(relay)
    try:
        wait_for(lambda: len(checkpoints(store)) == 1 and relay.position() == store.head_position(), 30, 0.05)
        append_units(store, 5, per_stream=5, prefix="E")  # one append: the relay sees all 5 at once
        wait_for(lambda: len(checkpoints(store)) == 2 and relay.position() == store.head_position(), 30, 0.05)
    finally:
        stop.set()
        thread.join(15)
    node_key = load_or_create(relay_node.settings.effective_audit_key_file)  # generated at the first append
    # position 1 is the node key's announcement (SigningKeyActivated), then 12 units, the checkpoint, 5 more
    assert checkpoints(store) == [14, 20] and relay.stats.checkpoints == 2 and verified(store, node_key) == 2
    registry = consume_all(relay_node.settings.kafka_bootstrap_servers or "", [relay.topics.context("registry")])
    types = [header_map(r.headers)["ce_type"].rsplit(".", 1)[-1] for r in registry]
    assert types.count(CHECKPOINT) == 2  # checkpoints travel with the registry topic, retained forever


def test_a_failing_checkpoint_never_stops_the_relay(relay_node: Node) -> None:
    store = relay_node.store
    relay = build_relay(relay_node, relay_node.settings)
    relay.checkpointer = Checkpointer(store, _broken_key, every=1, seconds=0)
    relay.checkpoint_check_seconds = 0.05
    stop, thread = running(relay)
    try:
        append_units(store, 10, per_stream=5)
        wait_for(lambda: relay.position() == store.head_position() == 11, 30, 0.05, "everything published")
        wait_for(lambda: relay.stats.checkpoint_failures >= 2, 30, 0.05, "checkpoints retried")
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive() and relay.stats.failures == 0 and checkpoints(store) == []


def _broken_key() -> Ed25519PrivateKey:
    raise PermissionError("key file not readable")
