"""Pure rules of the domain, no I/O: document numbers, deadlines, duty binding, plan allowances, prerequisites."""

from __future__ import annotations

from datetime import date

import pytest

from services.awards import load_authority_matrix
from services.awards.allowances import plan_allows
from services.awards.prerequisites import check
from services.kernel.errors import DomainRefusal
from services.planning.model import Plan
from services.planning.rules import check_document, check_phases, conflicting_targets
from services.registry.lookup import OrgUnit
from services.reporting.model import binds, deadline, period_kind

pytestmark = pytest.mark.unit
MATRIX = load_authority_matrix()


@pytest.mark.parametrize(
    ("number", "symbol", "day", "ok"),
    [
        ("220", "KH-UBND", date(2026, 4, 15), True),
        (None, "KH-UBND", None, True),
        ("462", "QĐ-TTg", date(2026, 3, 22), True),
        ("3751", "HD-BNV", date(2025, 6, 16), True),
        ("220 ", "KH-UBND", date(2026, 4, 15), False),
        ("220", "KH UBND", date(2026, 4, 15), False),
        ("220", "KH-UBND", None, False),
        (None, "KH-UBND", date(2026, 1, 1), False),
    ],
)
def test_document_numbers_per_decree_30(number, symbol, day, ok) -> None:  # type: ignore[no-untyped-def]
    if ok:
        check_document(number, symbol, day)
    else:
        with pytest.raises(DomainRefusal) as raised:
            check_document(number, symbol, day)
        assert raised.value.code == "INVALID_DOCUMENT_NUMBER" and "30/2020" in raised.value.message_vi


DAI_SON_DUTY = {
    "code": "R1",
    "reporter_levels": ["UNIT"],
    "reporter_under": "VN/31/11086",
    "reporter_kinds": ["AGENCY", "ENTERPRISE"],
    "reporter_name": None,
    "period": "ANNUAL",
    "deadline_kind": "BEFORE_DAY_OF_YEAR",
    "deadline_month": 12,
    "deadline_day": 1,
    "deadline_date": None,
}


def _unit(path: str, kind: str, level: str = "UNIT") -> OrgUnit:
    return OrgUnit({"code": path.rsplit("/", 1)[-1], "path": path, "level": level, "name": "X"}, kind)


def test_deadlines() -> None:
    assert deadline(DAI_SON_DUTY, 2026) == date(2026, 11, 30)  # "trước ngày 01/12": the last on-time day is 30/11
    assert deadline({**DAI_SON_DUTY, "deadline_kind": "BY_DAY_OF_YEAR"}, 2027) == date(2027, 12, 1)
    assert deadline({**DAI_SON_DUTY, "deadline_kind": "NONE_STATED"}, 2026) is None


def test_duties_bind_by_level_subtree_and_kind_family() -> None:
    assert binds(DAI_SON_DUTY, _unit("VN/31/11086/U-1", "PUBLIC_SERVICE_UNIT"))  # an AGENCY-family unit
    assert binds(DAI_SON_DUTY, _unit("VN/31/11086/HTX-1", "COOPERATIVE"))  # ENTERPRISE family
    assert not binds(DAI_SON_DUTY, _unit("VN/31/11086/THON-1", "VILLAGE"))
    assert not binds(DAI_SON_DUTY, _unit("VN/31/11087/U-1", "AGENCY"))
    assert not binds(DAI_SON_DUTY, _unit("VN/31/11086", "COMMUNE", "COMMUNE"))


def test_periods() -> None:
    assert period_kind("2026") == ("ANNUAL", 2026) and period_kind("SO_KET_2027") == ("SO_KET", 2027)
    assert period_kind("TONG_KET_2030") == ("TONG_KET", 2030) and period_kind("2026-Q1") is None


def _plan(level: str, forms: list[tuple[str, str]], phases: list[tuple[date, date]] = ()) -> Plan:  # type: ignore[assignment]
    return Plan(
        "p",
        {"code": "x", "path": "VN/46", "level": level, "name": "x"},
        "1",
        "KH-UBND",
        date(2026, 1, 1),
        "t",
        [],
        [{"code": f"P{i}", "start_date": a, "end_date": b} for i, (a, b) in enumerate(phases)],
        [],
        [{"occasion": o, "form_code": f} for o, f in forms],
    )


def test_plan_allowances_resolve_pseudo_codes() -> None:
    on = date(2027, 12, 1)
    hue = _plan(
        "PROVINCE", [("ANNUAL", "BY_AUTHORITY"), ("TONG_KET", "HCLD"), ("SO_KET", "BK_TTG"), ("SO_KET", "GIAY_KHEN")]
    )
    assert plan_allows(hue, "BK_TINH", "ANNUAL", MATRIX, on) == "BY_AUTHORITY"  # decided by the province
    assert not plan_allows(hue, "BK_TTG", "ANNUAL", MATRIX, on)  # decided above it
    assert not plan_allows(hue, "XA_TB", "ANNUAL", MATRIX, on)  # an emulation title, not a movement award
    assert {f for f in ("GK_SO", "GK_XA", "GK_UNIT", "BK_TINH") if plan_allows(hue, f, "SO_KET", MATRIX, on)} == {
        "GK_SO",
        "GK_XA",
        "GK_UNIT",
    }  # "Giấy khen": each level's own
    assert plan_allows(hue, "HCLD_3", "TONG_KET", MATRIX, on) and not plan_allows(hue, "HCLD_3", "SO_KET", MATRIX, on)
    lao_cai = _plan("PROVINCE", [("ANNUAL", "CAP_TREN")])
    assert plan_allows(lao_cai, "BK_TTG", "ANNUAL", MATRIX, on) and not plan_allows(
        lao_cai, "BK_TINH", "ANNUAL", MATRIX, on
    )
    assert not plan_allows(lao_cai, "CSTD_TQ", "ANNUAL", MATRIX, on)  # "cấp trên" means State-level award forms


def test_phases_must_fit_parent() -> None:
    parent = _plan("PROVINCE", [], [(date(2026, 1, 1), date(2030, 12, 31))])
    check_phases([{"code": "P1", "start_date": date(2026, 5, 1), "end_date": date(2027, 12, 31)}], [parent])
    with pytest.raises(DomainRefusal) as raised:
        check_phases([{"code": "P2", "start_date": date(2028, 1, 1), "end_date": date(2031, 1, 1)}], [parent])
    assert raised.value.code == "PHASE_OUTSIDE_PARENT"


def test_prerequisites() -> None:
    on, person = date(2027, 1, 10), "INDIVIDUAL"
    assert check("BK_TTG", "MERIT", ["BK_TINH|MERIT|p1"], on, person)[0]["status"] == "MET"
    assert check("BK_TTG", "MERIT", ["BK_TINH|MOVEMENT|p1"], on, person)[0]["status"] == "NOT_MET"  # NĐ 152 Art. 4 [U]
    assert check("BK_TTG", "MERIT", [], on, person)[0]["status"] == "NOT_CHECKABLE"
    assert check("BK_TTG", "MOVEMENT", ["BK_TINH|MERIT|p1"], on, person)[0]["status"] == "NOT_CHECKABLE"
    assert check("BK_TINH", "MERIT", ["CSTDCS|MERIT|a"], on, person)[0]["status"] == "NOT_CHECKABLE"
    assert check("BK_TINH", "MERIT", ["CSTDCS|MERIT|a", "CSTDCS|MERIT|b"], on, person)[0]["status"] == "MET"
    assert check("GK_XA", "MERIT", [], on, person) == []
    team = check("BK_TINH", "MERIT", ["CSTDCS|MERIT|a", "CSTDCS|MERIT|b"], on, "COLLECTIVE")
    assert [(c["rule"], c["status"]) for c in team] == [("BK_TINH_COLLECTIVE", "NOT_CHECKABLE")]


def test_conflicting_targets_are_detected_by_measure() -> None:
    a = {"code": "A", "name": "Tỷ lệ DN dùng nền tảng số", "unit": "%", "comparator": "GE", "threshold": 70.0}
    b = {**a, "code": "B", "threshold": 50.0}
    c = {**a, "code": "C", "name": "Khác"}
    assert [w["code"] for w in conflicting_targets([a, b, c])] == ["CONFLICTING_TARGETS"]
    assert conflicting_targets([a, {**a, "code": "D"}]) == []
