"""The outbox relay on the real broker and PostgreSQL: topics, order, headers, catalog, and its faults."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from bench.harness import (
    Rig,
    append_units,
    applied_by_projection,
    consume_all,
    events_read,
    unit_registered,
    wait_for,
)
from services.kernel.appended import AppendedSignal
from services.kernel.codec import AvroCodec
from services.kernel.db import make_engine
from services.kernel.messaging import header_map
from services.kernel.schemas import fingerprint
from services.pipeline import tables
from services.pipeline.catalog import read_catalog
from services.pipeline.topics import ensure_topics, topic_specs
from tests.factories import guidance_issued

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def rig(postgres_url: str, kafka_bootstrap: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    with Rig(postgres_url, kafka_bootstrap, tmp_path) as built:
        yield built


def published(rig: Rig) -> int:
    with rig.node.engine.connect() as conn:
        return tables.get_published(conn, "kafka") if "relay_position" in _tables(conn) else 0


def _tables(conn) -> set[str]:  # type: ignore[no-untyped-def]
    from sqlalchemy import inspect

    return set(inspect(conn).get_table_names())


def store_ids(rig: Rig) -> set[str]:
    return {e.event_id for e in rig.node.store.read_all(0, 10**9)}


def kafka_ids(rig: Rig) -> list[str]:
    return [header_map(r.headers)["ce_id"] for r in consume_all(rig.bootstrap_servers, rig.topics.events)]


def test_topics_are_created_idempotently_with_their_configuration(rig: Rig) -> None:
    admin = KafkaAdminClient(bootstrap_servers=rig.bootstrap_servers)
    try:
        again = ensure_topics(admin, topic_specs(rig.settings))  # the rig created them already
        described = {t["name"]: len(t["partitions"]) for t in admin.describe_topics([s.name for s in again])}
        resources = [ConfigResource(ConfigResourceType.TOPIC, s.name) for s in again]
        configs = admin.describe_configs(resources, config_filter="all")["topic"]
    finally:
        admin.close()
    assert {s.action for s in again} == {"exists"}
    assert described == {
        f"thidua.{rig.settings.node_id}.{c}": 3 for c in ("plans", "reports", "awards", "registry")
    } | {
        rig.topics.dead_letters: 1,
        rig.topics.schemas: 1,
    }
    for topic in rig.topics.events:
        assert configs[topic]["retention.ms"]["value"] == "-1" and configs[topic]["cleanup.policy"]["value"] == "delete"
    assert configs[rig.topics.schemas]["cleanup.policy"]["value"] == "compact"
    assert configs[rig.topics.dead_letters]["retention.ms"]["value"] == str(rig.settings.kafka_dead_letter_retention_ms)


def test_relay_publishes_in_order_to_context_topics_and_records_the_position(rig: Rig) -> None:
    store = rig.node.store
    append_units(store, 300, per_stream=30)
    for i in range(10):
        store.append(f"guidance-{i}", 0, [guidance_issued(f"Hướng dẫn {i}")])
    store.append("orgunit-U-1", 0, [unit_registered("U-1", "VN/46/19753")])
    relay = rig.relay()
    assert relay.lag() == 312  # with the node key's announcement
    assert relay.run_until_idle() == 312
    assert published(rig) == store.head_position() and relay.lag() == 0

    records = consume_all(rig.bootstrap_servers, rig.topics.events)
    by_id = {e.event_id: e for e in store.read_all(0, 1000)}
    last_version: dict[str, int] = defaultdict(int)
    for record in records:
        headers = header_map(record.headers)
        stored = by_id[headers["ce_id"]]
        context = "plans" if stored.event_type == "GuidanceIssued" else "registry"  # and the key announcement
        assert record.topic == f"thidua.{rig.settings.node_id}.{context}"
        assert record.key == stored.stream_id.encode() and record.value == stored.body
        assert headers["ce_type"] == f"vn.thidua.events.{stored.event_type}" and headers["ce_specversion"] == "1.0"
        assert int(headers["ce_sequence"]) == stored.position and headers["content-type"] == "application/avro"
        assert stored.stream_version == last_version[stored.stream_id] + 1  # per-stream order on its partition
        last_version[stored.stream_id] = stored.stream_version
    assert len(records) == 312 and {header_map(r.headers)["ce_id"] for r in records} == set(by_id)


def test_an_idle_relay_wakes_when_an_append_commits_not_at_its_next_poll(rig: Rig) -> None:
    relay = rig.relay()
    stop = threading.Event()
    thread = threading.Thread(target=relay.run_forever, args=(stop, 60.0), daemon=True)  # polls once a minute
    thread.start()
    try:
        wait_for(lambda: relay.appended.listening, 30, 0.01, "the idle relay listens for appends")
        rig.node.store.append("guidance-w", 0, [guidance_issued("Hướng dẫn lúc rảnh")])
        wait_for(lambda: published(rig) == rig.node.store.head_position(), 20, 0.05, "published before the poll")
        assert relay.appended.wakeups == 1
        with rig.node.engine.begin() as conn:  # a transaction that takes the lock and rolls back announces nothing
            rig.node.store.lock(conn)
            conn.rollback()
        time.sleep(0.5)
        assert relay.appended.wakeups == 1
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive() and not relay.appended.listening


def test_the_schema_catalog_topic_holds_every_schema_by_fingerprint(rig: Rig, codec: AvroCodec) -> None:
    from services.pipeline.catalog import publish_catalog

    relay = rig.relay()
    publish_catalog(relay.producer(), rig.topics.schemas, codec.catalog)
    publish_catalog(relay.producer(), rig.topics.schemas, codec.catalog)  # republishing is harmless
    relay.close()
    consumer = KafkaConsumer(bootstrap_servers=rig.bootstrap_servers, enable_auto_commit=False)
    try:
        catalog = read_catalog(consumer, rig.topics.schemas)
    finally:
        consumer.close()
    assert set(catalog) == {v.fingerprint.hex() for v in codec.catalog.all_versions()}
    for key, schema_json in catalog.items():
        version = codec.catalog.by_fingerprint(bytes.fromhex(key))
        assert version is not None and fingerprint(version.canonical_form).hex() == key
        assert json.loads(schema_json) == version.schema


@pytest.mark.slow
def test_kill_9_relay_mid_batch_then_restart_loses_nothing_and_counts_once(rig: Rig) -> None:
    append_units(rig.node.store, 3000, per_stream=20)
    head = rig.node.store.head_position()
    env = {"THIDUA_DATABASE_URL": rig.settings.database_url or ""}  # the relay reads the store's schema
    relay = rig.start("relay-1", ["relay"], THIDUA_RELAY_BATCH_SIZE="750", **env)
    watcher = KafkaConsumer(bootstrap_servers=rig.bootstrap_servers)
    partitions = [TopicPartition(t, p) for t in rig.topics.events for p in range(3)]

    def in_kafka() -> int:
        return sum(watcher.end_offsets(partitions).values())

    def frozen_mid_batch() -> bool:
        """Freeze the relay while it has sent more than it recorded; kill -9 it in that state."""
        if not (in_kafka() > published(rig) and published(rig) < head):
            return False
        relay.pause()
        if in_kafka() > published(rig):
            relay.kill()
            return True
        relay.resume()
        return False

    wait_for(frozen_mid_batch, 60, 0.005, "relay frozen mid-batch")
    watcher.close()
    sent, recorded = sum(rig.end().values()), published(rig)
    assert sent > recorded and recorded < head  # killed after sending, before recording the position
    again = rig.start("relay-2", ["relay", "--once"], **env)
    assert again.wait(120) == 0, again.log()
    assert published(rig) == head

    ids = kafka_ids(rig)
    assert set(ids) == store_ids(rig)  # every event reached Kafka at least once
    duplicates = len(ids) - len(set(ids))
    assert duplicates >= sent - recorded > 0  # what was sent but not recorded was published again
    rig.start("worker", ["worker"])
    rig.wait_applied(90)
    assert rig.kafka_read_model() == rig.embedded_read_model()  # each event counted exactly once
    expected = events_read(rig.node.store, rig.node.projections)  # each event a read model reads, once
    assert applied_by_projection(rig.read_engine) == expected, f"{duplicates} duplicates in Kafka"


@pytest.mark.slow
def test_broker_stopped_while_the_relay_publishes_then_started_again(
    postgres_url: str, tmp_path: Path, free_ports: list[int]
) -> None:
    kafka_sh = str(ROOT / "infra/kafka/kafka.sh")
    broker_dir = tmp_path / "broker"
    port, controller = free_ports[0], free_ports[1]
    _run([kafka_sh, "start", str(broker_dir), str(port), str(controller)])
    try:
        with Rig(postgres_url, f"127.0.0.1:{port}", tmp_path / "rig") as rig:
            store = rig.node.store
            append_units(store, 2000, per_stream=20)
            env = {"THIDUA_DATABASE_URL": rig.settings.database_url or "", "THIDUA_RELAY_BATCH_SIZE": "200"}
            rig.start("relay", ["relay"], **env)
            wait_for(lambda: published(rig) > 0, 60, 0.05, "first batch published")
            _run([kafka_sh, "stop", str(broker_dir)])
            append_units(store, 1000, per_stream=20, prefix="D")  # written while the broker is away
            time.sleep(2)
            assert published(rig) < store.head_position()
            _run([kafka_sh, "start", str(broker_dir), str(port), str(controller)])
            wait_for(lambda: published(rig) == store.head_position(), 120, 0.2, "relay caught up")
            ids = kafka_ids(rig)
            assert set(ids) == store_ids(rig) and len(store_ids(rig)) == 3001  # nothing lost (and the key announced)
    finally:
        _run([kafka_sh, "stop", str(broker_dir)])


@pytest.mark.slow
def test_a_worker_and_a_relay_started_while_the_broker_is_down_wait_and_catch_up(
    postgres_url: str, tmp_path: Path, free_ports: list[int]
) -> None:
    """A broker outage: processes started before the broker is up wait, saying so every few seconds (not a
    line per failed connection), and catch up once it comes."""
    kafka_sh = str(ROOT / "infra/kafka/kafka.sh")
    broker_dir = tmp_path / "broker"
    port, controller = free_ports[0], free_ports[1]
    _run([kafka_sh, "start", str(broker_dir), str(port), str(controller)])
    try:
        with Rig(postgres_url, f"127.0.0.1:{port}", tmp_path / "rig") as rig:  # its topics exist on the broker
            _run([kafka_sh, "stop", str(broker_dir)])
            append_units(rig.node.store, 500, per_stream=20)
            worker = rig.start("worker", ["worker"])
            relay = rig.start("relay", ["relay"], THIDUA_DATABASE_URL=rig.settings.database_url or "")
            wait_for(lambda: "waiting for it" in worker.log() and "waiting for it" in relay.log(), 60, 0.2, "waiting")
            time.sleep(12)  # an outage of a dozen seconds: a few lines, not hundreds
            assert worker.alive() and relay.alive()  # still running, not exited
            for process in (worker, relay):
                lines = [line for line in process.log().splitlines() if "Kafka" in line]
                assert 1 <= len(lines) <= 4, lines
            _run([kafka_sh, "start", str(broker_dir), str(port), str(controller)])
            wait_for(lambda: published(rig) == rig.node.store.head_position(), 120, 0.2, "relay caught up")
            rig.wait_applied(120)
            assert rig.kafka_read_model() == rig.embedded_read_model()
            assert "Kafka is back" in worker.log() and "Kafka is back" in relay.log()
    finally:
        _run([kafka_sh, "stop", str(broker_dir)])


def _run(command: list[str]) -> None:
    import subprocess

    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture
def free_ports() -> list[int]:
    import socket

    sockets = []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_waiting_for_appends_without_a_database_sleeps_the_interval_instead_of_failing() -> None:
    signal = AppendedSignal(make_engine("postgresql+psycopg://thidua@127.0.0.1:1/nowhere"))  # nothing listens there
    stop = threading.Event()
    started = time.monotonic()
    signal.wait(stop, 0.3)  # the poller (relay, tail) goes on polling until the database is back
    assert time.monotonic() - started >= 0.3 and not signal.listening and signal.wakeups == 0
