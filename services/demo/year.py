"""``thidua demo``: the hierarchy, the four plans, a few dozen units and one simulated year, then a summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.awards.commands import DecideAward, ForwardAward, ProposeAward
from services.awards.model import fold
from services.bootstrap import Node
from services.demo.data import (
    DAI_SON,
    DAI_SON_REPORTS,
    HUE_REPORTS,
    LAO_CAI,
    LAO_CAI_BLOCS,
    LAO_CAI_TARGETS,
    UNITS,
)
from services.kernel.errors import ThiduaError
from services.kernel.events import decode_event
from services.kernel.vntime import VN_TZ
from services.planning.seed_import import ImportReport, import_seeds
from services.registry.commands import RegisterEmulationBloc, RegisterOrgUnit
from services.reporting.commands import RegisterTargets, ReviewReport, SubmitReport

ACTOR: dict[str, Any] = {
    "actor_id": "demo",
    "kind": "SYSTEM",
    "display_name": "Mô phỏng",
    "org_unit_path": None,
    "roles": ["operator"],
}
DAI_SON_PLAN, LAO_CAI_PLAN, HUE_PLAN = "dai-son-draft-2026-06", "lao-cai-draft-2026-05", "hue-220-2026"


def at(month: int, day: int, year: int = 2026, hour: int = 9) -> datetime:
    """Business time in Vietnam."""
    return datetime(year, month, day, hour, tzinfo=VN_TZ)


@dataclass
class DemoSummary:
    """What the demo did, for the printed summary and for tests."""

    imported: ImportReport
    units: list[str] = field(default_factory=list)
    registrations: int = 0
    reports: list[dict[str, Any]] = field(default_factory=list)
    awards: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[tuple[str, ThiduaError]] = field(default_factory=list)


def _path(code: str) -> str:
    return next(f"{parent}/{c}" for parent, c, *_ in UNITS if c == code)


def run_demo(node: Node) -> DemoSummary:
    """Load everything through the message bus, as the API would."""
    summary = run_setup(node)
    run_year(node, summary)
    return summary


def run_setup(node: Node) -> DemoSummary:
    """The plans, the khối thi đua and the units, without the year (the officials then work it, e.g. in the
    browser: ``thidua demo --setup-only``)."""
    handle = node.bus.handle
    summary = DemoSummary(import_seeds(handle))
    for code, name, members in LAO_CAI_BLOCS:
        handle(RegisterEmulationBloc(code, LAO_CAI, "KHOI", name, members, at(5, 4, hour=8), ACTOR))
    for parent, code, name, kind, category, bloc, agency in UNITS:
        handle(
            RegisterOrgUnit(
                parent,
                code,
                name,
                kind,
                at(5, 4),
                ACTOR,
                subject_category=category,
                emulation_bloc=bloc,
                valid_from=date(2026, 5, 4),
                agency_type=agency,
            )
        )
        summary.units.append(f"{parent}/{code}")
    return summary


def run_year(node: Node, summary: DemoSummary) -> None:
    """The simulated year: registrations, reports and their review, award proposals and decisions, refusals."""
    handle = node.bus.handle
    for path, targets in LAO_CAI_TARGETS.items():
        values = tuple({"indicator_code": c, "value": v, "note": None} for c, v in targets)
        code = path.rsplit("/", 1)[1]
        handle(RegisterTargets(f"dk-{code}-2026", LAO_CAI_PLAN, path, 2026, values, at(6, 15), ACTOR))
        summary.registrations += 1
    _reports(handle)
    _awards(node, summary)


def _reports(handle: Any) -> None:
    for code, day, month in DAI_SON_REPORTS:
        handle(
            SubmitReport(
                DAI_SON_PLAN,
                _path(code),
                "2026",
                at(month, day, hour=15),
                ACTOR,
                values=({"indicator_code": "DS-1", "value": 1.0, "note": None},),
                narrative="Báo cáo kết quả thực hiện Phong trào thi đua năm 2026",
            )
        )
    rid = f"{DAI_SON_PLAN}:TH-DS:2026"  # returned for missing figures, then resubmitted (version 2, now late)
    handle(ReviewReport(rid, DAI_SON, "RETURNED", at(11, 29), ACTOR, reason="Thiếu số liệu mô hình chuyển đổi số"))
    handle(SubmitReport(DAI_SON_PLAN, _path("TH-DS"), "2026", at(12, 4), ACTOR, narrative="Bổ sung số liệu"))
    for code in ("THCS-DS", "TH-DS", "DN-DS1"):
        handle(ReviewReport(f"{DAI_SON_PLAN}:{code}:2026", DAI_SON, "ACCEPTED", at(12, 8), ACTOR))
    for path in HUE_REPORTS:
        handle(SubmitReport(HUE_PLAN, path, "2026", at(12, 15), ACTOR))
    for path in LAO_CAI_TARGETS:
        handle(SubmitReport(LAO_CAI_PLAN, path, "2026", at(12, 10), ACTOR))


def _propose(
    pid: str, proposer: str, nominee: str, kind: str, name: str, form: str, occasion: str, plan: str, when: datetime
) -> ProposeAward:
    return ProposeAward(
        pid,
        proposer,
        kind,
        name,
        nominee,
        form,
        occasion,
        "Thành tích xuất sắc trong Phong trào thi đua",
        when,
        ACTOR,
        plan_id=plan,
    )


def _walk(node: Node, pid: str, when: datetime) -> None:
    """Forward a proposal along its route until it reaches the deciding authority."""
    while True:
        events = [decode_event(s.body, node.codec, node.bus.types) for s in node.store.read_stream(f"award-{pid}")]
        proposal = fold(events)
        assert proposal is not None
        if proposal.current_step["role"] == "DECIDE":
            return
        node.bus.handle(ForwardAward(pid, proposal.current_step["org_unit"]["path"], when, ACTOR))


def _awards(node: Node, summary: DemoSummary) -> None:
    handle = node.bus.handle
    # 1. Giấy khen of the Chủ tịch UBND xã Đại Sơn, decided at the commune.
    handle(
        _propose(
            "gk-ds-2026-1",
            _path("THCS-DS"),
            _path("THCS-DS"),
            "COLLECTIVE",
            "Trường THCS Đại Sơn",
            "GK_XA",
            "ANNUAL",
            DAI_SON_PLAN,
            at(12, 10),
        )
    )
    _walk(node, "gk-ds-2026-1", at(12, 11))
    handle(DecideAward("gk-ds-2026-1", DAI_SON, "APPROVED", at(12, 20), ACTOR, "215/QĐ-UBND", date(2026, 12, 20)))
    # 2. Bằng khen of the Chủ tịch UBND tỉnh Lào Cai, forwarded from xã Bát Xát to the province and decided there.
    bat_xat = f"{LAO_CAI}/02683"
    handle(
        _propose(
            "bk-lc-2026-1",
            bat_xat,
            _path("DN-BATXAT"),
            "COLLECTIVE",
            "Công ty TNHH Chè Bát Xát",
            "BK_TINH",
            "ANNUAL",
            LAO_CAI_PLAN,
            at(12, 12),
        )
    )
    _walk(node, "bk-lc-2026-1", at(12, 14))
    handle(DecideAward("bk-lc-2026-1", LAO_CAI, "APPROVED", at(12, 28), ACTOR, "3105/QĐ-UBND", date(2026, 12, 28)))
    # 3. Bằng khen of the Thủ tướng from Huế at the sơ kết (2027): it travels up to the central authority.
    handle(
        _propose(
            "bkttg-hue-2027-1",
            _path("SKHCN-46"),
            _path("SKHCN-46"),
            "COLLECTIVE",
            "Sở Khoa học và Công nghệ thành phố Huế",
            "BK_TTG",
            "SO_KET",
            HUE_PLAN,
            at(12, 5, 2027),
        )
    )
    _walk(node, "bkttg-hue-2027-1", at(12, 10, 2027))
    # 4. The Giấy khen of a phường of Huế at the sơ kết 2027: "Giấy khen" in Huế's list is each level's own; the
    #    phường's council proposes and its Chủ tịch decides.
    phu_xuan = "VN/46/19753"
    handle(
        _propose(
            "gk-px-2027-1",
            phu_xuan,
            phu_xuan,
            "INDIVIDUAL",
            "Nguyễn Thị Hoa",
            "GK_XA",
            "SO_KET",
            HUE_PLAN,
            at(12, 5, 2027),
        )
    )
    _walk(node, "gk-px-2027-1", at(12, 6, 2027))
    handle(DecideAward("gk-px-2027-1", phu_xuan, "APPROVED", at(12, 9, 2027), ACTOR, "45/QĐ-UBND", date(2027, 12, 9)))
    # 5. Refused: xã Đại Sơn tries to decide a Bằng khen that only the Chủ tịch UBND thành phố may decide.
    handle(
        _propose(
            "bk-ds-2027-1",
            DAI_SON,
            _path("TH-DS"),
            "COLLECTIVE",
            "Trường Tiểu học Đại Sơn",
            "BK_TINH",
            "SO_KET",
            DAI_SON_PLAN,
            at(12, 1, 2027),
        )
    )
    _refused(
        summary,
        "AUTHORITY_MISMATCH",
        lambda: handle(
            DecideAward("bk-ds-2027-1", DAI_SON, "APPROVED", at(12, 2, 2027), ACTOR, "9/QĐ-UBND", date(2027, 12, 2))
        ),
    )
    _walk(node, "bk-ds-2027-1", at(12, 3, 2027))
    # 6. Refused: Huân chương Lao động at the tổng kết of a plan that offers none (Đại Sơn).
    _refused(
        summary,
        "FORM_NOT_ALLOWED_IN_PLAN",
        lambda: handle(
            _propose(
                "hcld-ds-2030-1",
                DAI_SON,
                DAI_SON,
                "COLLECTIVE",
                "Ủy ban nhân dân xã Đại Sơn",
                "HCLD_3",
                "TONG_KET",
                DAI_SON_PLAN,
                at(11, 20, 2030),
            )
        ),
    )

    # 7. Refused: a Cờ thi đua (an emulation title) as an ad-hoc award (Law Art. 8, 26), although Lào Cai's one list
    #    of forms is repeated for đột xuất.
    _refused(
        summary,
        "FORM_NOT_FOR_OCCASION",
        lambda: handle(
            _propose(
                "co-lc-2026-1",
                bat_xat,
                _path("DN-BATXAT"),
                "COLLECTIVE",
                "Công ty TNHH Chè Bát Xát",
                "CO_TINH",
                "DOT_XUAT",
                LAO_CAI_PLAN,
                at(9, 15),
            )
        ),
    )


def _refused(summary: DemoSummary, expected: str, action: Any) -> None:
    try:
        action()
    except ThiduaError as error:
        if error.code != expected:
            raise
        summary.refusals.append((expected, error))
        return
    raise AssertionError(f"the demo expected a refusal {expected}")
