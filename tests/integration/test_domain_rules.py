"""The movement's rules through the message bus, on SQLite and PostgreSQL: what they accept, what they refuse.

tests/unit/test_domain_rules_memory.py runs the same tests on the in-memory unit of work."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from services.awards.commands import DecideAward, ForwardAward, ProposeAward, ReturnAward
from services.bootstrap import Node
from services.planning.commands import AssignPlanNumber, IssueGuidance, IssuePlan, RegisterCriteria
from services.planning.handlers import load_plan
from services.reporting.commands import RegisterTargets, ReviewReport, SubmitReport
from tests.domain_fixtures import (
    LAO_CAI_COMMUNE,
    MemoryNode,
    all_events,
    at,
    events,
    refused,
    register,
    seeded,
    unit_of_work,
)
from tests.factories import SYSTEM_ACTOR

DAI_SON = "VN/31/11086"


@pytest.fixture
def node(engine: Engine, tmp_path: Path) -> Node:
    return seeded(engine, tmp_path)


def plan(node: Node | MemoryNode, plan_id: str):  # type: ignore[no-untyped-def]
    with unit_of_work(node) as uow:
        return load_plan(uow, plan_id)


def test_seed_import_keeps_data_and_flags_the_seeds(node: Node) -> None:
    lao_cai = plan(node, "lao-cai-draft-2026-05")
    assert lao_cai.is_draft and len(lao_cai.indicators()) == 42  # 40 targets and 2 conditions (LC-01.1, LC-26.1)
    hue = plan(node, "hue-220-2026")
    assert (hue.document_number, hue.document_symbol, hue.issue_date) == ("220", "KH-UBND", date(2026, 4, 15))
    assert hue.implements == ["vn-462-2026"] and plan(node, "dai-son-draft-2026-06").implements == [
        "hai-phong-2159-2026"
    ]
    issued = {e.data["plan_id"]: e for e in events(node, "PlanIssued")}
    codes = lambda pid: {w["code"] for w in issued[pid].data["warnings"]}  # noqa: E731
    assert {"SEED_FORM_NAME_NONSTANDARD", "SEED_DUPLICATED_CITATION", "DRAFT_WITHOUT_NUMBER"} <= codes(
        "dai-son-draft-2026-06"
    )
    assert "SEED_TYPO_DOT_XUAT" in codes("lao-cai-draft-2026-05")
    conflicts = [
        w for e in events(node, "CriteriaRegistered") for w in e.data["warnings"] if w["code"] == "CONFLICTING_TARGETS"
    ]
    assert len(conflicts) == 4 and all(w["message_vi"].startswith("Hai chỉ tiêu") for w in conflicts)


def test_drafts_receive_their_number_once_and_numbers_are_unique(node: Node) -> None:
    refused(
        node,
        AssignPlanNumber("dai-son-draft-2026-06", "2/3", date(2026, 6, 20), at(2026, 6, 20), SYSTEM_ACTOR),
        "INVALID_DOCUMENT_NUMBER",
    )
    node.bus.handle(AssignPlanNumber("dai-son-draft-2026-06", "85", date(2026, 6, 20), at(2026, 6, 20), SYSTEM_ACTOR))
    assert plan(node, "dai-son-draft-2026-06").document_number == "85"
    refused(
        node,
        AssignPlanNumber("dai-son-draft-2026-06", "86", date(2026, 6, 21), at(2026, 6, 21), SYSTEM_ACTOR),
        "PLAN_ALREADY_NUMBERED",
    )
    duplicate = IssuePlan(
        "hue-dup",
        "VN/46",
        "KH-UBND",
        "Kế hoạch khác",
        at(2026, 9, 1),
        SYSTEM_ACTOR,
        document_number="220",
        issue_date=date(2026, 9, 1),
        implements=("vn-462-2026",),
    )
    error = refused(node, duplicate, "DUPLICATE_DOCUMENT_NUMBER")
    assert error.details["used_by"] == "hue-220-2026"
    next_year = IssuePlan(
        "hue-2027",
        "VN/46",
        "KH-UBND",
        "Kế hoạch 2027",
        at(2027, 1, 5),
        SYSTEM_ACTOR,
        document_number="220",
        issue_date=date(2027, 1, 5),
        implements=("vn-462-2026",),
    )
    node.bus.handle(next_year)  # numbering restarts every calendar year (NĐ 30/2020 Art. 15)


def test_plans_implement_only_ancestor_plans_and_fit_their_phases(node: Node) -> None:
    cross = IssuePlan("x", "VN/46", "KH-UBND", "T", at(2026, 7, 1), SYSTEM_ACTOR, implements=("dong-nai-113-2026",))
    refused(node, cross, "PLAN_NOT_FROM_ANCESTOR")
    school = register(node, DAI_SON, "U-00042", "Trường Tiểu học Đại Sơn")
    late_phase = {
        "code": "P1",
        "name": "Giai đoạn ngoài",
        "start_date": date(2026, 7, 1),
        "end_date": date(2031, 6, 30),
        "review": None,
    }
    outside = IssuePlan(
        "u42",
        school,
        "KH-THĐS",
        "Kế hoạch của trường",
        at(2026, 7, 1),
        SYSTEM_ACTOR,
        implements=("dai-son-draft-2026-06",),
        phases=(late_phase,),
    )
    refused(node, outside, "PHASE_OUTSIDE_PARENT")
    refused(node, IssuePlan("u42", school, "kh", "T", at(2026, 7, 1), SYSTEM_ACTOR), "INVALID_DOCUMENT_NUMBER")
    inside = IssuePlan(
        "u42",
        school,
        "KH-THĐS",
        "Kế hoạch của trường",
        at(2026, 7, 1),
        SYSTEM_ACTOR,
        implements=("dai-son-draft-2026-06",),
        phases=({**late_phase, "end_date": date(2027, 12, 31)},),
    )
    node.bus.handle(inside)
    refused(node, inside, "PLAN_EXISTS")


def test_criteria_owner_and_indicators(node: Node) -> None:
    indicator = {
        "code": "LC-01",
        "name": "Trùng mã",
        "unit": "%",
        "comparator": "GE",
        "threshold": 1.0,
        "threshold_max": None,
        "year": None,
        "horizon": 2030,
    }
    item = {"code": "X", "title": "Mục", "indicators": [indicator]}
    refused(
        node,
        RegisterCriteria("c1", "lao-cai-draft-2026-05", "VN/15", "ENTERPRISE", at(2026, 6, 1), SYSTEM_ACTOR, (item,)),
        "DUPLICATE_INDICATOR",
    )
    refused(
        node,
        RegisterCriteria("c1", "lao-cai-draft-2026-05", "VN/46", "ENTERPRISE", at(2026, 6, 1), SYSTEM_ACTOR, ()),
        "OUT_OF_SUBTREE",
    )
    same_measure = [
        {**indicator, "code": "A", "name": "Tỷ lệ X"},
        {**indicator, "code": "B", "name": "Tỷ lệ X", "threshold": 2.0},
    ]
    result = node.bus.handle(
        RegisterCriteria(
            "c2",
            "lao-cai-draft-2026-05",
            "VN/15",
            "ENTERPRISE",
            at(2026, 6, 1),
            SYSTEM_ACTOR,
            ({"code": "Y", "title": "Mục", "indicators": same_measure},),
        )
    )
    assert result.event_ids  # accepted, with a warning the read side can show
    assert [w["code"] for w in events(node, "CriteriaRegistered")[-1].data["warnings"]] == ["CONFLICTING_TARGETS"]


def test_reports_on_time_late_returned_and_resubmitted(node: Node) -> None:
    school = register(node, DAI_SON, "U-00042", "Trường Tiểu học Đại Sơn")
    shop = register(node, DAI_SON, "DN-7", "Công ty TNHH Đại Sơn", kind="ENTERPRISE", category="ENTERPRISE")
    on_time = SubmitReport("dai-son-draft-2026-06", school, "2026", at(2026, 11, 30, 16), SYSTEM_ACTOR)
    node.bus.handle(on_time)
    node.bus.handle(SubmitReport("dai-son-draft-2026-06", shop, "2026", at(2026, 12, 1, 8), SYSTEM_ACTOR))
    reports = {e.data["unit"]["code"]: e.data for e in events(node, "ReportSubmitted")}
    assert reports["U-00042"]["late"] is False and reports["DN-7"]["late"] is True
    assert reports["DN-7"]["deadline"] == date(2026, 11, 30) and reports["DN-7"]["submitted_to"]["path"] == DAI_SON
    refused(node, on_time, "REPORT_ALREADY_SUBMITTED")
    rid = reports["U-00042"]["report_id"]
    refused(node, ReviewReport(rid, "VN/46", "ACCEPTED", at(2026, 12, 2), SYSTEM_ACTOR), "OUT_OF_SUBTREE")
    refused(node, ReviewReport(rid, DAI_SON, "RETURNED", at(2026, 12, 2), SYSTEM_ACTOR), "INVALID_REVIEW")
    node.bus.handle(ReviewReport(rid, DAI_SON, "RETURNED", at(2026, 12, 2), SYSTEM_ACTOR, reason="Thiếu số liệu"))
    node.bus.handle(SubmitReport("dai-son-draft-2026-06", school, "2026", at(2026, 12, 5), SYSTEM_ACTOR))
    second = events(node, "ReportSubmitted")[-1].data
    assert (second["version"], second["late"]) == (2, True)
    node.bus.handle(ReviewReport(rid, DAI_SON, "ACCEPTED", at(2026, 12, 6), SYSTEM_ACTOR))
    refused(node, ReviewReport(rid, DAI_SON, "ACCEPTED", at(2026, 12, 7), SYSTEM_ACTOR), "REPORT_NOT_AWAITING_REVIEW")
    refused(
        node, SubmitReport("dai-son-draft-2026-06", school, "2035", at(2035, 1, 1), SYSTEM_ACTOR), "OUTSIDE_PLAN_PERIOD"
    )


def test_registrations_use_the_plans_indicators(node: Node) -> None:
    commune = LAO_CAI_COMMUNE
    target = {"indicator_code": "LC-36", "value": 2.0, "note": None}  # "mỗi địa phương": the commune's own target
    node.bus.handle(
        RegisterTargets("r1", "lao-cai-draft-2026-05", commune, 2026, (target,), at(2026, 6, 1), SYSTEM_ACTOR)
    )
    refused(
        node,
        RegisterTargets(
            "r2",
            "lao-cai-draft-2026-05",
            commune,
            2026,
            ({**target, "indicator_code": "NOPE"},),
            at(2026, 6, 1),
            SYSTEM_ACTOR,
        ),
        "UNKNOWN_INDICATOR",
    )
    refused(
        node,
        RegisterTargets("r3", "lao-cai-draft-2026-05", "VN/46", 2026, (), at(2026, 6, 1), SYSTEM_ACTOR),
        "OUT_OF_SUBTREE",
    )


def _propose(
    node: Node,
    pid: str,
    proposer: str,
    nominee: str,
    form: str,
    occasion: str,
    plan_id: str | None,
    kind: str = "COLLECTIVE",
    name: str = "Tập thể",
) -> ProposeAward:
    return ProposeAward(
        pid,
        proposer,
        kind,
        name,
        nominee,
        form,
        occasion,
        "Thành tích xuất sắc",
        at(2027, 12, 10),
        SYSTEM_ACTOR,
        plan_id=plan_id,
    )


def test_award_routes_and_authority(node: Node) -> None:
    school = register(node, DAI_SON, "U-00042", "Trường Tiểu học Đại Sơn")
    node.bus.handle(_propose(node, "gk-1", school, school, "GK_XA", "SO_KET", "dai-son-draft-2026-06"))
    node.bus.handle(ForwardAward("gk-1", school, at(2027, 12, 11), SYSTEM_ACTOR))
    proposal = events(node, "AwardProposed")[-1].data
    assert [(s["org_unit"]["path"], s["role"]) for s in proposal["route"]] == [(school, "PROPOSE"), (DAI_SON, "DECIDE")]
    neighbour = "VN/31/" + next(u.code for u in node.official_units.communes("31") if u.code != "11086")
    refused(
        node,
        DecideAward("gk-1", neighbour, "APPROVED", at(2027, 12, 20), SYSTEM_ACTOR, "12/QĐ-UBND", date(2027, 12, 20)),
        "OUT_OF_SUBTREE",
    )
    refused(node, DecideAward("gk-1", DAI_SON, "APPROVED", at(2027, 12, 20), SYSTEM_ACTOR), "DECISION_INCOMPLETE")
    node.bus.handle(
        DecideAward("gk-1", DAI_SON, "APPROVED", at(2027, 12, 20), SYSTEM_ACTOR, "12/QĐ-UBND", date(2027, 12, 20))
    )
    refused(node, ForwardAward("gk-1", DAI_SON, at(2027, 12, 21), SYSTEM_ACTOR), "PROPOSAL_CLOSED")

    node.bus.handle(
        _propose(node, "bk-1", LAO_CAI_COMMUNE, LAO_CAI_COMMUNE, "BK_TINH", "TONG_KET", "lao-cai-draft-2026-05")
    )
    refused(
        node,
        DecideAward("bk-1", LAO_CAI_COMMUNE, "APPROVED", at(2027, 12, 20), SYSTEM_ACTOR, "1/QĐ", date(2027, 12, 20)),
        "AUTHORITY_MISMATCH",
    )
    refused(node, ForwardAward("bk-1", "VN/15", at(2027, 12, 11), SYSTEM_ACTOR), "NOT_CURRENT_HOLDER")
    refused(
        node,
        DecideAward("bk-1", "VN/15", "APPROVED", at(2027, 12, 11), SYSTEM_ACTOR, "1/QĐ", date(2027, 12, 11)),
        "NOT_CURRENT_HOLDER",
    )  # still with the commune: it has not been forwarded yet
    route = events(node, "AwardProposed")[-1].data["route"]
    for step in route[:-1]:
        node.bus.handle(ForwardAward("bk-1", step["org_unit"]["path"], at(2027, 12, 12), SYSTEM_ACTOR))
    assert _stream(node, "bk-1")[1] == "AwardForwarded"
    node.bus.handle(
        DecideAward("bk-1", "VN/15", "APPROVED", at(2027, 12, 28), SYSTEM_ACTOR, "3001/QĐ-UBND", date(2027, 12, 28))
    )
    assert route[-1]["authority"] == "CHU_TICH_UBND_TINH" and route[-1]["org_unit"]["path"] == "VN/15"

    refused(node, _propose(node, "x", "VN/15", LAO_CAI_COMMUNE, "GK_XA", "ANNUAL", None), "AUTHORITY_MISMATCH")
    refused(
        node,
        _propose(node, "x", DAI_SON, DAI_SON, "HCLD_3", "TONG_KET", "dai-son-draft-2026-06"),
        "FORM_NOT_ALLOWED_IN_PLAN",
    )
    refused(node, _propose(node, "x", DAI_SON, "VN/46", "GK_XA", "ANNUAL", None), "OUT_OF_SUBTREE")


def _stream(node: Node | MemoryNode, proposal_id: str) -> list[str]:
    """The event types of a proposal's stream, in order."""
    return [e.NAME for e in all_events(node) if e.stream_id == f"award-{proposal_id}"]


def test_bk_ttg_from_hue_reaches_the_prime_minister_and_returns(node: Node) -> None:
    node.bus.handle(_propose(node, "ttg-1", "VN/46", "VN/46", "BK_TTG", "SO_KET", "hue-220-2026"))
    route = events(node, "AwardProposed")[-1].data["route"]
    assert route[-1]["authority"] == "THU_TUONG" and route[-1]["org_unit"]["path"] == "VN"
    for step in route[:-1]:
        node.bus.handle(ForwardAward("ttg-1", step["org_unit"]["path"], at(2027, 12, 15), SYSTEM_ACTOR))
    node.bus.handle(ReturnAward("ttg-1", "VN", "Bổ sung hồ sơ", at(2028, 1, 10), SYSTEM_ACTOR))
    assert _stream(node, "ttg-1")[-1] == "AwardReturned"


def test_prerequisites_are_recorded_not_enforced(node: Node) -> None:
    person = dict(kind="INDIVIDUAL", name="Nguyễn Văn A")
    node.bus.handle(_propose(node, "p1", "VN/46", "VN/46", "BK_TINH", "SO_KET", "hue-220-2026", **person))
    node.bus.handle(ForwardAward("p1", "VN/46", at(2027, 12, 11), SYSTEM_ACTOR))
    node.bus.handle(
        DecideAward("p1", "VN/46", "APPROVED", at(2027, 12, 20), SYSTEM_ACTOR, "99/QĐ-UBND", date(2027, 12, 20))
    )
    node.bus.handle(_propose(node, "p2", "VN/46", "VN/46", "BK_TTG", "ANNUAL", None, **person))
    checks = events(node, "AwardProposed")[-1].data["prerequisites"]
    assert [(c["rule"], c["status"]) for c in checks] == [("BK_TTG_NEEDS_EARLIER_BK_TINH", "NOT_MET")]
    assert "73" in checks[0]["legal_basis"]
    node.bus.handle(_propose(node, "p3", "VN/46", "VN/46", "BK_TTG", "ANNUAL", None, kind="INDIVIDUAL", name="Trần B"))
    assert events(node, "AwardProposed")[-1].data["prerequisites"][0]["status"] == "NOT_CHECKABLE"


def test_guidance_goes_only_down_the_issuers_subtree(node: Node) -> None:
    node.bus.handle(
        IssueGuidance("g1", "VN/15", "Hướng dẫn khen thưởng sơ kết", (LAO_CAI_COMMUNE,), at(2027, 10, 1), SYSTEM_ACTOR)
    )
    refused(
        node, IssueGuidance("g2", "VN/15", "Sai phạm vi", ("VN/46",), at(2027, 10, 1), SYSTEM_ACTOR), "OUT_OF_SUBTREE"
    )


def test_amendments_are_numbered_and_keep_history(node: Node) -> None:
    from services.planning.commands import AmendPlan

    node.bus.handle(
        AmendPlan("hue-220-2026", "Điều chỉnh tiến độ", at(2026, 9, 1), SYSTEM_ACTOR, title="Kế hoạch (sửa đổi)")
    )
    version = plan(node, "hue-220-2026").version
    stale = AmendPlan("hue-220-2026", "Lần hai", at(2026, 9, 2), SYSTEM_ACTOR, expected_version=version - 1)
    refused(node, stale, "VERSION_CONFLICT")
    node.bus.handle(AmendPlan("hue-220-2026", "Lần hai", at(2026, 9, 2), SYSTEM_ACTOR, expected_version=version))
    amended = [e.data for e in events(node, "PlanAmended")]
    assert [a["amendment_no"] for a in amended] == [1, 2]
    assert plan(node, "hue-220-2026").title == "Kế hoạch (sửa đổi)" and plan(node, "hue-220-2026").amendments == 2
    assert events(node, "PlanIssued")[3].data["title"] != "Kế hoạch (sửa đổi)"  # history is kept


def test_reports_carry_models_and_initiatives(node: Node) -> None:
    school = register(node, DAI_SON, "U-00042", "Trường Tiểu học Đại Sơn")
    node.bus.handle(
        SubmitReport(
            "dai-son-draft-2026-06",
            school,
            "2026",
            at(2026, 11, 2),
            SYSTEM_ACTOR,
            initiatives=("Sổ liên lạc điện tử", "Thư viện số"),
        )
    )
    assert events(node, "ReportSubmitted")[-1].data["initiatives"] == ["Sổ liên lạc điện tử", "Thư viện số"]
