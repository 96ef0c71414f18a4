"""docker-compose.yml cannot be run here (no Docker engine): check what can be checked without one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_kafka_image_is_the_version_ci_tests(compose: dict) -> None:  # type: ignore[type-arg]
    pinned = re.search(r"<kafka.version>([^<]+)</kafka.version>", (ROOT / "infra/kafka/pom.xml").read_text())
    assert pinned and compose["services"]["kafka"]["image"] == f"apache/kafka:{pinned.group(1)}"


def test_services_are_consistent(compose: dict) -> None:  # type: ignore[type-arg]
    services = compose["services"]
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        assert "healthcheck" in service or "build" in service, f"{name} has no health check"
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        if "build" in service:
            assert (ROOT / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
    env = services["api"]["environment"]
    assert env["THIDUA_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092" and "@postgres:5432/" in env["THIDUA_DATABASE_URL"]


def test_dockerfile_copies_what_the_package_needs() -> None:
    dockerfile = (ROOT / "infra/docker/Dockerfile").read_text(encoding="utf-8")
    for folder in ("schemas", "services", "projections"):
        assert f"COPY {folder} ./{folder}" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
