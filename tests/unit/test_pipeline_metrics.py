"""/metrics through prometheus_client: the process counters, the request metrics per route template, the process
metrics, and the names the docs and dashboards use."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest

from services.api.app import create_app
from services.bootstrap import bootstrap
from services.kernel.settings import Settings
from services.pipeline.metrics import Scraped, WorkerStats, process_registry, relay_families
from services.pipeline.projector import Applied
from services.pipeline.relay import RelayStats
from tests.metrics import Scrape

pytestmark = pytest.mark.unit


def test_worker_and_relay_counters_keep_their_names() -> None:
    stats = WorkerStats()
    stats.record(Applied(events={"orgunits": 40}), 50)
    stats.record(Applied(events={"orgunits": 2}), 2)
    stats.dead_letters["UNKNOWN_SCHEMA"] += 3
    relay = RelayStats(published=120, batches=3, failures=1, last_batch_seconds=0.25)
    registry = process_registry(Scraped(stats.families), Scraped(lambda: relay_families(relay)))
    text = generate_latest(registry).decode()
    found = Scrape(text)
    assert found.value("thidua_worker_events_applied_total", projection="orgunits") == 42
    assert found.value("thidua_worker_dead_letters_total", reason="UNKNOWN_SCHEMA") == 3
    assert found.value("thidua_worker_batches_total") == 2 and found.value("thidua_worker_records_total") == 52
    assert found.value("thidua_relay_events_published_total") == 120
    assert found.value("thidua_relay_failures_total") == 1 and found.value("thidua_relay_last_batch_seconds") == 0.25
    assert "# TYPE thidua_worker_events_applied_total counter" in text
    assert found.value("process_resident_memory_bytes") > 0 and found.values("python_info")  # process metrics
    stats.applied["orgunits"] += 1  # read at scrape time, not at registration
    again = Scrape(generate_latest(registry).decode())
    assert again.value("thidua_worker_events_applied_total", projection="orgunits") == 43


def test_api_counts_requests_per_route_template_not_per_path(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'thidua.db'}"  # never the services' database the environment may name
    node = bootstrap(Settings(data_dir=tmp_path, database_url=database, webhooks_enabled=False))
    node.init_db()  # `thidua db upgrade`: the app refuses a database that is not at the code's revision
    with TestClient(create_app(node, run_projections=False)) as client:
        for proposal in ("a-1", "b-2", "c-3"):
            assert client.get(f"/api/v1/awards/{proposal}").status_code == 401
        assert client.get("/no/such/page").status_code == 404
        response = client.get("/metrics")
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        found = Scrape(response.text)
        route = "/api/v1/awards/{proposal_id}"
        assert found.value("thidua_http_requests_total", method="GET", route=route, status="401") == 3
        assert found.value("thidua_http_request_duration_seconds_count", method="GET", route=route) == 3
        assert found.value("thidua_http_requests_total", method="GET", route="<unmatched>", status="404") == 1
        assert not [s for s in found.samples if "a-1" in str(s.labels)]  # raw paths never become series
        assert found.value("thidua_store_head_position") >= 0 and found.value("process_resident_memory_bytes") > 0
        openmetrics = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
        assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
        assert openmetrics.text.rstrip().endswith("# EOF")
