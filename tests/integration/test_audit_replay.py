"""Replay from the store and from Kafka into shadow read models after the demo, on SQLite and PostgreSQL (Kafka
is the real broker): equal to live; by time; undecodable records; swap; the CLI."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient
from sqlalchemy import Engine, delete, func, inspect, select, text
from typer.testing import CliRunner

from bench.harness import append_units
from projections import tracking
from services.audit.kafka_replay import (
    KafkaReplayResult,
    Window,
    drop_event_ids,
    kafka_replay,
    make_consumer,
    swap_from_kafka,
)
from services.audit.replay import compare, replay, swap
from services.bootstrap import Node, bootstrap
from services.cli.main import app
from services.demo.year import run_demo
from services.kernel.codec import AvroCodec
from services.kernel.contracts import EVENT_TYPES
from services.kernel.settings import Settings
from services.pipeline.relay import build_relay
from services.pipeline.topics import Topics, ensure_topics, topic_specs
from tests.factories import HUE


@pytest.fixture
def node(engine: Engine, tmp_path) -> Node:  # type: ignore[no-untyped-def]
    built = bootstrap(Settings(data_dir=tmp_path, node_id="central", webhooks_enabled=False), engine=engine)
    built.init_db()
    run_demo(built)
    built.runner.run_until_idle()
    return built


def test_replay_into_shadows_equals_live_for_every_read_model(node: Node) -> None:
    result = replay(node.engine, node.store, node.codec, EVENT_TYPES, node.projections)
    assert result.position == node.store.head_position() and result.events == result.position
    for projection in node.projections:
        for diff in compare(node.engine, projection):
            assert diff.equal, (projection.name, diff)
    names = set(inspect(node.engine).get_table_names())
    assert "shadow_awards_proposal" in names and "shadow_rollup_count" in names
    head = node.store.head_position()  # no side effect: the live tracking records are untouched
    assert node.runner.positions() == {p.name: head for p in node.projections}


def test_partial_replay_differs_then_swap_catches_it_up_and_switches_it_in(node: Node) -> None:
    awards = next(p for p in node.projections if p.name == "awards")
    proposed = node.store.read_all(0, 10_000, types=["AwardProposed"])
    first = proposed[0].position
    result = replay(node.engine, node.store, node.codec, EVENT_TYPES, [awards], to_position=first)
    diffs = {d.table: d for d in compare(node.engine, awards)}
    assert diffs["awards_proposal"].shadow_rows == 1 and diffs["awards_proposal"].differing_keys
    with node.engine.begin() as conn:  # the live rows go astray: the swap must not keep any of them
        conn.execute(delete(awards.metadata.tables["awards_step"]))
    head = node.store.head_position()
    assert swap(node.builder(), awards, result.position) == head  # the events after `first` applied in the swap
    with node.engine.connect() as conn:
        assert tracking.get_position(conn, "awards") == head
        rows = conn.execute(select(func.count()).select_from(awards.metadata.tables["awards_proposal"])).scalar()
        assert rows == len(proposed) > 1  # every proposal of the demo, not only the first
    assert "shadow_awards_proposal" not in inspect(node.engine).get_table_names()
    assert node.runner.run_until_idle() == 0  # nothing left for the live tail
    replay(node.engine, node.store, node.codec, EVENT_TYPES, [awards])
    assert all(d.equal for d in compare(node.engine, awards))


# --- replay from Kafka: the demo relayed to the real broker, replayed into shadows --------------------------------


@pytest.fixture
def relayed(engine: Engine, tmp_path, kafka_bootstrap: str) -> Iterator[Node]:  # type: ignore[no-untyped-def]
    """The demo on a node of its own (unique node id: its own topics), relayed to Kafka; topics deleted after."""
    settings = Settings(
        data_dir=tmp_path,
        node_id=f"r{uuid.uuid4().hex[:8]}",
        kafka_bootstrap_servers=kafka_bootstrap,
        webhooks_enabled=False,
    )
    built = bootstrap(settings, engine=engine)
    built.init_db()
    run_demo(built)
    built.runner.run_until_idle()
    topics = Topics(settings.node_id)
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        ensure_topics(admin, topic_specs(settings))
        relay = build_relay(built, settings)
        relay.run_until_idle()
        relay.close()
        yield built
    finally:
        admin.delete_topics([*topics.events, topics.dead_letters, topics.schemas])
        admin.close()


def from_kafka(node: Node, projections: list[Any] | None = None, window: Window | None = None) -> KafkaReplayResult:
    consumer = make_consumer(node.settings)
    try:
        topics = Topics(node.settings.node_id).events
        chosen = projections or node.projections
        return kafka_replay(node.engine, consumer, node.codec, EVENT_TYPES, chosen, topics, window)
    finally:
        consumer.close()


def publish(node: Node, topic: str, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=node.settings.kafka_bootstrap_servers)
    for value in values:
        producer.send(topic, key=b"injected", value=value, headers=[("ce_id", b"injected")])
    producer.flush()
    producer.close()


def test_replay_from_kafka_equals_live_for_every_read_model(relayed: Node) -> None:
    node, head = relayed, relayed.store.head_position()
    relay = build_relay(node, node.settings)
    relay.publish(node.store.read_all(0, 40))  # a relay that crashed before recording: 40 events published twice
    relay.close()
    result = from_kafka(node)
    assert result.records == head + 40 and result.duplicates == 40 and not result.undecodable
    assert result.events == head and (result.first_position, result.position) == (1, head)
    assert len(result.offsets) == 4 * node.settings.kafka_topic_partitions and not result.missing_topics
    for projection in node.projections:
        for diff in compare(node.engine, projection):
            assert diff.equal, (projection.name, diff)
    assert node.runner.positions() == {p.name: head for p in node.projections}  # no side effect on the live runners
    with node.engine.connect() as conn:
        assert tracking.get_kafka_offsets(conn) == {}
        assert conn.execute(select(func.count()).select_from(tracking.projection_event)).scalar() == 0


def test_replay_since_and_until_a_time_take_the_records_published_after_and_before_it(relayed: Node) -> None:
    node, before = relayed, relayed.store.head_position()
    time.sleep(0.05)
    moment = datetime.now(UTC)
    time.sleep(0.05)
    append_units(node.store, 30, per_stream=10, prefix="S")  # three streams, published after the moment
    relay = build_relay(node, node.settings)
    relay.run_until_idle()
    relay.close()
    orgunits = [p for p in node.projections if p.name == "orgunits"]

    later = from_kafka(node, orgunits, Window(since=moment))
    assert (later.events, later.first_position, later.position) == (30, before + 1, before + 30)
    with node.engine.connect() as conn:
        rows = conn.execute(text("SELECT code FROM shadow_orgunit_unit WHERE source = 'EVENT'"))
        codes = {r.code for r in rows}
    assert codes == {f"S{i:07d}" for i in range(30)}  # only the later registrations, none of the demo's

    earlier = from_kafka(node, orgunits, Window(until=moment))
    assert (earlier.events, earlier.first_position, earlier.position) == (before, 1, before)


def test_undecodable_records_are_counted_and_skipped(relayed: Node, codec: AvroCodec) -> None:
    node = relayed
    not_an_event = codec.encode("vn.thidua.common.OrgUnitRef", HUE)
    publish(node, Topics(node.settings.node_id).context("registry"), [b"\x00garbage", not_an_event, b"\x00again"])
    result = from_kafka(node)
    assert result.undecodable == {"UNDECODABLE_MESSAGE": 2, "UNKNOWN_EVENT_TYPE": 1}
    assert result.records == result.events + 3 and result.events == node.store.head_position()
    assert all(d.equal for p in node.projections for d in compare(node.engine, p))


def test_swap_from_kafka_rebuilds_a_broken_read_model_and_hands_the_worker_its_offsets(relayed: Node) -> None:
    node, head = relayed, relayed.store.head_position()
    awards = next(p for p in node.projections if p.name == "awards")
    with node.engine.begin() as conn:  # the live read model loses rows
        conn.execute(delete(awards.metadata.tables["awards_proposal"]))
    result = from_kafka(node, [awards])
    assert not all(d.equal for d in compare(node.engine, awards))
    swap_from_kafka(node.engine, awards, result)
    drop_event_ids(node.engine)
    replay(node.engine, node.store, node.codec, EVENT_TYPES, [awards])  # the store's shadow: what live should be
    assert all(d.equal for d in compare(node.engine, awards))
    with node.engine.connect() as conn:
        assert tracking.get_position(conn, "awards") == head
        offsets = {(t, p): o for (_, t, p), o in tracking.get_kafka_offsets(conn, "awards").items()}
        ids = conn.execute(select(func.count()).select_from(tracking.projection_event)).scalar()
    assert offsets == {tp: stop - 1 for tp, (_, stop) in result.offsets.items()}
    assert ids == head and sum(result.applied.values()) == head
    assert "shadow_projection_event" not in inspect(node.engine).get_table_names()
    with pytest.raises(ValueError, match="cannot be swapped"):
        swap_from_kafka(node.engine, awards, from_kafka(node, [awards], Window(from_offset=1)))


def database_url(engine: Engine, request: pytest.FixtureRequest) -> str:
    """A URL that reaches the test's database from another process (PostgreSQL: its schema on the search path)."""
    if engine.dialect.name == "sqlite":
        return engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    url = request.getfixturevalue("postgres_url")
    return f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}')}"


def test_cli_replay_from_kafka_compares_and_exits_0_on_equality_1_on_a_difference(
    relayed: Node, request: pytest.FixtureRequest
) -> None:
    node = relayed
    env = {
        "THIDUA_DATA_DIR": str(node.settings.data_dir),
        "THIDUA_DATABASE_URL": database_url(node.engine, request),
        "THIDUA_NODE_ID": node.settings.node_id,
        "THIDUA_KAFKA_BOOTSTRAP_SERVERS": node.settings.kafka_bootstrap_servers or "",
        "COLUMNS": "200",
    }
    run = CliRunner().invoke
    same = run(app, ["replay", "--source", "kafka", "--compare"], env=env)
    assert same.exit_code == 0, same.output
    assert f"replayed {node.store.head_position()} events" in same.output and "awards_proposal" in same.output
    with node.engine.begin() as conn:
        conn.execute(text("UPDATE plans_plan SET title = 'đã sửa' WHERE plan_id IN (SELECT plan_id FROM plans_plan)"))
    changed = run(app, ["replay", "--source", "kafka", "--projection", "plans", "--compare"], env=env)
    assert changed.exit_code == 1, changed.output
    wrong = run(app, ["replay", "--source", "kafka", "--to-position", "5"], env=env)
    assert wrong.exit_code == 2
