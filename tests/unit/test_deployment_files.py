"""docker-compose.yml cannot be run here (no Docker engine): check what can be checked without one."""

from __future__ import annotations

import re
import tomllib
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
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    folders = [pattern.rstrip("*") for pattern in packages["find"]["include"]]
    assert "services" in folders
    for folder in ("schemas", *folders):
        assert f"COPY {folder} ./{folder}" in dockerfile
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile


def test_every_process_that_checkpoints_signs_with_the_one_node_key(compose: dict) -> None:  # type: ignore[type-arg]
    services = compose["services"]
    key = services["api"]["environment"]["THIDUA_AUDIT_SIGNING_KEY_FILE"]
    for name in ("init", "api", "relay"):  # init creates it; serve and the leader relay write checkpoints
        assert services[name]["environment"]["THIDUA_AUDIT_SIGNING_KEY_FILE"] == key, name
        mounts = {m.split(":")[1]: m.split(":")[0] for m in services[name].get("volumes", [])}
        assert mounts.get(str(Path(key).parent)) in compose["volumes"], f"{name} does not share the key volume"
    assert "thidua audit keys" in " ".join(services["init"]["command"])
