"""The pipeline's part of docker-compose.yml, checked without a Docker engine (there is none on our machines)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from services.kernel.settings import Settings

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))["services"]


def test_node_processes_run_from_one_image(services: dict[str, Any]) -> None:
    node = ("init", "api", "relay", "worker")
    assert {services[s]["image"] for s in node} == {"thidua-sync:latest"}
    assert {services[s]["build"]["dockerfile"] for s in node} == {"infra/docker/Dockerfile"}
    assert services["relay"]["command"] == ["thidua", "relay"]
    assert services["worker"]["command"] == ["thidua", "worker"]
    assert "--no-projections" in services["api"]["command"]  # the workers own the read models in deployment
    assert (
        "thidua db upgrade" in services["init"]["command"][-1]
        and "thidua topics create" in services["init"]["command"][-1]
    )


def test_start_order_and_health_checks(services: dict[str, Any]) -> None:
    assert services["init"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "kafka": {"condition": "service_healthy"},
    }
    for name in ("api", "relay", "worker"):
        assert services[name]["depends_on"] == {"init": {"condition": "service_completed_successfully"}}
    defaults = Settings()
    assert f":{defaults.relay_metrics_port}/healthz" in " ".join(services["relay"]["healthcheck"]["test"])
    assert f":{defaults.worker_web_port}/healthz" in " ".join(services["worker"]["healthcheck"]["test"])
    assert services["worker"]["deploy"]["replicas"] <= defaults.kafka_topic_partitions


def test_every_node_variable_is_a_setting(services: dict[str, Any]) -> None:
    fields = {f"THIDUA_{name.upper()}" for name in Settings.model_fields}
    for name in ("init", "api", "relay", "worker"):
        assert set(services[name]["environment"]) <= fields
    assert "THIDUA_KAFKA_SASL_MECHANISM" in services["relay"]["environment"]  # production switches to SASL here
