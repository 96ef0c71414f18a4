"""Pure rules of the guidance view: duty periods and their state, award forms offered and their routes."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from projections.guidance.duties import binding_duties, periods, schedule, state
from projections.guidance.offers import nominees, offers, placement
from projections.guidance.units import UnitFacts
from services.awards import Level, load_authority_matrix
from services.awards.routing import unit_parent

pytestmark = pytest.mark.unit
MATRIX = load_authority_matrix()
ON = date(2026, 12, 15)
PHASES = [
    {"code": "P1", "name": "GĐ 1", "start_date": "2026-01-01", "end_date": "2027-12-31", "review": "SO_KET"},
    {"code": "P2", "name": "GĐ 2", "start_date": "2028-01-01", "end_date": "2030-12-31", "review": "TONG_KET"},
]
R1 = {  # Đại Sơn: "trước ngày 01/12" hằng năm, for agencies and enterprises below the commune
    "code": "R1",
    "who": "các cơ quan, đơn vị và doanh nghiệp",
    "reporter_levels": ["UNIT"],
    "reporter_under": "VN/31/11086",
    "reporter_kinds": ["AGENCY", "ENTERPRISE"],
    "reporter_name": None,
    "to": ["VN/31/11086"],
    "via": None,
    "period": "ANNUAL",
    "deadline_kind": "BEFORE_DAY_OF_YEAR",
    "deadline_month": 12,
    "deadline_day": 1,
    "deadline_date": None,
    "text": "trước ngày 01/12",
}
SCHOOL = UnitFacts("VN/31/11086/THCS-DS", "THCS-DS", "UNIT", "PUBLIC_SERVICE_UNIT", "Trường THCS", "AGENCY_LOCALITY")
DAI_SON = UnitFacts("VN/31/11086", "11086", "COMMUNE", "COMMUNE", "Xã Đại Sơn", "AGENCY_LOCALITY")
SO = UnitFacts("VN/15/SKHCN-15", "SKHCN-15", "UNIT", "AGENCY", "Sở KH&CN", "AGENCY_LOCALITY")
FIRM = UnitFacts("VN/31/11086/DN-1", "DN-1", "UNIT", "ENTERPRISE", "Công ty", "ENTERPRISE")
IN_SO = UnitFacts(
    "VN/15/SKHCN-15/TT-1", "TT-1", "UNIT", "PUBLIC_SERVICE_UNIT", "Trung tâm", "AGENCY_LOCALITY", top_kind="AGENCY"
)


def plan(issuer: dict[str, Any], forms: list[tuple[str, str]], duties: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    award_forms = [{"occasion": o, "form_code": c, "text": None} for o, c in forms]
    return {
        "plan_id": "p",
        "issuer": issuer,
        "document_symbol": "KH-UBND",
        "title": "Kế hoạch",
        "phases": PHASES,
        "duties": list(duties),
        "award_forms": award_forms,
    }


COMMUNE_REF = {"code": "11086", "path": "VN/31/11086", "level": "COMMUNE", "name": "Xã Đại Sơn"}
PROVINCE_REF = {"code": "15", "path": "VN/15", "level": "PROVINCE", "name": "Tỉnh Lào Cai"}


def report(late: bool = False, outcome: str | None = None) -> dict[str, Any]:
    return {"late": late, "outcome": outcome}


def test_duties_bind_by_the_write_sides_rule() -> None:
    p = plan(COMMUNE_REF, [], [R1])
    assert [d["code"] for d in binding_duties(p, SCHOOL)] == ["R1"]  # a public service unit is of the AGENCY family
    assert binding_duties(p, DAI_SON) == [] and binding_duties(p, SO) == []


def test_periods_of_annual_and_review_duties() -> None:
    annual = periods(R1, PHASES, ON)
    assert [(p.period, p.deadline) for p in annual[:2]] == [("2026", date(2026, 11, 30)), ("2027", date(2027, 11, 30))]
    assert [p.period for p in annual] == ["2026", "2027", "2028", "2029", "2030"]
    so_ket = {**R1, "period": "SO_KET", "deadline_kind": "NONE_STATED"}
    assert [(p.period, p.deadline) for p in periods(so_ket, PHASES, ON)] == [("SO_KET_2027", None)]
    assert [p.period for p in periods(R1, [], ON)] == ["2026", "2027"]  # no phases: this year and the next
    assert periods({**R1, "period": "AD_HOC"}, PHASES, ON) == []


@pytest.mark.parametrize(
    ("found", "due", "on", "expected"),
    [
        (report(), date(2026, 11, 30), ON, "SUBMITTED"),
        (report(late=True, outcome="ACCEPTED"), date(2026, 11, 30), ON, "LATE"),
        (report(outcome="RETURNED"), date(2026, 11, 30), ON, "RETURNED"),
        (None, date(2026, 11, 30), date(2026, 11, 30), "DUE"),  # the deadline day itself is still on time
        (None, date(2026, 11, 30), date(2026, 12, 1), "MISSING"),
        (None, None, ON, "NOT_SUBMITTED"),
    ],
)
def test_state_of_a_period(found: dict[str, Any] | None, due: date | None, on: date, expected: str) -> None:
    assert state(found, due, on) == expected


def test_schedule_shows_current_next_and_overdue_periods() -> None:
    now = schedule(R1, PHASES, {"2026": report()}, ON)
    assert (now["current"]["period"].period, now["current"]["state"]) == ("2026", "SUBMITTED")
    assert (now["next"]["period"].period, now["next"]["state"]) == ("2027", "DUE")
    later = schedule(R1, PHASES, {}, date(2028, 3, 1))
    assert later["current"]["period"].period == "2028"
    assert [e["period"].period for e in later["overdue"]] == ["2026", "2027"]
    after = schedule(R1, PHASES, {}, date(2031, 1, 5))
    assert after["current"]["period"].period == "2030" and after["next"] is None


def _codes(found: list[Any], occasion: str) -> dict[str, tuple[str, str]]:
    return {o.form.form_code: (o.basis, str(o.steps[-1].authority)) for o in found if o.occasion == occasion}


def test_by_authority_at_a_commune_offers_the_competent_levels_movement_awards() -> None:
    p = plan(COMMUNE_REF, [("ANNUAL", "BY_AUTHORITY")])
    found = _codes(offers(p, SCHOOL, MATRIX, ON), "ANNUAL")
    assert found == {"GK_XA": ("BY_AUTHORITY", "CHU_TICH_UBND_XA")}  # a school has no Giấy khen of its own
    assert _codes(offers(p, FIRM, MATRIX, ON), "ANNUAL") == {
        "GK_UNIT": ("BY_AUTHORITY", "THU_TRUONG_DON_VI"),  # an enterprise's director (Law Art. 80(4))
        "GK_XA": ("BY_AUTHORITY", "CHU_TICH_UBND_XA"),
    }
    commune = _codes(offers(p, DAI_SON, MATRIX, ON), "ANNUAL")
    assert set(commune) == {"GK_XA"}  # not LĐTT, Gia đình văn hóa…: emulation titles are not "theo thẩm quyền"


def test_named_forms_cap_tren_and_hcld() -> None:
    p = plan(PROVINCE_REF, [("ANNUAL", "BK_TINH"), ("ANNUAL", "CAP_TREN"), ("TONG_KET", "HCLD")])
    found = offers(p, SO, MATRIX, ON)
    assert _codes(found, "ANNUAL")["BK_TINH"] == ("BK_TINH", "CHU_TICH_UBND_TINH")
    assert _codes(found, "ANNUAL")["BK_TTG"] == ("CAP_TREN", "THU_TUONG")
    assert "GK_SO" not in _codes(found, "ANNUAL")  # decided at the issuer's level: not "cấp trên"
    assert set(_codes(found, "TONG_KET")) == {"HCLD_1", "HCLD_2", "HCLD_3"}


def test_forms_without_a_competent_decider_on_the_path_are_left_out() -> None:
    found = _codes(
        offers(plan(COMMUNE_REF, [("ANNUAL", "GK_UNIT"), ("ANNUAL", "GK_XA")]), DAI_SON, MATRIX, ON), "ANNUAL"
    )
    assert set(found) == {"GK_XA"}  # a commune cannot propose a unit head's Giấy khen
    assert offers(plan(COMMUNE_REF, [("ANNUAL", "GK_HUYEN")]), SCHOOL, MATRIX, ON) == []  # not in force since 7/2025


def test_routes_are_the_matrix_routes_placed_on_the_ancestors() -> None:
    where = placement(MATRIX, SCHOOL, ON)
    steps = MATRIX.route("BK_TINH", where.proposer, ON)
    assert steps == MATRIX.route("BK_TINH", Level.UNIT, ON, unit_parent=Level.COMMUNE)
    assert [where.seat_path(s) for s in steps] == ["VN/31/11086/THCS-DS", "VN/31/11086", "VN/31"]
    inside = placement(MATRIX, IN_SO, ON)  # a centre inside a sở: the Giám đốc sở reviews at the sở itself
    assert [inside.seat_path(s) for s in MATRIX.route("BK_TINH", inside.proposer, ON)] == [
        "VN/15/SKHCN-15/TT-1",
        "VN/15/SKHCN-15",
        "VN/15",
    ]
    assert unit_parent(SO.path) is Level.PROVINCE and unit_parent("VN/31/11086/A/B") is Level.COMMUNE
    assert nominees(SCHOOL) == {"INDIVIDUAL", "COLLECTIVE"} and "HOUSEHOLD" in nominees(DAI_SON)
