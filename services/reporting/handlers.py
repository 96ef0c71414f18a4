"""Handlers of the reporting context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from services.domain.deps import Deps
from services.kernel.contracts import (
    IndicatorValue,
    OrgUnitRef,
    ReportingDuty,
    ReportReviewedData,
    ReportSubmittedData,
    TargetsRegisteredData,
)
from services.kernel.errors import DomainRefusal, Kind, out_of_subtree
from services.kernel.orgpaths import OrgPath
from services.kernel.store import NewEvent
from services.kernel.uow import AbstractUnitOfWork
from services.kernel.vntime import business_day
from services.planning.handlers import load_plan, nfc
from services.planning.model import Plan
from services.planning.targets import scope_refusal
from services.registry.lookup import OrgUnit, find_org_unit, get_org_unit, with_blocs

from .commands import RegisterTargets, ReviewReport, SubmitReport
from .model import binding_duty, deadline, fold, period_kind, report_id, report_stream


def _unit_in_plan(uow: AbstractUnitOfWork, deps: Deps, plan: Plan, unit_path: str) -> OrgUnit:
    unit = get_org_unit(uow, deps.official, unit_path)
    if not OrgPath(plan.issuer_path).contains(unit.path):
        raise out_of_subtree(plan.issuer_path, unit.path.value)
    return unit


def _outside(plan: Plan, what: str) -> DomainRefusal:
    return DomainRefusal(
        "OUTSIDE_PLAN_PERIOD",
        Kind.INVALID,
        f"{what} nằm ngoài thời gian của kế hoạch {plan.plan_id}.",
        f"{what} is outside the period of plan {plan.plan_id}.",
        plan_id=plan.plan_id,
        value=what,
    )


def _applicable_indicators(uow: AbstractUnitOfWork, plan: Plan) -> dict[str, tuple[Plan, Mapping[str, Any]]]:
    """Indicators of the plan and of the plans it implements, up the chain, each with the plan that sets it."""
    found: dict[str, tuple[Plan, Mapping[str, Any]]] = {}
    todo, seen = [plan], set()
    while todo:
        current = todo.pop()
        seen.add(current.plan_id)
        for code, indicator in current.indicators().items():
            found.setdefault(code, (current, indicator))
        todo += [load_plan(uow, p) for p in current.implements if p not in seen]
    return found


def register_targets(cmd: RegisterTargets, uow: AbstractUnitOfWork, deps: Deps) -> None:
    """TargetsRegistered; registering again for the same plan and year replaces the earlier targets."""
    plan = load_plan(uow, cmd.plan_id)
    unit = _unit_in_plan(uow, deps, plan, cmd.unit_path)
    span = plan.span()
    if span and not span[0].year <= cmd.year <= span[1].year:
        raise _outside(plan, f"Năm {cmd.year}")
    indicators = _applicable_indicators(uow, plan)
    for target in cmd.targets:
        if target["indicator_code"] not in indicators:
            raise DomainRefusal(
                "UNKNOWN_INDICATOR",
                Kind.INVALID,
                f"Chỉ tiêu {target['indicator_code']} không thuộc kế hoạch {plan.plan_id} hoặc kế hoạch cấp trên.",
                f"Indicator {target['indicator_code']} is not in plan {plan.plan_id} or its parents.",
                indicator=target["indicator_code"],
            )
        owner, indicator = indicators[target["indicator_code"]]
        if refusal := scope_refusal(indicator, owner.issuer_path, unit):
            raise refusal
    stream = f"registration-{cmd.plan_id}:{unit.ref['code']}:{cmd.year}"
    payload: TargetsRegisteredData = {
        "registration_id": cmd.registration_id,
        "plan_id": cmd.plan_id,
        "unit": unit.ref,
        "year": cmd.year,
        "targets": cast(list[IndicatorValue], list(cmd.targets)),
    }
    uow.append(stream, None, [NewEvent("TargetsRegistered", nfc(payload), unit.ref, cmd.actor, cmd.occurred_at)])


def _duty(uow: AbstractUnitOfWork, plan: Plan, unit: OrgUnit, kind: str) -> ReportingDuty | None:
    if any(d.get("reporter_member_of") for d in plan.duties):
        unit = with_blocs(uow, unit)
    return binding_duty(plan.duties, unit, kind)


def _receiver(uow: AbstractUnitOfWork, deps: Deps, plan: Plan, duty: ReportingDuty | None) -> OrgUnitRef:
    for target in duty.get("to", []) if duty else []:
        if target.startswith("VN") and (found := find_org_unit(uow, deps.official, target)):
            return found.ref
    return plan.issuer


def submit_report(cmd: SubmitReport, uow: AbstractUnitOfWork, deps: Deps) -> None:
    """ReportSubmitted, marked late after the duty's deadline; a new version only after a return."""
    plan = load_plan(uow, cmd.plan_id)
    unit = _unit_in_plan(uow, deps, plan, cmd.unit_path)
    kind_year = period_kind(cmd.period)
    span = plan.span()
    if kind_year is None or (span and not span[0].year <= kind_year[1] <= span[1].year):
        raise _outside(plan, f"Kỳ báo cáo {cmd.period}")
    rid = report_id(cmd.plan_id, unit.ref["code"], cmd.period)
    previous = fold(uow.stream(report_stream(rid)))
    if previous is not None and previous.outcome != "RETURNED":
        raise DomainRefusal(
            "REPORT_ALREADY_SUBMITTED",
            Kind.CONFLICT,
            f"Báo cáo {rid} (lần {previous.version}) đã nộp và chưa bị trả lại.",
            f"Report {rid} version {previous.version} was submitted and not returned.",
            report_id=rid,
        )
    duty = _duty(uow, plan, unit, kind_year[0])
    due = deadline(duty, kind_year[1]) if duty else None
    payload: ReportSubmittedData = {
        "report_id": rid,
        "plan_id": cmd.plan_id,
        "unit": unit.ref,
        "period": cmd.period,
        "version": previous.version + 1 if previous else 1,
        "submitted_to": _receiver(uow, deps, plan, duty),
        "values": cast(list[IndicatorValue], list(cmd.values)),
        "narrative": cmd.narrative,
        "attachments": list(cmd.attachments),
        "initiatives": list(cmd.initiatives),
        "duty_code": duty["code"] if duty else None,
        "deadline": due,
        "late": due is not None and business_day(cmd.occurred_at) > due,
    }
    uow.append(
        report_stream(rid),
        previous.stream_version if previous else 0,
        [NewEvent("ReportSubmitted", nfc(payload), unit.ref, cmd.actor, cmd.occurred_at)],
    )


def unknown_report(report_id: str) -> DomainRefusal:
    """No report with this id on the node."""
    return DomainRefusal(
        "UNKNOWN_REPORT",
        Kind.NOT_FOUND,
        f"Không tìm thấy báo cáo {report_id}.",
        f"Unknown report {report_id}.",
        report_id=report_id,
    )


def review_report(cmd: ReviewReport, uow: AbstractUnitOfWork, deps: Deps) -> None:
    """ReportReviewed by the receiving level (or a level above it); a return needs a reason."""
    report = fold(uow.stream(report_stream(cmd.report_id)))
    if report is None:
        raise unknown_report(cmd.report_id)
    reviewer = get_org_unit(uow, deps.official, cmd.reviewer_path)
    receiver = OrgPath((report.submitted_to or report.unit)["path"])
    if not reviewer.path.contains(receiver):
        raise out_of_subtree(reviewer.path.value, receiver.value)
    if report.outcome is not None:
        raise DomainRefusal(
            "REPORT_NOT_AWAITING_REVIEW",
            Kind.CONFLICT,
            f"Báo cáo {cmd.report_id} lần {report.version} đã được xem xét ({report.outcome}).",
            f"Report {cmd.report_id} version {report.version} was already reviewed.",
            report_id=cmd.report_id,
        )
    if cmd.outcome not in ("ACCEPTED", "RETURNED") or (cmd.outcome == "RETURNED" and not cmd.reason):
        raise DomainRefusal(
            "INVALID_REVIEW",
            Kind.INVALID,
            "Kết quả phải là ACCEPTED hoặc RETURNED (kèm lý do trả lại).",
            "Outcome must be ACCEPTED, or RETURNED with a reason.",
            outcome=cmd.outcome,
        )
    payload: ReportReviewedData = {
        "report_id": cmd.report_id,
        "version": report.version,
        "outcome": cmd.outcome,
        "reviewer": reviewer.ref,
        "reason": cmd.reason,
    }
    uow.append(
        report_stream(cmd.report_id),
        report.stream_version,
        [NewEvent("ReportReviewed", nfc(payload), report.unit, cmd.actor, cmd.occurred_at)],
    )
