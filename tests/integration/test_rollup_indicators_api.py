"""Indicators of a rollup by code (summed over the subtree's plans, definitions compared) and per plan (paged), on
SQLite and PostgreSQL: two province plans share the national plan's codes, one redefines X differently."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from projections.rollup import RollupProjection
from projections.rollup.tables import metadata
from services.api.app import create_app
from services.bootstrap import bootstrap
from services.kernel.settings import Settings
from tests.api_auth import authorize
from tests.integration.test_rollup_scenarios import C1, C2, C3, P01, TINY, VN, Events, duty

P02 = {"code": "02", "path": "VN/02", "level": "PROVINCE", "name": "Tỉnh Hai"}
ROLLUP, PER_PLAN = "/api/v1/org-units/{}/rollup", "/api/v1/org-units/{}/rollup/indicators"


def year(ev: Events) -> None:
    """p0 (VN) defines X (%, ≥ 50) and Y (mô hình, ≥ 3); p1 (tỉnh Một) uses them; p2 (tỉnh Hai) redefines X as a
    count of points (≥ 5). C1 and C2 report to p1, C3 to p2."""
    ev.plan("p0", VN, [], [], phases=[])
    ev.criteria("p0", VN, [("X", "%", "GE", 50.0), ("Y", "mô hình", "GE", 3.0)])
    ev.plan("p1", P01, ["p0"], [duty("R1", "ANNUAL", ["COMMUNE"], [], None)])
    ev.plan("p2", P02, ["p0"], [duty("R1", "ANNUAL", ["COMMUNE"], [], None)])
    ev.criteria("p2", P02, [("X", "điểm", "GE", 5.0)])
    ev.submit("p1", C1, "2026", {"X": 60.0, "Y": 2.0})
    ev.submit("p1", C2, "2026", {"X": 40.0, "Y": 5.0}, late=True)
    ev.submit("p2", C3, "2026", {"X": 10.0, "Y": 1.0})


@pytest.fixture
def world(engine: Engine, tmp_path) -> tuple[TestClient, Events, RollupProjection, Engine]:  # type: ignore[no-untyped-def]
    node = bootstrap(Settings(data_dir=tmp_path, node_id="p-vn"), engine=engine)
    metadata.create_all(engine)
    projection, ev = RollupProjection(TINY), Events()
    year(ev)
    with engine.begin() as conn:
        projection.setup(conn)
        projection.apply(conn, ev.out)
    return authorize(TestClient(create_app(node, run_projections=False))), ev, projection, engine


def by_code(client: TestClient, code: str, **params: Any) -> dict[str, dict[str, Any]]:
    body = client.get(ROLLUP.format(code), params={"period": "2026", **params}).json()
    return {row["indicator_code"]: row for row in body["indicators"]}


def test_national_indicators_sum_over_plans_and_say_where_definitions_disagree(world: Any) -> None:
    client, *_ = world
    rows = by_code(client, "VN")
    x, y = rows["X"], rows["Y"]
    assert (y["plans"], y["reports"], y["definitions"], y["consistent"], y["differing"]) == (2, 3, 1, True, [])
    assert (y["unit"], y["aggregation"], y["sum"], y["value"], y["meets_target"]) == ("mô hình", "SUM", 8.0, 8.0, True)
    assert (y["units_judged"], y["units_meeting"], y["share_meeting"]) == (3, 1, 0.3333)  # only C2's 5 ≥ 3
    assert (x["plans"], x["reports"], x["definitions"], x["consistent"]) == (2, 3, 2, False)
    assert {"unit", "aggregation", "threshold"} <= set(x["differing"]) and x["name"] == "X"  # both name it "X"
    assert (x["unit"], x["aggregation"], x["threshold"], x["sum"], x["value"], x["meets_target"]) == (None,) * 6
    assert (x["units_judged"], x["units_meeting"], x["share_meeting"]) == (3, 2, 0.6667)  # 60 ≥ 50, 10 ≥ 5


def test_a_province_resolves_a_disputed_code_through_its_own_plans(world: Any) -> None:
    client, *_ = world
    x, y = by_code(client, "01")["X"], by_code(client, "01")["Y"]
    assert (x["plans"], x["definitions"], x["consistent"], x["unit"], x["aggregation"]) == (1, 1, True, "%", "MEAN")
    assert (x["sum"], x["value"], x["meets_target"], x["units_meeting"]) == (100.0, 50.0, True, 1)  # (60 + 40) / 2
    assert (y["sum"], y["value"], y["reports"]) == (7.0, 7.0, 2)
    x2 = by_code(client, "02")["X"]
    assert (x2["unit"], x2["aggregation"], x2["value"], x2["meets_target"]) == ("điểm", "SUM", 10.0, True)
    one_plan = by_code(client, "VN", plan_id="p2")
    assert (one_plan["X"]["definitions"], one_plan["X"]["unit"], one_plan["Y"]["unit"]) == (1, "điểm", "mô hình")
    assert one_plan["X"]["reports"] == one_plan["Y"]["reports"] == 1


def test_a_new_definition_changes_the_answer_at_once(world: Any) -> None:
    client, ev, projection, engine = world
    assert by_code(client, "VN")["Y"]["consistent"] is True  # the per-code table is cached now
    before = len(ev.out)
    ev.criteria("p1", P01, [("Y", "mô hình/xã", "GE", 1.0)])  # p1 now averages Y per commune
    with engine.begin() as conn:
        projection.apply(conn, ev.out[before:])
    y = by_code(client, "VN")["Y"]
    assert (y["definitions"], y["consistent"], y["aggregation"], y["sum"]) == (2, False, None, None)
    assert by_code(client, "01")["Y"]["value"] == 3.5  # (2 + 5) / 2


def test_per_plan_rows_page_by_plan_then_code_with_each_plans_definition(world: Any) -> None:
    client, *_ = world
    first = client.get(PER_PLAN.format("VN"), params={"period": "2026", "limit": 3}).json()
    rest = client.get(PER_PLAN.format("VN"), params={"period": "2026", "cursor": first["next_cursor"]}).json()
    rows = first["items"] + rest["items"]
    assert [(r["plan_id"], r["indicator_code"]) for r in rows] == [("p1", "X"), ("p1", "Y"), ("p2", "X"), ("p2", "Y")]
    assert rest["next_cursor"] is None and first["period_label"] == "Năm 2026"
    assert [(r["unit"], r["aggregation"], r["value"]) for r in rows] == [
        ("%", "MEAN", 50.0),
        ("mô hình", "SUM", 7.0),
        ("điểm", "SUM", 10.0),
        ("mô hình", "SUM", 1.0),
    ]
    only_x = client.get(PER_PLAN.format("VN"), params={"period": "2026", "indicator_code": "X"}).json()["items"]
    assert [r["plan_id"] for r in only_x] == ["p1", "p2"]
    mine = client.get(PER_PLAN.format("02"), params={"period": "2026", "plan_id": "p1"}).json()["items"]
    assert mine == []  # p1's reporters are under tỉnh Một


@pytest.mark.parametrize("cursor", ["%%", base64.urlsafe_b64encode(json.dumps(["p1"]).encode()).decode()])
def test_a_bad_per_plan_cursor_is_a_bilingual_problem(world: Any, cursor: str) -> None:
    client, *_ = world
    response = client.get(PER_PLAN.format("VN"), params={"period": "2026", "cursor": cursor})
    assert response.status_code == 400 and response.json()["code"] == "INVALID_CURSOR"
