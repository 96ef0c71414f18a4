"""The outside legal review of the rules as an official reads it: the API over the demo's read models (SQLite).

``test_law_review.py`` checks each finding (F01…F21) at the command side; here the same findings are checked where
the offices see them: the plans, guidance and rollup responses. Each test names the findings it covers; all failed
on the main branch the review was made against.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from projections.runner import EmbeddedRunner
from services.api.app import create_app
from services.api.bodies import CommandBody
from services.bootstrap import Node, bootstrap
from services.demo.data import LAO_CAI_BLOCS, UNITS
from services.demo.year import run_demo
from services.kernel import vntime
from services.kernel.events import decode_event
from services.kernel.settings import Settings
from services.migrations import upgrade
from tests.api_auth import authorize

VN_OFFSET = timedelta(hours=7)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Node]]:
    """The demo on a node whose read models (every projection) are caught up, and a central client of its API."""
    folder = tmp_path_factory.mktemp("law-review-read")
    node = bootstrap(Settings(data_dir=folder, database_url=f"sqlite:///{folder}/api.db"))
    upgrade(node.engine)
    runner = EmbeddedRunner(node.engine, node.store, node.codec, node.bus.types, node.projections)
    runner.setup()
    run_demo(node)
    runner.run_until_idle()
    with TestClient(create_app(node, run_projections=False, run_webhooks=False)) as client:
        yield authorize(client), node
    node.close()


@pytest.fixture
def client(world: tuple[TestClient, Node]) -> TestClient:
    return world[0]


def get(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.json()
    body: dict[str, Any] = response.json()
    return body


def offers(guidance: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(a["form_code"], a["occasion"]): a for a in guidance["award_forms"]}


def steps(offer: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["org_unit"]["path"], s["authority"]) for s in offer["route"]]


def test_f16_plans_and_guidance_show_occasions_with_their_dates(client: TestClient) -> None:
    """F16: Lào Cai's sơ kết 12/2027 and tổng kết Q4/2030 (with the Đại hội), Huế's sơ kết 2027, with dates."""
    lao_cai = get(client, "/api/v1/plans/lao-cai-draft-2026-05")
    dated = {o["code"]: (o["date_from"], o["date_to"], o["held_with"]) for o in lao_cai["occasions"]}
    assert dated == {
        "SO_KET_2027": ("2027-12-01", "2027-12-31", None),
        "TONG_KET_2030": ("2030-10-01", "2030-12-31", "Đại hội thi đua tỉnh lần thứ II"),
    }
    hue = get(client, "/api/v1/plans/hue-220-2026")
    assert [(o["code"], o["date_from"], o["date_to"]) for o in hue["occasions"]] == [
        ("SO_KET_2027", "2027-01-01", "2027-12-31"),
        ("TONG_KET_2030", "2030-01-01", "2030-12-31"),
    ]
    ward = offers(get(client, "/api/v1/org-units/19753/guidance", on="2027-06-01"))  # an award hangs on its occasion
    assert [o["code"] for o in ward[("GK_XA", "SO_KET")]["occasions"]] == ["SO_KET_2027"]
    assert ward[("GK_XA", "ANNUAL")]["occasions"] == []


def test_f17_cited_documents_are_held_as_references(client: TestClient) -> None:
    """F17: KH 244/KH-UBND of Huế; Đồng Nai's documents and linked movement; Lào Cai's 923/QĐ-TTg, 3751/HD-BNV."""

    def refs(plan_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = get(client, f"/api/v1/plans/{plan_id}")["references"]
        assert all(r["relation_label"] and r["source_text"] for r in found), plan_id
        return found

    assert "244/KH-UBND" in {r["ref"] for r in refs("hue-220-2026")}
    dong_nai = refs("dong-nai-113-2026")
    movements = [r for r in dong_nai if r["kind"] == "MOVEMENT"]
    assert any("Phát huy sức mạnh tổng hợp" in (r["title"] or "") for r in movements)
    assert sum(r["kind"] == "DOCUMENT" for r in dong_nai) >= 5
    assert {"923/QĐ-TTg", "3751/HD-BNV"} <= {r["ref"] for r in refs("lao-cai-draft-2026-05")}


def test_f18_f19_printed_issuer_and_stated_period_are_shown(client: TestClient) -> None:
    """F18: Đồng Nai's printed "thành phố Đồng Nai" beside the register's name, flagged; F19: 2159's 2026–2030."""
    dong_nai = get(client, "/api/v1/plans/dong-nai-113-2026")
    assert dong_nai["issuer_name_printed"] == "Ủy ban nhân dân thành phố Đồng Nai"
    assert dong_nai["issuer"]["name"] == "Tỉnh Đồng Nai"
    assert "PROVINCE_TYPE_TIME_DEPENDENT" in {w["code"] for w in dong_nai["warnings"]}
    period = get(client, "/api/v1/plans/hai-phong-2159-2026")["period"]
    assert (period["start_date"], period["end_date"]) == ("2026-01-01", "2030-12-31")


def test_f12_f13_f14_guidance_says_whose_targets_and_how_they_are_judged(client: TestClient) -> None:
    """F12: a xã of Lào Cai sees which targets are its own; F13: a phased floor; F14: the "trong đó" condition."""
    body = get(client, "/api/v1/org-units/02683/guidance", on="2026-12-10")
    indicators = {
        i["code"]: i for c in body["criteria"] for item in c["items"] for i in item["indicators"] if "code" in i
    }
    assert indicators["LC-24"]["applies_to_unit"] is False  # PII rank: the province's, not a commune's
    assert indicators["LC-36"]["applies_to_unit"] is True  # "mỗi địa phương"
    assert indicators["LC-36"]["scope_label"] == "Chỉ tiêu của từng xã, phường"
    plan = get(client, "/api/v1/plans/lao-cai-draft-2026-05")
    by_code = {i["code"]: i for c in plan["criteria"] for item in c["items"] for i in item["indicators"]}
    for code in ("LC-07", "LC-24"):  # "tối thiểu 80–90 %", "tối thiểu 20–25": floors, not bands
        assert (by_code[code]["comparison"], by_code[code]["comparator"]) == ("PHASED_FLOOR", "GE"), code
    assert by_code["LC-07"]["target_label"] == "tối thiểu 80 %, nâng dần đến 90 %"
    assert [x["code"] for x in by_code["LC-26"]["conditions"]] == ["LC-26.1"]
    assert by_code["LC-04"]["recurrence_label"] == "Hằng năm"


def test_f09_lao_cai_expects_the_members_of_its_khoi_thi_dua(client: TestClient) -> None:
    """F09: Lào Cai expects reports from its khối members only (not 105 units), never from Sở Nội vụ itself."""
    declared = {f"{p}/{code}" for p, code, *_, bloc, _agency in UNITS if bloc}
    listed = {m for _code, _name, members in LAO_CAI_BLOCS for m in members}
    expected = (declared | listed) - {"VN/15/SNV-15"}
    reports = get(client, "/api/v1/org-units/15/rollup", period="2026")["reports"]
    assert reports["expected"] == len(expected) == 5
    missing = get(client, "/api/v1/org-units/15/reports", period="2026", status="missing")["items"]
    assert {r["org_unit"]["path"] for r in missing} == {"VN/15/02647", "VN/15/02671"}
    unit = get(client, "/api/v1/org-units/02683/guidance", on="2026-12-10")["unit"]
    assert [(b["code"], b["kind_label"]) for b in unit["emulation_blocs"]] == [("15-K12", "Khối thi đua")]


def test_f01_f04_guidance_offers_each_levels_own_giay_khen_and_lawful_deciders(client: TestClient) -> None:
    """F01: a ward of Huế is offered its own Chủ tịch UBND xã's Giấy khen at sơ kết, not a sở's; F04: a commune
    school proposes, the Chủ tịch UBND xã decides."""
    ward = offers(get(client, "/api/v1/org-units/19753/guidance", on="2027-06-01"))
    assert steps(ward[("GK_XA", "SO_KET")])[-1] == ("VN/46/19753", "CHU_TICH_UBND_XA")
    assert not [k for k in ward if k[0] == "GK_SO"]
    school = offers(get(client, "/api/v1/org-units/THCS-DS/guidance", on="2026-12-15"))
    for offer in school.values():
        deciders = [s for s in offer["route"] if s["role"] == "DECIDE"]
        assert deciders and all(s["authority"] != "THU_TRUONG_DON_VI" for s in deciders), offer["form_code"]
    assert steps(school[("GK_XA", "ANNUAL")])[-1] == ("VN/31/11086", "CHU_TICH_UBND_XA")


def test_f02_f03_danh_hieu_are_never_offered_as_ad_hoc_awards(client: TestClient) -> None:
    """F02/F03: no danh hiệu thi đua is offered đột xuất, and Lào Cai offers a Bằng khen tỉnh at sơ kết."""
    for code in ("19753", "THCS-DS", "02683", "SKHCN-15"):
        for offer in get(client, f"/api/v1/org-units/{code}/guidance", on="2027-12-10")["award_forms"]:
            assert not (offer["occasion"] == "AD_HOC" and offer["form_kind"] == "DANH_HIEU"), (code, offer)
    lao_cai = offers(get(client, "/api/v1/org-units/SKHCN-15/guidance", on="2027-12-10"))
    assert steps(lao_cai[("BK_TINH", "SO_KET")])[-1] == ("VN/15", "CHU_TICH_UBND_TINH")


def test_f07_a_call_without_business_time_is_dated_in_vietnam(
    world: tuple[TestClient, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    """F07: with no ``occurred_at``, "now" is taken in Vietnam: at 06:30 on 01/12 (23:30 on 30/11 in UTC) a report
    under "trước ngày 01/12" is late."""
    client, node = world
    instant = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return instant.astimezone(tz) if tz else instant.replace(tzinfo=None)

    monkeypatch.setattr(vntime, "datetime", Frozen)
    default = CommandBody().business_time()
    assert default == instant and default.utcoffset() == VN_OFFSET
    body = {"plan_id": "dai-son-draft-2026-06", "unit_path": "VN/31/11086/HTX-DS", "period": "2026"}
    response = client.post("/api/v1/reports", json=body)
    assert response.status_code == 201, response.json()
    stored = node.store.read_all(0, 100_000)
    last = decode_event(stored[-1].body, node.codec, node.bus.types, stored[-1].position)
    assert (last.NAME, last.data["unit"]["code"], last.data["late"]) == ("ReportSubmitted", "HTX-DS", True)
