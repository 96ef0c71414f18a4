"""The outside legal review of the rules, finding by finding, through the message bus on SQLite and PostgreSQL.

Each test names the finding it covers (F01…F21) and failed on the main branch the review was made against; the
read models and the API are covered in ``test_law_review_read.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from services.awards.commands import ProposeAward
from services.bootstrap import Node
from services.planning.commands import IssuePlan
from services.reporting.commands import RegisterTargets, SubmitReport
from tests.domain_fixtures import MemoryNode, at, events, refused, register, seeded
from tests.factories import SYSTEM_ACTOR

DAI_SON, HUE, DONG_NAI, LAO_CAI = "VN/31/11086", "VN/46", "VN/75", "VN/15"
PHU_XUAN, BAT_XAT, Y_TY = "VN/46/19753", "VN/15/02683", "VN/15/02701"  # a phường of Huế, two xã of Lào Cai
DONG_XOAI = "VN/75/25210"  # a phường of Đồng Nai
HUE_PLAN, DN_PLAN, LC_PLAN, DS_PLAN = (
    "hue-220-2026",
    "dong-nai-113-2026",
    "lao-cai-draft-2026-05",
    "dai-son-draft-2026-06",
)


@pytest.fixture
def node(engine: Engine, tmp_path: Path) -> Node:
    return seeded(engine, tmp_path)


def plan_event(node: Node | MemoryNode, plan_id: str) -> Any:
    return next(e for e in events(node, "PlanIssued") if e.data["plan_id"] == plan_id)


def indicators(node: Node | MemoryNode, plan_id: str) -> dict[str, dict[str, Any]]:
    return {
        i["code"]: i
        for e in events(node, "CriteriaRegistered")
        if e.data["plan_id"] == plan_id
        for item in e.data["items"]
        for i in item["indicators"]
    }


def propose(pid: str, proposer: str, nominee: str, form: str, occasion: str, plan: str | None, **kw: Any) -> Any:
    kind, name, when = kw.get("kind", "COLLECTIVE"), kw.get("name", "Tập thể"), kw.get("when", at(2027, 12, 5))
    return ProposeAward(pid, proposer, kind, name, nominee, form, occasion, "Thành tích", when, SYSTEM_ACTOR, plan)


def proposed(node: Node | MemoryNode, pid: str) -> dict[str, Any]:
    return next(e.data for e in events(node, "AwardProposed") if e.data["proposal_id"] == pid)


def route(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(s["org_unit"]["path"], s["role"], s["authority"]) for s in data["route"]]


def report(node: Node | MemoryNode, plan: str, unit: str, when: datetime, period: str = "2026") -> dict[str, Any]:
    node.bus.handle(SubmitReport(plan, unit, period, when, SYSTEM_ACTOR))
    return events(node, "ReportSubmitted")[-1].data


def unit(node: Node | MemoryNode, parent: str, code: str, name: str, kind: str, **kw: Any) -> str:
    return register(node, parent, code, name, kind, **kw)


# --- Award forms by occasion and by authority -----------------------------------------------------------------


def test_f01_a_bare_giay_khen_is_each_levels_own(node: Node) -> None:
    """F01: a ward of Huế / Đồng Nai may propose its own Chủ tịch UBND xã's Giấy khen at sơ kết and tổng kết, and
    may not ask for a Giám đốc sở's Giấy khen with no sở on its path."""
    for plan, ward in ((HUE_PLAN, PHU_XUAN), (DN_PLAN, DONG_XOAI)):
        for occasion, when in (("SO_KET", at(2027, 12, 5)), ("TONG_KET", at(2030, 11, 5))):
            pid = f"gk-{ward[-5:]}-{occasion}"
            node.bus.handle(propose(pid, ward, ward, "GK_XA", occasion, plan, kind="INDIVIDUAL", name="A", when=when))
            assert route(proposed(node, pid))[-1] == (ward, "DECIDE", "CHU_TICH_UBND_XA")
        refused(node, propose("gk-so", ward, ward, "GK_SO", "SO_KET", plan, kind="INDIVIDUAL"), "AUTHORITY_MISMATCH")


def test_f02_by_authority_means_movement_awards_and_titles_are_not_ad_hoc(node: Node) -> None:
    """F02: "theo thẩm quyền" / "đề nghị cấp trên" are the competent level's movement awards, not every form of the
    matrix; a danh hiệu thi đua is never an ad-hoc (đột xuất) award."""
    refused(
        node, propose("xa-tb", HUE, PHU_XUAN, "XA_TB", "ANNUAL", HUE_PLAN, kind="COMMUNE"), "FORM_NOT_ALLOWED_IN_PLAN"
    )
    home = {"kind": "HOUSEHOLD", "name": "Hộ ông A"}
    refused(node, propose("gd-vh", PHU_XUAN, PHU_XUAN, "GD_VH", "ANNUAL", HUE_PLAN, **home), "FORM_NOT_ALLOWED_IN_PLAN")
    person = {"kind": "INDIVIDUAL", "name": "Bà B"}
    refused(node, propose("cstd", LAO_CAI, LAO_CAI, "CSTD_TQ", "DOT_XUAT", LC_PLAN, **person), "FORM_NOT_FOR_OCCASION")
    node.bus.handle(propose("gk-ok", PHU_XUAN, PHU_XUAN, "GK_XA", "ANNUAL", HUE_PLAN, **person))  # still allowed


def test_f03_lao_cai_sơ_kết_and_its_ad_hoc_forms(node: Node) -> None:
    """F03: Lào Cai may record a Bằng khen tỉnh at sơ kết (V.1.đ), but not a Cờ thi đua or CSTĐ toàn quốc đột xuất."""
    node.bus.handle(propose("bk-sk", BAT_XAT, BAT_XAT, "BK_TINH", "SO_KET", LC_PLAN, kind="INDIVIDUAL", name="Ông C"))
    assert route(proposed(node, "bk-sk"))[-1] == (LAO_CAI, "DECIDE", "CHU_TICH_UBND_TINH")
    codes = {w["code"] for w in plan_event(node, LC_PLAN).data["warnings"]}
    assert "SO_KET_AWARDS_INFERRED" in codes  # the inference is flagged on the plan
    refused(node, propose("co-dx", BAT_XAT, BAT_XAT, "CO_TINH", "DOT_XUAT", LC_PLAN), "FORM_NOT_FOR_OCCASION")


def test_f04_only_empowered_heads_decide_base_titles(node: Node) -> None:
    """F04: a commune school does not decide LĐTT, CSTĐ cơ sở or TTLĐTT (not even its own): the Chủ tịch UBND xã does
    (Law Art. 80(2)(3), NĐ 129/2025); an enterprise director does (Art. 80(4)), but not for the enterprise itself."""
    school = unit(node, DAI_SON, "THCS-X", "Trường THCS X", "PUBLIC_SERVICE_UNIT")
    person = {"kind": "INDIVIDUAL", "name": "Cô giáo D", "when": at(2026, 12, 10)}
    for pid, form in (("ld", "LDTT"), ("cs", "CSTDCS")):
        node.bus.handle(propose(pid, school, school, form, "ANNUAL", None, **person))
        assert route(proposed(node, pid)) == [
            (school, "PROPOSE", "THU_TRUONG_DON_VI"),
            (DAI_SON, "DECIDE", "CHU_TICH_UBND_XA"),
        ]
    node.bus.handle(propose("tt", school, school, "TTLDTT", "ANNUAL", None, when=at(2026, 12, 10)))
    assert route(proposed(node, "tt"))[-1] == (DAI_SON, "DECIDE", "CHU_TICH_UBND_XA")
    firm = unit(node, DAI_SON, "DN-X", "Công ty X", "ENTERPRISE", category="ENTERPRISE")
    node.bus.handle(propose("ld-dn", firm, firm, "LDTT", "ANNUAL", None, **person))
    assert route(proposed(node, "ld-dn")) == [(firm, "PROPOSE", "HOI_DONG_TDKT"), (firm, "DECIDE", "THU_TRUONG_DON_VI")]
    node.bus.handle(propose("tt-dn", firm, firm, "TTLDTT", "ANNUAL", None, when=at(2026, 12, 10)))
    assert route(proposed(node, "tt-dn"))[-1] == (DAI_SON, "DECIDE", "CHU_TICH_UBND_XA")


def test_f05_no_one_acts_twice_on_a_proposal(node: Node) -> None:
    """F05: a sở head who proposes does not review the same proposal again as "Giám đốc sở"."""
    so = unit(node, HUE, "SKHCN-46", "Sở Khoa học và Công nghệ thành phố Huế", "AGENCY", agency_type="SO_KHCN")
    node.bus.handle(propose("ttg", so, so, "BK_TTG", "SO_KET", HUE_PLAN))
    steps = route(proposed(node, "ttg"))
    assert steps == [
        (so, "PROPOSE", "GIAM_DOC_SO"),
        (HUE, "REVIEW", "CHU_TICH_UBND_TINH"),
        ("VN", "DECIDE", "THU_TUONG"),
    ]
    assert len({(path, who) for path, _, who in steps}) == len(steps)


def test_f06_a_collective_is_checked_against_collective_prerequisites(node: Node) -> None:
    """F06: a collective Bằng khen tỉnh is not checked against the individual "2 × CSTĐ cơ sở" rule (Art. 74(1)(d))."""
    node.bus.handle(propose("bk-tt", BAT_XAT, BAT_XAT, "BK_TINH", "ANNUAL", LC_PLAN, when=at(2026, 12, 12)))
    checks = {c["rule"]: c for c in proposed(node, "bk-tt")["prerequisites"]}
    assert "BK_TINH_NEEDS_TWO_CSTDCS" not in checks
    assert (
        checks["BK_TINH_COLLECTIVE"]["status"] == "NOT_CHECKABLE"
        and "74" in checks["BK_TINH_COLLECTIVE"]["legal_basis"]
    )


# --- Reporting: who must report, and when --------------------------------------------------------------------


def test_f07_lateness_is_judged_in_vietnam_time(node: Node) -> None:
    """F07: 06:30 on 01/12 in Vietnam is late against "trước ngày 01/12" whatever offset the caller sends."""
    school = unit(node, DAI_SON, "TH-X", "Trường Tiểu học X", "PUBLIC_SERVICE_UNIT")
    moment = datetime(2026, 12, 1, 6, 30, tzinfo=timezone(timedelta(hours=7)))
    assert report(node, DS_PLAN, school, moment.astimezone(UTC))["late"] is True
    other = unit(node, DAI_SON, "TH-Y", "Trường Tiểu học Y", "PUBLIC_SERVICE_UNIT")
    assert report(node, DS_PLAN, other, moment)["late"] is True
    third = unit(node, DAI_SON, "TH-Z", "Trường Tiểu học Z", "PUBLIC_SERVICE_UNIT")
    evening = datetime(2026, 11, 30, 23, 30, tzinfo=timezone(timedelta(hours=7)))  # 16:30 UTC: still 30/11
    assert report(node, DS_PLAN, third, evening.astimezone(UTC))["late"] is False


def test_f08_receiving_offices_do_not_report_to_themselves(node: Node) -> None:
    """F08: Sở Nội vụ and Sở KH&CN of Huế, and Phòng VH-XH of Đại Sơn, receive the annual report: not bound by it."""
    snv = unit(node, HUE, "SNV-46", "Sở Nội vụ thành phố Huế", "AGENCY", agency_type="SO_NOI_VU")
    skhcn = unit(node, HUE, "SKHCN-46", "Sở Khoa học và Công nghệ thành phố Huế", "AGENCY", agency_type="SO_KHCN")
    snnmt = unit(node, HUE, "SNNMT-46", "Sở Nông nghiệp và Môi trường", "AGENCY", agency_type="SO_NNMT")
    vhxh = unit(node, DAI_SON, "PVHXH-X", "Phòng Văn hóa – Xã hội", "AGENCY", agency_type="PHONG_VHXH")
    assert report(node, HUE_PLAN, snv, at(2026, 12, 1))["duty_code"] is None
    assert report(node, HUE_PLAN, skhcn, at(2026, 12, 1))["duty_code"] is None
    assert report(node, HUE_PLAN, snnmt, at(2026, 12, 1))["duty_code"] == "R1"
    assert report(node, DS_PLAN, vhxh, at(2026, 11, 20))["duty_code"] is None


def test_f09_lao_cai_binds_the_members_of_its_khoi_thi_dua(node: Node) -> None:
    """F09: Lào Cai's duty binds the members of its khối thi đua (reference data), never Sở Nội vụ itself."""
    from services.registry.commands import RegisterEmulationBloc

    skhcn = unit(node, LAO_CAI, "SKHCN-15", "Sở Khoa học và Công nghệ tỉnh Lào Cai", "AGENCY", agency_type="SO_KHCN")
    snv = unit(node, LAO_CAI, "SNV-15", "Sở Nội vụ tỉnh Lào Cai", "AGENCY", agency_type="SO_NOI_VU")
    school = unit(node, "VN/15/02647", "THCS-LC", "Trường THCS Lào Cai", "PUBLIC_SERVICE_UNIT")
    mttq = unit(node, "VN/15/02695", "MTTQ-TT", "Ủy ban MTTQ xã Trịnh Tường", "MTTQ", category="MTTQ_SOCIO_POLITICAL")
    bloc = RegisterEmulationBloc(
        "15-K01", LAO_CAI, "KHOI", "Khối thi đua số 1", (skhcn, snv, BAT_XAT), at(2026, 5, 20), SYSTEM_ACTOR
    )
    node.bus.handle(bloc)
    assert report(node, LC_PLAN, skhcn, at(2026, 12, 10))["duty_code"] == "R1"
    assert report(node, LC_PLAN, BAT_XAT, at(2026, 12, 10))["duty_code"] == "R1"
    for outside in (snv, school, mttq, Y_TY):  # the receiver, a commune school, MTTQ xã, a commune in no khối
        assert report(node, LC_PLAN, outside, at(2026, 12, 10))["duty_code"] is None, outside


def test_f10_hue_binds_agencies_and_localities_not_the_schools_of_a_ward(node: Node) -> None:
    """F10: Huế's duty addressed to sở, ban, ngành and localities does not bind a school or a hospital of a phường."""
    school = unit(node, PHU_XUAN, "THPT-PX", "Trường THPT Phú Xuân", "PUBLIC_SERVICE_UNIT")
    hospital = unit(node, "VN/46/19774", "BV-KL", "Bệnh viện Kim Long", "PUBLIC_SERVICE_UNIT")
    assert report(node, HUE_PLAN, school, at(2026, 12, 15))["duty_code"] is None
    assert report(node, HUE_PLAN, hospital, at(2026, 12, 15))["duty_code"] is None
    assert report(node, HUE_PLAN, PHU_XUAN, at(2026, 12, 15))["duty_code"] == "R1"


def test_f11_phong_kinh_te_keeps_its_own_undated_duty(node: Node) -> None:
    """F11: Đại Sơn's Phòng Kinh tế is held to its own (undated) annual duty, not to the 30/11 one of the units."""
    pkt = unit(node, DAI_SON, "PKT-X", "Phòng Kinh tế", "AGENCY", agency_type="PHONG_KINH_TE")
    data = report(node, DS_PLAN, pkt, at(2026, 12, 5))
    assert (data["duty_code"], data["deadline"], data["late"]) == ("R2", None, False)


# --- Targets ---------------------------------------------------------------------------------------------------


def test_f12_targets_say_whose_they_are(node: Node) -> None:
    """F12: Lào Cai's province-wide targets (PII rank, 5G coverage …) are not given to every commune."""
    found = indicators(node, LC_PLAN)
    assert (found["LC-01"]["scope"], found["LC-12"]["scope"], found["LC-36"]["scope"]) == (
        "PROVINCE",
        "PROVINCE",
        "PER_COMMUNE",
    )
    assert found["LC-04"]["scope"] == "PER_UNIT" and "AGENCY" in found["LC-04"]["scope_kinds"]
    pii = ({"indicator_code": "LC-01", "value": 10.0, "note": None},)
    refused(
        node, RegisterTargets("r1", LC_PLAN, BAT_XAT, 2026, pii, at(2026, 6, 1), SYSTEM_ACTOR), "TARGET_NOT_FOR_UNIT"
    )
    green = ({"indicator_code": "LC-36", "value": 1.0, "note": None},)
    node.bus.handle(RegisterTargets("r2", LC_PLAN, BAT_XAT, 2026, green, at(2026, 6, 1), SYSTEM_ACTOR))


def test_f13_a_phased_floor_is_a_floor(node: Node) -> None:
    """F13: "tối thiểu 80–90 %" and "tối thiểu 20–25" are floors: 95 % and 30 meet them."""
    from projections.rollup.measures import meets_plan

    found = indicators(node, LC_PLAN)
    assert found["LC-07"]["comparison"] == "PHASED_FLOOR" and found["LC-24"]["comparison"] == "PHASED_FLOOR"
    assert meets_plan(found["LC-07"], 95.0) is True and meets_plan(found["LC-07"], 79.0) is False
    assert meets_plan(found["LC-24"], 30.0) is True
    assert found["LC-23"]["comparison"] == "APPROX_BAND"  # "khoảng 1–1,5 %" stays a band


def test_f14_nothing_is_lost_on_import(node: Node) -> None:
    """F14: "trong đó ≥ 50 % gắn với doanh nghiệp", annual recurrence and per-unit scope survive the import."""
    found = indicators(node, LC_PLAN)
    (condition,) = found["LC-26"]["conditions"]
    assert (condition["comparator"], condition["threshold"]) == ("GE", 50.0) and "doanh nghiệp" in condition["name"]
    assert [c["threshold"] for c in found["LC-01"]["conditions"]] == [8.0]
    assert {code for code, i in found.items() if i["recurrence"] == "ANNUAL"} == {
        "LC-02",
        "LC-04",
        "LC-05",
        "LC-24",
        "LC-25",
    }
    assert found["LC-33"]["approximate"] is True and found["LC-07"]["source_text"]


def test_f15_conflicting_targets_are_flagged(node: Node) -> None:
    """F15: LC-17 vs LC-19/20/22, LC-02 vs LC-05, LC-23 vs LC-29 and LC-25's undefined measure are flagged."""
    warnings = [
        w for e in events(node, "CriteriaRegistered") if e.data["plan_id"] == LC_PLAN for w in e.data["warnings"]
    ]
    pairs = {(w["code"], tuple(w["refs"])) for w in warnings}
    assert ("CONFLICTING_TARGETS", ("LC-17", "LC-19", "LC-20", "LC-22")) in pairs
    assert ("DUPLICATE_TARGET", ("LC-02", "LC-05")) in pairs
    assert ("CONFLICTING_TARGETS", ("LC-23", "LC-29")) in pairs
    assert ("MEASURE_UNDEFINED", ("LC-25",)) in pairs


# --- Plans and timing ------------------------------------------------------------------------------------------


def test_f16_occasions_have_dates_and_awards_hang_on_them(node: Node) -> None:
    """F16: sơ kết 2027 / tổng kết 2030 (Huế, Đồng Nai); Lào Cai sơ kết 12/2027, tổng kết Q4/2030 with the Đại hội."""
    lao_cai = {p["review"]: p for p in plan_event(node, LC_PLAN).data["phases"]}
    assert (lao_cai["SO_KET"]["review_from"], lao_cai["SO_KET"]["review_to"]) == (date(2027, 12, 1), date(2027, 12, 31))
    assert (lao_cai["TONG_KET"]["review_from"], lao_cai["TONG_KET"]["review_to"]) == (
        date(2030, 10, 1),
        date(2030, 12, 31),
    )
    assert "Đại hội thi đua tỉnh lần thứ II" in lao_cai["TONG_KET"]["review_with"]
    for plan in (HUE_PLAN, DN_PLAN):
        windows = {p["review"]: (p["review_from"], p["review_to"]) for p in plan_event(node, plan).data["phases"]}
        assert windows == {
            "SO_KET": (date(2027, 1, 1), date(2027, 12, 31)),
            "TONG_KET": (date(2030, 1, 1), date(2030, 12, 31)),
        }
    node.bus.handle(propose("ttg-hue", HUE, HUE, "BK_TTG", "SO_KET", HUE_PLAN, kind="INDIVIDUAL", name="Ông E"))
    assert proposed(node, "ttg-hue")["occasion_period"] == "SO_KET_2027"


def test_f17_cited_documents_are_references(node: Node) -> None:
    """F17: KH 244/KH-UBND of Huế; Đồng Nai's NQ/KH list and its linked movement; Lào Cai's 923/QĐ-TTg, 3751/HD-BNV…"""
    refs = {p: {r["ref"] for r in plan_event(node, p).data["references"]} for p in (HUE_PLAN, DN_PLAN, LC_PLAN)}
    assert "244/KH-UBND" in refs[HUE_PLAN]
    assert {"57-NQ/TW", "03/NQ-CP", "71/NQ-CP", "469-KH/TU", "92/KH-UBND", "433-KH/TU"} <= refs[DN_PLAN]
    assert {"923/QĐ-TTg", "3751/HD-BNV", "01-KH/TU", "2608/QĐ-UBND", "752/QĐ-UBND", "828/QĐ-UBND"} <= refs[LC_PLAN]
    movements = [r for r in plan_event(node, DN_PLAN).data["references"] if r["kind"] == "MOVEMENT"]
    assert any(m["title"].startswith("Phát huy sức mạnh tổng hợp") for m in movements)


def test_f18_dong_nai_keeps_its_printed_name_and_the_flag(node: Node) -> None:
    """F18: Đồng Nai's plan says "thành phố Đồng Nai"; the 2025 list says "Tỉnh Đồng Nai": both kept, flagged."""
    data = plan_event(node, DN_PLAN).data
    assert data["issuer_name"] == "Ủy ban nhân dân thành phố Đồng Nai" and data["issuer"]["name"] == "Tỉnh Đồng Nai"
    assert "PROVINCE_TYPE_TIME_DEPENDENT" in {w["code"] for w in data["warnings"]}


def test_f19_hai_phong_keeps_its_period(node: Node) -> None:
    """F19: QĐ 2159/QĐ-UBND's period 2026–2030 is kept, and a child's phases are checked against it."""
    period = plan_event(node, "hai-phong-2159-2026").data["period"]
    assert (period["start_date"], period["end_date"]) == (date(2026, 1, 1), date(2030, 12, 31))
    late = {"code": "P1", "name": "Giai đoạn", "start_date": date(2026, 7, 1), "end_date": date(2031, 6, 30)}
    child = IssuePlan(
        "hp-child",
        "VN/31/11086",
        "KH-UBND",
        "T",
        at(2026, 7, 1),
        SYSTEM_ACTOR,
        implements=("hai-phong-2159-2026",),
        phases=(late,),
    )
    refused(node, child, "PHASE_OUTSIDE_PARENT")


def test_f20_a_draft_is_not_recorded_before_its_parent(node: Node) -> None:
    """F20: Đại Sơn's draft (June 2026, day blank) is recorded no earlier than its parent QĐ 2159 of 09/6, flagged."""
    event = plan_event(node, DS_PLAN)
    assert event.occurred_at.astimezone(UTC).date() >= date(2026, 6, 8)
    from services.kernel.vntime import business_day

    assert business_day(event.occurred_at) == date(2026, 6, 9)
    assert "DRAFT_DATE_ASSUMED" in {w["code"] for w in event.data["warnings"]}


def test_f21_dai_sons_start_date_is_flagged(node: Node) -> None:
    """F21: "từ thời gian phát động năm 2026" is stored as 01/01/2026 (year precision), flagged: launched after June."""
    data = plan_event(node, DS_PLAN).data
    assert data["phases"][0]["start_date"] == date(2026, 1, 1) and data["phases"][0]["date_precision"] == "YEAR"
    assert "PHASE_START_AT_LAUNCH" in {w["code"] for w in data["warnings"]}
