"""The Prometheus text format of /metrics."""

from __future__ import annotations

import pytest

from services.pipeline.metrics import Family, WorkerStats, render
from services.pipeline.projector import Applied

pytestmark = pytest.mark.unit


def test_families_render_in_the_text_exposition_format() -> None:
    lag = Family("thidua_consumer_lag_messages", "gauge", "End offset minus the commit.\nPer partition.")
    lag.add(12, group="g", topic="thidua.p46.awards", partition=0).add(0.5, group='say "hi"\\', topic="t", partition=1)
    up = Family("thidua_kafka_up", "gauge", "Broker answered.").add(1)
    assert render([lag, up]) == (
        "# HELP thidua_consumer_lag_messages End offset minus the commit.\\nPer partition.\n"
        "# TYPE thidua_consumer_lag_messages gauge\n"
        'thidua_consumer_lag_messages{group="g",topic="thidua.p46.awards",partition="0"} 12\n'
        'thidua_consumer_lag_messages{group="say \\"hi\\"\\\\",topic="t",partition="1"} 0.5\n'
        "# HELP thidua_kafka_up Broker answered.\n"
        "# TYPE thidua_kafka_up gauge\n"
        "thidua_kafka_up 1\n"
    )


def test_worker_counters() -> None:
    stats = WorkerStats()
    stats.record(Applied(events={"orgunits": 40}), 50)
    stats.record(Applied(events={"orgunits": 2}), 2)
    stats.dead_letters["UNKNOWN_SCHEMA"] += 3
    text = render(stats.families())
    assert 'thidua_worker_events_applied_total{projection="orgunits"} 42' in text
    assert 'thidua_worker_dead_letters_total{reason="UNKNOWN_SCHEMA"} 3' in text
    assert "thidua_worker_batches_total 2" in text and "thidua_worker_records_total 52" in text
