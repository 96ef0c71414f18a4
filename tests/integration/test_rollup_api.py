"""GET /org-units/{code}/rollup and /org-units/{code}/reports on the demo's year (SQLite, TestClient)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from projections.runner import EmbeddedRunner
from services.api.app import create_app
from services.bootstrap import bootstrap
from services.demo.data import DAI_SON, DAI_SON_REPORTS, UNITS
from services.demo.year import run_demo
from services.kernel.contracts import EVENT_TYPES
from services.kernel.settings import Settings
from services.migrations import upgrade
from tests.api_auth import authorize


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data = tmp_path_factory.mktemp("rollup-api")
    node = bootstrap(Settings(data_dir=data, database_url=f"sqlite:///{data / 'api.db'}"))
    upgrade(node.engine)
    run_demo(node)
    mine = [p for p in node.projections if p.name == "rollup"]
    runner = EmbeddedRunner(node.engine, node.store, node.codec, EVENT_TYPES, mine)
    runner.setup()
    runner.run_until_idle()
    yield authorize(TestClient(create_app(node, run_projections=False)))  # no lifespan: only the rollup's tables
    node.close()


def test_rollup_of_a_commune_with_drill_down_to_its_units(client: TestClient) -> None:
    body = client.get("/api/v1/org-units/11086/rollup", params={"period": "2026", "level": "children"}).json()
    assert body["org_unit"]["name"] == "Xã Đại Sơn" and body["period_label"] == "Năm 2026"
    reports = body["reports"]
    assert (reports["expected"], reports["submitted"], reports["missing"], reports["late"]) == (8, 7, 1, 3)
    assert (reports["reporting_rate"], reports["on_time_rate"]) == (0.875, 0.4286)
    children = {row["code"]: row for row in body["drill_down"]["items"]}
    assert len(children) == sum(parent == DAI_SON for parent, *_ in UNITS) and body["drill_down"]["next_cursor"] is None
    assert children["THON-1"]["reports"]["expected"] == 0  # a village is not bound by R1
    assert children["PVHXH-DS"]["reports"]["expected"] == 0  # Phòng VH-XH receives the reports: it is not bound
    assert children["PKT-DS"]["reports"]["undated"] == 1  # Phòng Kinh tế reports under its own undated duty
    assert children["HTX-DS"]["reports"]["missing"] == 1 and children["TYT-DS"]["reports"]["late"] == 1
    assert sum(row["reports"]["submitted"] for row in children.values()) == reports["submitted"]
    (ds1,) = body["indicators"]
    assert (ds1["indicator_code"], ds1["reports"], ds1["known"]) == ("DS-1", len(DAI_SON_REPORTS) - 1, False)


def test_national_drill_down_pages_through_provinces(client: TestClient) -> None:
    params = {"period": "2026", "level": "PROVINCE", "limit": 20}
    first = client.get("/api/v1/org-units/VN/rollup", params=params).json()
    second = client.get("/api/v1/org-units/VN/rollup", params={**params, "cursor": first["drill_down"]["next_cursor"]})
    provinces = first["drill_down"]["items"] + second.json()["drill_down"]["items"]
    assert len(provinces) == 34 and second.json()["drill_down"]["next_cursor"] is None
    assert sum(p["reports"]["expected"] for p in provinces) == first["reports"]["expected"]
    plans = first["child_plans"]
    assert (plans["children"], plans["issued"], plans["drafts"], plans["not_issued"]) == (34, 3, 1, 31)
    lao_cai = next(p for p in provinces if p["code"] == "15")
    assert lao_cai["plan_state"] == "DRAFT" and lao_cai["plan_state_label"].startswith("Dự thảo")


def test_reports_lists_missing_late_and_returned(client: TestClient) -> None:
    missing = client.get("/api/v1/org-units/11086/reports", params={"period": "2026", "status": "missing"}).json()
    assert [r["org_unit"]["code"] for r in missing["items"]] == ["HTX-DS"]
    assert missing["items"][0]["status_label"] == "Chưa nộp" and missing["items"][0]["deadline"] == "2026-11-30"
    late = client.get("/api/v1/org-units/31/reports", params={"period": "2026", "status": "late", "limit": 2}).json()
    more = client.get(
        "/api/v1/org-units/31/reports", params={"period": "2026", "status": "late", "cursor": late["next_cursor"]}
    )
    assert [r["org_unit"]["code"] for r in late["items"] + more.json()["items"]] == ["DN-DS2", "TH-DS", "TYT-DS"]
    returned = client.get("/api/v1/org-units/11086/reports", params={"period": "2026", "status": "returned"}).json()
    assert returned["items"] == []  # TH-DS's returned version 1 was replaced and version 2 accepted


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/v1/org-units/11086/rollup", {"period": "2026-Q1"}, "INVALID_PERIOD"),
        ("/api/v1/org-units/11086/rollup", {"period": "2026", "level": "PROVINCE"}, "INVALID_LEVEL"),
        ("/api/v1/org-units/11086/reports", {"period": "2026", "status": "lost"}, "INVALID_STATUS"),
        ("/api/v1/org-units/99999/reports", {"period": "2026"}, "UNKNOWN_ORG_UNIT"),
        ("/api/v1/org-units/11086/reports", {"period": "2026", "cursor": "%%"}, "INVALID_CURSOR"),
    ],
)
def test_bad_requests_are_bilingual_problems(client: TestClient, path: str, params: dict, code: str) -> None:  # type: ignore[type-arg]
    response = client.get(path, params=params)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code and response.status_code in (400, 404, 422)


def test_report_pages_cover_the_subtree_once(client: TestClient) -> None:
    seen, cursor = [], None
    while True:
        params = {"period": "2026", "status": "missing", "limit": 7, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/org-units/46/reports", params=params).json()
        seen += [r["unit_path"] for r in body["items"]]
        if (cursor := body["next_cursor"]) is None:
            break
    hue = client.get("/api/v1/org-units/46/rollup", params={"period": "2026"}).json()["reports"]
    assert len(seen) == len(set(seen)) == hue["missing"] and seen == sorted(seen)
    first = client.get("/api/v1/org-units/19774/reports", params={"period": "2026", "limit": 1}).json()
    second = client.get("/api/v1/org-units/19774/reports", params={"period": "2026", "cursor": first["next_cursor"]})
    own, below = first["items"][0], second.json()["items"]
    assert (own["unit_path"], own["status"]) == ("VN/46/19774", "MISSING")  # the commune's own report to Huế
    assert [(r["org_unit"]["code"], r["status"], r["expected"]) for r in below] == [("BV-KL", "SUBMITTED", False)]
