"""The benchmarks' dataset: a spooled history loads into a store exactly as the handlers would have appended it
(positions, hash chain, lookups), and the node then works on it (commands, rebuild), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from bench.common import fresh_node
from bench.dataset import load, spool
from bench.generator import Scale, chosen_communes, units
from bench.kafka import consume, fresh_topics, produce, routed_messages, sink
from services.bootstrap import bootstrap
from services.kernel.errors import DomainRefusal
from services.kernel.kafkaclients import make_producer
from services.kernel.settings import Settings
from services.kernel.store import GENESIS_HASH, link_hash
from services.kernel.tables import event as event_table
from services.kernel.tables import lookup as lookup_table
from services.pipeline.topics import Topics
from services.reporting.commands import SubmitReport

SCALE = Scale(units=24, years=2, seed=11)


def test_a_spooled_history_loads_as_the_handlers_would_have_appended_it(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(node_id="bench", data_dir=tmp_path)
    history = spool(settings, SCALE, tmp_path)
    assert history.events == sum(history.counts.values()) > 24 * 2 * 2
    node = bootstrap(settings, engine=engine)
    node.init_db()

    assert load(engine, history) == history.events
    with engine.connect() as conn:
        rows = conn.execute(select(event_table).order_by(event_table.c.position)).all()
        lookups = conn.execute(select(func.count()).select_from(lookup_table)).scalar_one()
    assert [r.position for r in rows] == list(range(1, history.events + 1))
    previous = GENESIS_HASH
    for row in rows:  # one unbroken chain, as append_many would have linked it
        assert row.prev_hash == previous and row.hash == link_hash(previous, row.body)
        previous = row.hash
    assert lookups >= 1  # the commune plans' document numbers (and conferred awards)

    unit = next(units(chosen_communes(node.official_units, SCALE), SCALE))
    actor = {"actor_id": "t", "kind": "SYSTEM", "display_name": None, "org_unit_path": None, "roles": []}
    again = SubmitReport(unit.plan_id, unit.path, "2026", datetime(2028, 12, 1, tzinfo=UTC), actor)
    with pytest.raises(DomainRefusal) as refused:  # the loaded report stream is the handlers' own
        node.bus.handle(again)
    assert refused.value.code == "REPORT_ALREADY_SUBMITTED"
    later = node.bus.handle(SubmitReport(**{**again.__dict__, "period": "2028"}))
    assert later.positions == [history.events + 2]  # after the node key's announcement (the loaded rows are unsealed)

    node.runner.run_until_idle()
    assert set(node.runner.lag().values()) == {0}


@pytest.mark.integration
def test_the_kafka_ceilings_send_and_read_back_every_event(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The relay's ceiling (raw producer) and the projections' (raw consume + decode + COPY) move every event."""
    settings = Settings(
        node_id="bench", data_dir=tmp_path, database_url=postgres_url, kafka_bootstrap_servers=kafka_bootstrap
    )
    history = spool(settings, Scale(units=10, years=1, seed=5), tmp_path)
    with fresh_node(settings, "postgres") as (node, engine, *_), fresh_topics(settings) as mine:
        load(engine, history)
        routed = routed_messages(node.store, Topics(mine.node_id))
        assert {topic for topic, _ in routed} <= set(Topics(mine.node_id).events)
        producer = make_producer(kafka_bootstrap)
        try:
            assert produce(producer, routed, flush_every=100) == history.events
        finally:
            producer.close()
        assert consume(mine, node.codec, engine, batch=50) == history.events
        with engine.connect() as conn:
            copied = conn.execute(select(sink.c.event_id).order_by(sink.c.position)).scalars().all()
        stored = [s.event_id for s in node.store.read_all(0, history.events)]
        assert copied == stored
