"""The award endpoints on the embedded default (SQLite) over the demo's data: filters, Vietnamese labels, time in
state against a given clock, what waits where, the registry, cursor pagination and problem+json errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from projections.runner import EmbeddedRunner
from services.api.app import create_app
from services.api.pagination import AWARDS
from services.awards import load_authority_matrix
from services.bootstrap import bootstrap
from services.demo.data import UNITS
from services.demo.year import run_demo
from services.kernel.settings import Settings
from services.migrations import upgrade
from tests.api_auth import authorize

NAMES = {code: name for _, code, name, *_ in UNITS}
CLOCK = {"as_now": "2027-12-15T09:00:00+07:00"}


def demo_client(folder: Path) -> Iterator[TestClient]:
    """A client of a node that ran the demo, its read models (awards, plans, org units) caught up."""
    node = bootstrap(Settings(data_dir=folder, database_url=f"sqlite:///{folder}/api.db", node_id="p31"))
    upgrade(node.engine)
    mine = [p for p in node.projections if p.name in ("awards", "plans", "orgunits")]
    runner = EmbeddedRunner(node.engine, node.store, node.codec, node.bus.types, mine)
    runner.setup()
    run_demo(node)
    runner.run_until_idle()
    with TestClient(create_app(node, run_projections=False, run_webhooks=False)) as client:
        yield authorize(client)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from demo_client(tmp_path_factory.mktemp("awards-api"))


def ids(client: TestClient, **params: Any) -> list[str]:
    response = client.get("/api/v1/awards", params=params)
    assert response.status_code == 200, response.json()
    return [i["proposal_id"] for i in response.json()["items"]]


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status and response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code, body
    return body  # type: ignore[no-any-return]


def test_pages_walk_every_proposal_once_in_id_order(client: TestClient) -> None:
    seen, cursor = [], None
    while True:
        body = client.get("/api/v1/awards", params={"limit": 1, **({"cursor": cursor} if cursor else {})}).json()
        seen += [i["proposal_id"] for i in body["items"]]
        if (cursor := body["next_cursor"]) is None:
            break
    assert seen == sorted(["gk-ds-2026-1", "bk-lc-2026-1", "bkttg-hue-2027-1", "gk-px-2027-1", "bk-ds-2027-1"])


def test_filters_by_state_form_decider_holder_and_plan(client: TestClient) -> None:
    assert ids(client, state="PENDING") == ["bk-ds-2027-1", "bkttg-hue-2027-1"]
    assert ids(client, state="APPROVED", form="BK_TINH") == ["bk-lc-2026-1"]
    assert ids(client, decider="THU_TUONG") == ["bkttg-hue-2027-1"]  # an authority ...
    assert ids(client, decider="15") == ["bk-lc-2026-1"]  # ... or the deciding unit's code
    assert ids(client, holder="31") == ["bk-ds-2027-1"]
    assert ids(client, plan="dai-son-draft-2026-06") == ["bk-ds-2027-1", "gk-ds-2026-1"]
    assert ids(client, form="HCLD_3") == []  # refused by the plan: never proposed
    problem(client.get("/api/v1/awards", params={"state": "WAITING"}), 422, "VALIDATION_FAILED")
    problem(client.get("/api/v1/awards", params={"cursor": "%%%"}), 400, "INVALID_CURSOR")
    problem(client.get("/api/v1/awards", params={"limit": 0}), 422, "VALIDATION_FAILED")


def test_labels_and_time_in_state_against_the_given_clock(client: TestClient) -> None:
    (item,) = client.get("/api/v1/awards", params={"decider": "THU_TUONG", **CLOCK}).json()["items"]
    assert (item["state_label"], item["occasion_label"]) == ("Đang xử lý", "Sơ kết")
    assert item["form_name"] == load_authority_matrix().versions("BK_TTG")[-1].name_vi
    assert item["nominee"] == {
        "kind": "COLLECTIVE",
        "kind_label": "Tập thể",
        "name": NAMES["SKHCN-46"],
        "org_unit": {"code": "SKHCN-46", "path": "VN/46/SKHCN-46", "name": NAMES["SKHCN-46"]},
    }
    holder = item["holder"]
    assert (holder["authority_label"], holder["role_label"], holder["org_unit"]["level_label"]) == (
        "Thủ tướng Chính phủ",
        "Quyết định",
        "Trung ương",
    )
    assert item["time_in_state"]["days"] == 10  # proposed 05/12/2027 09:00 (the demo's story)
    assert holder["time_held"] == {"seconds": 5 * 86400, "days": 5}  # at the Thủ tướng since 10/12/2027
    naive = client.get("/api/v1/awards", params={"decider": "THU_TUONG", "as_now": "2027-12-15T09:00:00"}).json()
    assert naive["items"][0]["holder"]["time_held"]["days"] == 5  # a clock without zone is Vietnam time


def test_one_proposal_with_route_history_and_decision(client: TestClient) -> None:
    done = client.get("/api/v1/awards/gk-ds-2026-1").json()
    assert done["decision"] == {"number": "215/QĐ-UBND", "date": "2026-12-20"}
    assert [s["status"] for s in done["route"]] == ["DONE", "DONE"]
    assert [h["action_label"] for h in done["history"]] == [
        "Lập hồ sơ đề nghị",
        "Trình cấp trên",
        "Quyết định khen thưởng",
    ]
    assert done["plan"]["document"] == "…/KH-UBND" and done["plan"]["status"] == "DRAFT"
    waiting = client.get("/api/v1/awards/bkttg-hue-2027-1").json()
    assert [(s["role"], s["authority"], s["status"]) for s in waiting["route"]] == [
        ("PROPOSE", "GIAM_DOC_SO", "DONE"),  # the sở's head proposes, once: no second review as Giám đốc sở
        ("REVIEW", "CHU_TICH_UBND_TINH", "DONE"),
        ("DECIDE", "THU_TUONG", "CURRENT"),
    ]
    assert waiting["occasion_period"] == "SO_KET_2027"
    assert {p["status_label"] for p in waiting["prerequisites"]} <= {"Đạt", "Chưa đạt", "Chưa kiểm tra được"}
    body = problem(client.get("/api/v1/awards/hcld-ds-2030-1"), 404, "UNKNOWN_PROPOSAL")
    assert body["title"].startswith("Không tìm thấy") and "Unknown award proposal" in body["detail"]


def test_what_waits_at_each_authority(client: TestClient) -> None:
    everything = client.get("/api/v1/awards/waiting", params=CLOCK).json()
    assert everything["total"] == 2
    groups = {(g["org_unit"]["code"], g["authority"]): g for g in everything["groups"]}
    assert set(groups) == {("VN", "THU_TUONG"), ("31", "CHU_TICH_UBND_TINH")}
    prime_minister = groups[("VN", "THU_TUONG")]
    assert (prime_minister["count"], prime_minister["to_decide"], prime_minister["more"]) == (1, 1, False)
    assert prime_minister["longest_wait"]["days"] == 5 and prime_minister["items"][0]["proposal_id"] == (
        "bkttg-hue-2027-1"
    )
    hai_phong = client.get("/api/v1/awards/waiting", params={"at": "31"}).json()
    assert hai_phong["at"]["name"] == "Thành phố Hải Phòng" and hai_phong["total"] == 1
    assert client.get("/api/v1/awards/waiting", params={"at": "46"}).json()["total"] == 0  # Huế sent it up
    problem(client.get("/api/v1/awards/waiting", params={"at": "99999"}), 404, "UNKNOWN_ORG_UNIT")


def test_the_registry_pages_by_decision_date(client: TestClient) -> None:
    first = client.get("/api/v1/awards/conferred", params={"limit": 2}).json()
    second = client.get("/api/v1/awards/conferred", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    entries = first["items"] + second["items"]
    assert second["next_cursor"] is None
    assert [(e["decision_date"], e["decision_number"], e["nominee"]["name"]) for e in entries] == [
        ("2026-12-20", "215/QĐ-UBND", NAMES["THCS-DS"]),
        ("2026-12-28", "3105/QĐ-UBND", NAMES["DN-BATXAT"]),
        ("2027-12-09", "45/QĐ-UBND", "Nguyễn Thị Hoa"),
    ]
    assert entries[1]["decider"]["authority_label"] == "Chủ tịch Ủy ban nhân dân cấp tỉnh"
    assert entries[0]["form_name"] == load_authority_matrix().versions("GK_XA")[-1].name_vi
    # a cursor of another list, well signed, is refused (the list is bound into its MAC)
    of_awards = client.app.state.cursors.encode(AWARDS, ["x"])  # type: ignore[attr-defined]
    problem(client.get("/api/v1/awards/conferred", params={"cursor": of_awards}), 400, "INVALID_CURSOR")
