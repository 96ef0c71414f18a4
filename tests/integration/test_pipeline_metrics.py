"""``GET /metrics`` of a node on the real broker and PostgreSQL: relay lag, consumer lag, applied, dead letters."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from bench.harness import Rig, append_units, consume_all
from services.api.app import create_app
from services.kernel.contracts import EVENT_TYPES
from services.pipeline.deadletters import Record
from services.pipeline.projector import KafkaProjector
from tests.metrics import Scrape

pytestmark = pytest.mark.integration


def test_metrics_report_relay_lag_consumer_lag_applied_events_and_dead_letters(
    postgres_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    with Rig(postgres_url, kafka_bootstrap, tmp_path) as rig:
        append_units(rig.node.store, 100, per_stream=10)
        relay = rig.relay()
        relay.batch_size = 61
        relay.run_once()  # 61 of 101 published (the node key's announcement first)
        relay.close()
        client = TestClient(create_app(rig.node, run_projections=False, run_webhooks=False))  # no lifespan: no tail

        response = client.get("/metrics")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain; version=0.0.4")
        before = Scrape(response.text)
        assert before.value("thidua_relay_lag_events", relay="kafka") == 40
        assert before.value("thidua_store_head_position") == 101 and before.value("thidua_kafka_up") == 1
        group, registry = rig.settings.effective_worker_app_id, rig.topics.context("registry")
        lags = before.values("thidua_consumer_lag_messages", group=group)
        assert sum(lags) == 61 and len(lags) == 12  # 4 event topics × 3 partitions, nothing committed yet

        # a worker's transaction, in-process: the 61 consumed records applied to the node's database
        records = [
            Record(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers))
            for r in consume_all(rig.bootstrap_servers, rig.topics.events)
        ]
        projector = KafkaProjector(rig.node.engine, rig.node.codec, EVENT_TYPES, rig.node.projections)
        decoded = projector.decode(records)[0]
        projector.apply(decoded, records)
        after = Scrape(client.get("/metrics").text)
        orgunits = next(p for p in rig.node.projections if p.name == "orgunits")
        read = sum(d.event.NAME in orgunits.event_types for d in decoded)  # all but the node key's announcement
        assert read == 60
        assert after.value("thidua_projection_events_applied_total", projection="orgunits", runner="kafka") == read
        behind = after.values("thidua_projection_lag_messages", projection="orgunits")
        assert behind and set(behind) == {0}
        assert after.value("thidua_dead_letters_total", topic=rig.topics.dead_letters, partition="0") == 0
        assert after.values("thidua_consumer_lag_messages", group=group, topic=registry)
