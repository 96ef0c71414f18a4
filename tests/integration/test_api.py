"""The node's HTTP API on the embedded default (SQLite), through FastAPI's TestClient."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.bootstrap import bootstrap
from services.kernel.settings import Settings
from services.registry.commands import RegisterOrgUnit
from tests.api_auth import authorize
from tests.factories import SYSTEM_ACTOR


@pytest.fixture
def client(tmp_path):  # type: ignore[no-untyped-def]
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/api.db", node_id="p15", projection_poll_seconds=0.05
    )
    node = bootstrap(settings)
    node.init_db()  # `thidua db init`: serve refuses a database that is not at the code's revision
    with TestClient(create_app(node)) as test_client:
        test_client.node = node  # type: ignore[attr-defined]
        yield authorize(test_client)


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "node_id": "p15"}
    ready = client.get("/readyz")
    lag = ready.json()["projection_lag"]
    assert ready.status_code == 200 and "orgunits" in lag and set(lag.values()) == {0}
    assert ready.json()["rebuilding"] == []


def test_official_units_and_children(client: TestClient) -> None:
    lao_cai = client.get("/api/v1/org-units/15").json()
    assert (lao_cai["name"], lao_cai["path"], lao_cai["level_label"]) == ("Tỉnh Lào Cai", "VN/15", "Cấp tỉnh")
    assert lao_cai["unit_type_label"] == "Tỉnh"
    children = client.get("/api/v1/org-units/15/children").json()["items"]
    assert len(children) == 99 and all(c["parent_path"] == "VN/15" for c in children)


def test_unknown_unit_is_a_bilingual_problem(client: TestClient) -> None:
    response = client.get("/api/v1/org-units/99999")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "UNKNOWN_ORG_UNIT" and body["title"].startswith("Không tìm thấy")
    assert "Unknown org unit" in body["detail"]


def test_the_tail_serves_new_units(client: TestClient) -> None:
    node = client.node  # type: ignore[attr-defined]
    node.bus.handle(
        RegisterOrgUnit(
            "VN/15",
            "SO-KHCN",
            "Sở Khoa học và Công nghệ tỉnh Lào Cai",
            "AGENCY",
            datetime(2026, 5, 4, tzinfo=UTC),
            SYSTEM_ACTOR,
        )
    )  # the bus wakes the embedded tail after the commit
    deadline = time.monotonic() + 10
    while (response := client.get("/api/v1/org-units/SO-KHCN")).status_code == 404:
        assert time.monotonic() < deadline, "the embedded tail did not apply the event"
        time.sleep(0.05)
    assert response.json()["path"] == "VN/15/SO-KHCN"


def test_unit_carries_its_ancestors(client: TestClient) -> None:
    dai_son = client.get("/api/v1/org-units/11086").json()
    assert [a["name"] for a in dai_son["ancestors"]] == ["Trung ương", "Thành phố Hải Phòng"]
