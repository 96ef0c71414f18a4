"""GET /api/v1/org-units/{code}/guidance through FastAPI's TestClient, on the embedded default (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.bootstrap import bootstrap
from services.demo.year import run_demo
from services.kernel.settings import Settings
from tests.api_auth import authorize


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("guidance-api")
    node = bootstrap(Settings(data_dir=folder, database_url=f"sqlite:///{folder}/api.db", node_id="p31"))
    node.runner.projections = [p for p in node.runner.projections if p.name == "guidance"]  # this read model only
    node.init_db()
    run_demo(node)
    node.runner.run_until_idle()
    with TestClient(create_app(node, run_projections=False, run_webhooks=False)) as test_client:
        yield authorize(test_client)


def test_guidance_of_a_dai_son_school(client: TestClient) -> None:
    response = client.get("/api/v1/org-units/THCS-DS/guidance", params={"on": "2026-12-15"})
    assert response.status_code == 200
    body = response.json()
    assert body["on"] == "2026-12-15" and body["unit"]["kind_label"] == "Đơn vị sự nghiệp công lập"
    assert [p["plan_id"] for p in body["plans"]] == ["vn-462-2026", "hai-phong-2159-2026", "dai-son-draft-2026-06"]
    assert [p["document"] for p in body["plans"]] == ["462/QĐ-TTg", "2159/QĐ-UBND", None]
    assert body["plans"][2]["status_label"] == "Dự thảo"
    r1 = body["reporting_duties"][0]
    assert (r1["code"], r1["period_kind_label"], r1["current"]["deadline"]) == ("R1", "Hằng năm", "2026-11-30")
    assert (r1["current"]["state"], r1["current"]["state_label"]) == ("SUBMITTED", "Đã nộp đúng hạn")
    gk = next(a for a in body["award_forms"] if a["form_code"] == "GK_XA" and a["occasion"] == "ANNUAL")
    assert (gk["occasion_label"], gk["basis_label"]) == ("Hằng năm", "Khen thưởng theo thẩm quyền")
    assert [s["role_label"] for s in gk["route"]] == ["Đề nghị", "Quyết định"]


def test_guidance_of_an_official_commune_and_of_central(client: TestClient) -> None:
    dai_son = client.get("/api/v1/org-units/11086/guidance", params={"on": "2026-12-15"}).json()
    assert dai_son["unit"]["subject_category"] == "AGENCY_LOCALITY" and dai_son["plans"][-1]["own"] is True
    assert dai_son["reporting_duties"] == []  # Đại Sơn's duties bind the units below it, not the commune
    central = client.get("/api/v1/org-units/VN/guidance").json()
    assert [p["plan_id"] for p in central["plans"]] == ["vn-462-2026"] and central["criteria"] == []


def test_default_day_is_today(client: TestClient) -> None:
    body = client.get("/api/v1/org-units/HTX-DS/guidance").json()
    assert body["on"] >= "2026-01-01" and body["reporting_duties"][0]["current"] is not None


def test_unknown_unit_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/api/v1/org-units/KHONG-CO/guidance")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "UNKNOWN_ORG_UNIT" and body["org_unit"] == "KHONG-CO"
    assert body["title"].startswith("Không tìm thấy")


def test_a_malformed_day_is_a_422_problem(client: TestClient) -> None:
    response = client.get("/api/v1/org-units/THCS-DS/guidance", params={"on": "30/11/2026"})
    assert response.status_code == 422 and response.json()["code"] == "VALIDATION_FAILED"
