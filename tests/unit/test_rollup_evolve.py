"""Pure rules of the rollup: binding, periods, indicator judgements, slot evolution and status."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from projections.rollup.evolve import Slot, evolve, settle, with_binding
from projections.rollup.expectations import bind, plan_periods, unit_view
from projections.rollup.measures import MEAN, SHARE, SUM, aggregation, meets, meets_own
from services.demo.data import DAI_SON, UNITS
from services.kernel.contracts import ReportReviewed, ReportSubmitted, TargetsRegistered

pytestmark = pytest.mark.unit

DAI_SON_R1 = {  # as the seed import writes Đại Sơn's duty R1 ("trước ngày 01/12")
    "code": "R1",
    "reporter_levels": ["UNIT"],
    "reporter_under": DAI_SON,
    "reporter_kinds": ["AGENCY", "ENTERPRISE"],
    "reporter_name": None,
    "period": "ANNUAL",
    "deadline_kind": "BEFORE_DAY_OF_YEAR",
    "deadline_month": 12,
    "deadline_day": 1,
    "deadline_date": None,
}
PKT_R2 = {**DAI_SON_R1, "code": "R2", "reporter_kinds": [], "reporter_name": "Phòng Kinh tế", "deadline_kind": "NONE"}
KEY = ("plan-x", "2026", "VN/31/11086/TH-DS")


def event(cls: type, data: dict[str, Any], version: int = 1, when: datetime | None = None) -> Any:
    meta = {
        "event_id": str(uuid.uuid4()),
        "stream_id": "s",
        "stream_version": version,
        "occurred_at": when or datetime(2026, 11, 20, tzinfo=UTC),
        "org_unit": {"code": "TH-DS", "path": KEY[2], "level": "UNIT", "name": None},
    }
    return cls(meta=meta, data=data)


def submitted(version: int, late: bool = False, values: dict[str, float] | None = None) -> Any:
    data = {
        "report_id": "plan-x:TH-DS:2026",
        "plan_id": KEY[0],
        "unit": {"code": "TH-DS", "path": KEY[2], "level": "UNIT", "name": None},
        "period": "2026",
        "version": version,
        "values": [{"indicator_code": c, "value": v, "note": None} for c, v in (values or {}).items()],
        "deadline": date(2026, 11, 30),
        "late": late,
    }
    return event(ReportSubmitted, data, version)


def reviewed(version: int, outcome: str) -> Any:
    return event(ReportReviewed, {"report_id": "plan-x:TH-DS:2026", "version": version, "outcome": outcome})


def registered(targets: dict[str, float], version: int = 1) -> Any:
    data = {
        "plan_id": KEY[0],
        "unit": {"code": "TH-DS", "path": KEY[2], "level": "UNIT", "name": None},
        "year": 2026,
        "targets": [{"indicator_code": c, "value": v, "note": None} for c, v in targets.items()],
    }
    return event(TargetsRegistered, data, version)


def fold(*events: Any, defs: dict[str, Any] | None = None) -> Slot:
    slot = None
    for e in events:
        slot = evolve(e, slot)
    assert slot is not None
    return settle(slot, defs or {})


def test_dai_son_duty_binds_agencies_public_service_units_enterprises_and_cooperatives() -> None:
    bound = {
        code
        for parent, code, _, kind, *_ in UNITS
        if parent == DAI_SON and bind([DAI_SON_R1], unit_view(f"{parent}/{code}", code, "UNIT", kind, None), "2026")
    }
    assert bound == {"PVHXH-DS", "PKT-DS", "THCS-DS", "TH-DS", "MN-DS", "TYT-DS", "DN-DS1", "DN-DS2", "HTX-DS"}
    village = unit_view(f"{DAI_SON}/THON-1", "THON-1", "UNIT", "VILLAGE", None)
    assert bind([DAI_SON_R1], village, "2026") is None
    commune = unit_view(DAI_SON, "11086", "COMMUNE", "COMMUNE", "Xã Đại Sơn")
    assert bind([DAI_SON_R1], commune, "2026") is None  # strictly below the subtree, and not of level UNIT


def test_the_most_specific_binding_duty_governs_with_its_deadline_for_the_year() -> None:
    pkt = unit_view(f"{DAI_SON}/PKT-DS", "PKT-DS", "UNIT", "AGENCY", "Phòng Kinh tế")
    assert bind([DAI_SON_R1, PKT_R2], pkt, "2026") == ("R2", None)  # its own (undated) duty, not the units' one
    assert bind([PKT_R2, DAI_SON_R1], pkt, "2027") == ("R2", None)
    school = unit_view(f"{DAI_SON}/TH-DS", "TH-DS", "UNIT", "PUBLIC_SERVICE_UNIT", "Trường")
    assert bind([DAI_SON_R1, PKT_R2], school, "2026") == ("R1", date(2026, 11, 30))
    assert bind([DAI_SON_R1], pkt, "SO_KET_2027") is None  # an annual duty expects no review report


def test_periods_are_the_years_spanned_and_one_per_phase_review() -> None:
    phases = [
        {"start_date": date(2026, 5, 1), "end_date": date(2027, 12, 31), "review": "SO_KET"},
        {"start_date": date(2028, 1, 1), "end_date": date(2030, 12, 31), "review": "TONG_KET"},
    ]
    assert plan_periods(phases) == ["2026", "2027", "2028", "2029", "2030", "SO_KET_2027", "TONG_KET_2030"]
    assert plan_periods([]) == []


@pytest.mark.parametrize(
    ("unit", "rule"),
    [("%", MEAN), ("mô hình/đơn vị", MEAN), ("thứ hạng", SHARE), ("doanh nghiệp", SUM), ("tỷ đồng", SUM), (None, SUM)],
)
def test_aggregation_rule_follows_the_unit_of_measure(unit: str | None, rule: str) -> None:
    assert aggregation(unit) == rule


def test_values_are_judged_by_the_comparator() -> None:
    assert meets("GE", 90.0, None, 90.0) and not meets("GT", 90.0, None, 90.0)
    assert meets("LE", 15.0, None, 12.0) and not meets("LT", 15.0, None, 15.0)
    assert meets("EQ", 100.0, None, 100.0) and not meets("EQ", 100.0, None, 99.9)
    assert meets("RANGE", 80.0, 90.0, 85.0) and not meets("RANGE", 80.0, 90.0, 91.0)
    assert meets("ABOUT", 1.0, 1.5, 1.2) and meets("ABOUT", 10.0, None, 10.9) and not meets("ABOUT", 10.0, None, 12)
    assert meets("GE", None, None, 1.0) is None
    assert meets_own({"comparator": "LE"}, 12.0, 15.0) and not meets_own({"comparator": "GE"}, 12.0, 15.0)
    assert not meets_own(None, None, 1.0)  # nothing reported: not met


def test_a_resubmission_replaces_the_version_and_clears_its_review() -> None:
    slot = fold(submitted(1, values={"A": 1.0}), reviewed(1, "RETURNED"), submitted(2, late=True))
    assert (slot.version, slot.outcome, slot.status, slot.values) == (2, None, "LATE", ())
    assert fold(submitted(1), reviewed(1, "RETURNED"), submitted(2), reviewed(2, "ACCEPTED")).outcome == "ACCEPTED"


def test_replays_of_older_facts_change_nothing() -> None:
    slot = fold(submitted(1), reviewed(1, "RETURNED"), submitted(2), reviewed(2, "ACCEPTED"))
    assert evolve(submitted(1), slot) is slot and evolve(reviewed(1, "RETURNED"), slot) is slot
    targets = fold(registered({"A": 1.0}, version=2))
    assert evolve(registered({"A": 5.0}, version=1), targets) is targets


def test_status_and_own_targets() -> None:
    missing = settle(with_binding(Slot(*KEY), ("R1", date(2026, 11, 30))), {})
    assert missing.status == "MISSING" and missing.own_met is None
    undated = settle(Slot(*KEY, version=1, report_id="r"), {})
    assert undated.status == "SUBMITTED"  # no deadline: timeliness cannot be judged
    defs = {"A": {"comparator": "GE", "threshold": 90.0}, "B": {"comparator": "LE", "threshold": 5.0}}
    met = fold(registered({"A": 95.0, "B": 3.0}), submitted(1, values={"A": 96.0, "B": 2.0}), defs=defs)
    assert met.own_met is True and met.values == (("A", 96.0, True), ("B", 2.0, True))
    short = fold(registered({"A": 95.0}), submitted(1, values={"A": 94.0}), defs=defs)
    assert short.own_met is False and short.values == (("A", 94.0, True),)  # meets the plan, not its own target
    returned = fold(registered({"A": 95.0}), submitted(1, values={"A": 96.0}), reviewed(1, "RETURNED"), defs=defs)
    assert returned.own_met is False  # a returned version's figures do not count
