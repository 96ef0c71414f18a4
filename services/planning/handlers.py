"""Handlers of the planning context: each checks its rules, then appends, in one unit of work."""

from __future__ import annotations

import unicodedata
from typing import Any, cast

from services.domain.deps import Deps
from services.kernel.contracts import (
    AwardAllowance,
    ContentArea,
    CriteriaItem,
    CriteriaRegisteredData,
    DocumentReference,
    DomainWarning,
    GuidanceIssuedData,
    PlanAmendedData,
    PlanIssuedData,
    PlanNumberAssignedData,
    PlanPeriod,
    PlanPhase,
    ReportingDuty,
)
from services.kernel.errors import DomainRefusal, Kind, out_of_subtree
from services.kernel.labels import OCCASIONS, SUBJECT_CATEGORIES
from services.kernel.orgpaths import OrgPath
from services.kernel.store import NewEvent
from services.kernel.uow import AbstractUnitOfWork
from services.kernel.vntime import business_day
from services.registry.lookup import get_org_unit

from . import rules, targets
from .commands import AmendPlan, AssignPlanNumber, IssueGuidance, IssuePlan, RegisterCriteria
from .model import Plan, fold, plan_stream

COMPARATORS = {"GE", "GT", "LE", "LT", "EQ", "RANGE", "ABOUT"}


def nfc(value: Any) -> Any:
    """NFC-normalise every string inside ``value``."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {k: nfc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [nfc(v) for v in value]
    return value


def load_plan(uow: AbstractUnitOfWork, plan_id: str) -> Plan:
    """The plan, or UNKNOWN_PLAN."""
    plan = fold(uow.stream(plan_stream(plan_id)))
    if plan is None:
        raise rules.unknown_plan(plan_id)
    return plan


def _parents(uow: AbstractUnitOfWork, cmd: IssuePlan) -> list[Plan]:
    parents = [load_plan(uow, parent_id) for parent_id in cmd.implements]
    issuer = OrgPath.parse(cmd.issuer_path)
    for parent in parents:
        if not OrgPath(parent.issuer_path).contains(issuer) or parent.issuer_path == issuer.value:
            raise rules.not_an_ancestor(cmd.plan_id, cmd.issuer_path, parent)
    return parents


def _check_award_forms(cmd: IssuePlan, deps: Deps) -> list[DomainWarning]:
    """Refuse unknown codes; warn where the plan offers a form at an occasion the law does not give it at."""
    on = cmd.issue_date or business_day(cmd.occurred_at)
    known = set(deps.matrix.codes(on)) | set(deps.matrix.allowances.names())
    warnings = []
    for allowance in cmd.award_forms:
        code, occasion = allowance["form_code"], allowance["occasion"]
        if occasion not in OCCASIONS or code not in known:
            raise DomainRefusal(
                "INVALID_CODE",
                Kind.INVALID,
                f"Hình thức khen thưởng '{code}' / dịp '{occasion}' không có trong danh mục.",
                f"Unknown award form '{code}' or occasion '{occasion}'.",
                form_code=code,
                occasion=occasion,
            )
        rule = deps.matrix.occasions.rule(code, on)
        if code in deps.matrix.codes(on) and rule is not None and occasion not in rule.occasions:
            warnings.append(
                rules.warning(
                    "FORM_NOT_FOR_OCCASION",
                    f"Kế hoạch nêu {deps.matrix.form(code, on).name_vi} cho dịp {OCCASIONS[occasion].lower()}; "
                    f"theo {rule.basis.cite()} hình thức này không dùng cho dịp đó: đề nghị sẽ bị từ chối.",
                    f"The plan offers {code} at {occasion}, which the law does not allow ({rule.basis.cite()}).",
                    allowance.get("text"),
                    refs=[code, occasion],
                )
            )
    return warnings


def _check_parent_dates(cmd: IssuePlan, parents: list[Plan]) -> list[DomainWarning]:
    """A plan implements only parents already issued: a dated plan before its parent is refused, a draft recorded
    before it is flagged."""
    warnings = []
    for parent in parents:
        if parent.issue_date is None:
            continue
        if cmd.issue_date is not None and cmd.issue_date < parent.issue_date:
            raise DomainRefusal(
                "PLAN_BEFORE_PARENT",
                Kind.INVALID,
                f"Kế hoạch {cmd.plan_id} ngày {cmd.issue_date:%d/%m/%Y} không thể thực hiện kế hoạch "
                f"{parent.plan_id} ban hành sau đó ({parent.issue_date:%d/%m/%Y}).",
                f"Plan {cmd.plan_id} of {cmd.issue_date} cannot implement {parent.plan_id} issued later.",
                plan_id=cmd.plan_id,
                parent_plan=parent.plan_id,
            )
        if cmd.issue_date is None and business_day(cmd.occurred_at) < parent.issue_date:
            warnings.append(
                rules.warning(
                    "DRAFT_BEFORE_PARENT",
                    f"Dự thảo được ghi ngày {business_day(cmd.occurred_at):%d/%m/%Y}, trước kế hoạch cấp trên "
                    f"{parent.plan_id} ({parent.issue_date:%d/%m/%Y}).",
                    f"The draft is recorded before its parent {parent.plan_id} was issued.",
                    refs=[parent.plan_id],
                )
            )
    return warnings


def issue_plan(cmd: IssuePlan, uow: AbstractUnitOfWork, deps: Deps) -> None:
    """PlanIssued, if the document, the parents, the phases and the award forms are valid."""
    issuer = get_org_unit(uow, deps.official, cmd.issuer_path)
    rules.check_document(cmd.document_number, cmd.document_symbol, cmd.issue_date)
    if uow.stream(plan_stream(cmd.plan_id)):
        raise DomainRefusal(
            "PLAN_EXISTS",
            Kind.CONFLICT,
            f"Kế hoạch {cmd.plan_id} đã tồn tại.",
            f"Plan {cmd.plan_id} already exists.",
            plan_id=cmd.plan_id,
        )
    parents = _parents(uow, cmd)
    rules.check_phases(cmd.phases, parents)
    found = [*_check_award_forms(cmd, deps), *_check_parent_dates(cmd, parents)]
    warnings = [*cast(tuple[DomainWarning, ...], cmd.warnings), *(w for w in found if w not in cmd.warnings)]
    if cmd.document_number and cmd.issue_date:
        key = rules.document_key(cmd.issuer_path, cmd.document_number, cmd.document_symbol, cmd.issue_date)
        if used := uow.lookup("plan_document", key):
            raise rules.duplicate_document(
                cmd.document_number, cmd.document_symbol, cmd.issuer_path, cmd.issue_date.year, used[0]
            )
        uow.record("plan_document", key, cmd.plan_id)
    payload: PlanIssuedData = {
        "plan_id": cmd.plan_id,
        "issuer": issuer.ref,
        "document_number": cmd.document_number,
        "document_symbol": cmd.document_symbol,
        "issue_date": cmd.issue_date,
        "title": cmd.title,
        "signer_name": cmd.signer_name,
        "signer_capacity": cmd.signer_capacity,
        "implements": list(cmd.implements),
        "phases": cast(list[PlanPhase], list(cmd.phases)),
        "content_areas": cast(list[ContentArea], list(cmd.content_areas)),
        "reporting_duties": cast(list[ReportingDuty], list(cmd.reporting_duties)),
        "award_forms": cast(list[AwardAllowance], list(cmd.award_forms)),
        "criteria_owners": list(cmd.criteria_owners),
        "plan_deadline": cmd.plan_deadline,
        "warnings": warnings,
        "period": cast(PlanPeriod | None, cmd.period),
        "issuer_name": cmd.issuer_name,
        "references": cast(list[DocumentReference], list(cmd.references)),
    }
    uow.append(
        plan_stream(cmd.plan_id), 0, [NewEvent("PlanIssued", nfc(payload), issuer.ref, cmd.actor, cmd.occurred_at)]
    )


def assign_plan_number(cmd: AssignPlanNumber, uow: AbstractUnitOfWork, deps: Deps) -> None:
    """PlanNumberAssigned for a draft, with the same uniqueness rule as an issued plan."""
    plan = load_plan(uow, cmd.plan_id)
    if not plan.is_draft:
        raise DomainRefusal(
            "PLAN_ALREADY_NUMBERED",
            Kind.CONFLICT,
            f"Kế hoạch {cmd.plan_id} đã có số {plan.document_number}/{plan.document_symbol}.",
            f"Plan {cmd.plan_id} already has number {plan.document_number}.",
            plan_id=cmd.plan_id,
        )
    rules.check_document(cmd.document_number, plan.document_symbol, cmd.issue_date)
    key = rules.document_key(plan.issuer_path, cmd.document_number, plan.document_symbol, cmd.issue_date)
    if used := uow.lookup("plan_document", key):
        raise rules.duplicate_document(
            cmd.document_number, plan.document_symbol, plan.issuer_path, cmd.issue_date.year, used[0]
        )
    uow.record("plan_document", key, cmd.plan_id)
    payload: PlanNumberAssignedData = {
        "plan_id": cmd.plan_id,
        "document_number": cmd.document_number,
        "issue_date": cmd.issue_date,
    }
    uow.append(
        plan_stream(cmd.plan_id),
        plan.version,
        [NewEvent("PlanNumberAssigned", payload, plan.issuer, cmd.actor, cmd.occurred_at)],
    )


def amend_plan(cmd: AmendPlan, uow: AbstractUnitOfWork, deps: Deps) -> None:
    """PlanAmended with the next amendment number; new phases must still fit the parents."""
    plan = load_plan(uow, cmd.plan_id)
    if cmd.phases is not None:
        rules.check_phases(cmd.phases, [load_plan(uow, p) for p in plan.implements])
    expected = plan.version if cmd.expected_version is None else cmd.expected_version
    payload: PlanAmendedData = {
        "plan_id": cmd.plan_id,
        "amendment_no": plan.amendments + 1,
        "reason": cmd.reason,
        "document_number": cmd.document_number,
        "issue_date": cmd.issue_date,
        "title": cmd.title,
        "phases": cast(list[PlanPhase], list(cmd.phases)) if cmd.phases is not None else None,
    }
    uow.append(
        plan_stream(cmd.plan_id),
        expected,
        [NewEvent("PlanAmended", nfc(payload), plan.issuer, cmd.actor, cmd.occurred_at)],
    )


def _invalid_indicator(code: str, why: str) -> DomainRefusal:
    return DomainRefusal(
        "INVALID_INDICATOR",
        Kind.INVALID,
        f"Chỉ tiêu {code}: phép so sánh, phạm vi hoặc chu kỳ không hợp lệ ({why}).",
        f"Indicator {code}: invalid comparator, scope or recurrence ({why}).",
        indicator=code,
    )


def _check_indicators(cmd: RegisterCriteria, plan: Plan) -> list[DomainWarning]:
    existing = plan.indicators()
    indicators = [i for item in cmd.items for i in item["indicators"]]
    codes = [c for i in indicators for c in (i["code"], *(x["code"] for x in i.get("conditions") or []))]
    for ind in indicators:
        if (
            ind["code"] in existing
            or codes.count(ind["code"]) > 1
            or any(x["code"] in existing or codes.count(x["code"]) > 1 for x in ind.get("conditions") or [])
        ):
            raise DomainRefusal(
                "DUPLICATE_INDICATOR",
                Kind.CONFLICT,
                f"Mã chỉ tiêu {ind['code']} bị trùng trong kế hoạch.",
                f"Indicator code {ind['code']} is used twice in the plan.",
                indicator=ind["code"],
            )
        if ind["comparator"] not in COMPARATORS or (ind["comparator"] == "RANGE" and ind.get("threshold_max") is None):
            raise _invalid_indicator(ind["code"], "comparator")
        if found := targets.problems(ind):
            raise _invalid_indicator(ind["code"], "; ".join(found))
    return rules.conflicting_targets([*existing.values(), *indicators])


def _with_comparisons(items: tuple[dict[str, Any], ...]) -> list[CriteriaItem]:
    """The items with every indicator's comparison stated (the one its comparator implies when not given)."""
    return [
        cast(
            CriteriaItem,
            {**item, "indicators": [{**i, "comparison": targets.comparison_of(i)} for i in item["indicators"]]},
        )
        for item in items
    ]


def register_criteria(cmd: RegisterCriteria, uow: AbstractUnitOfWork, deps: Deps) -> None:
    """CriteriaRegistered in the plan's stream; conflicting targets are kept, with warnings."""
    plan = load_plan(uow, cmd.plan_id)
    owner = get_org_unit(uow, deps.official, cmd.owner_path)
    if not OrgPath(plan.issuer_path).contains(owner.path):
        raise out_of_subtree(plan.issuer_path, owner.path.value)
    if cmd.subject_category not in SUBJECT_CATEGORIES:
        raise DomainRefusal(
            "INVALID_CODE",
            Kind.INVALID,
            f"Đối tượng '{cmd.subject_category}' không hợp lệ.",
            f"Unknown subject category '{cmd.subject_category}'.",
            value=cmd.subject_category,
        )
    found = [w for w in _check_indicators(cmd, plan) if w not in cmd.warnings]
    payload: CriteriaRegisteredData = {
        "criteria_id": cmd.criteria_id,
        "plan_id": cmd.plan_id,
        "owner": owner.ref,
        "subject_category": cmd.subject_category,
        "items": _with_comparisons(cmd.items),
        "warnings": [*cast(tuple[DomainWarning, ...], cmd.warnings), *found],
    }
    uow.append(
        plan_stream(cmd.plan_id),
        plan.version,
        [NewEvent("CriteriaRegistered", nfc(payload), owner.ref, cmd.actor, cmd.occurred_at)],
    )


def issue_guidance(cmd: IssueGuidance, uow: AbstractUnitOfWork, deps: Deps) -> None:
    """GuidanceIssued, addressed only to subtrees of the issuer."""
    issuer = get_org_unit(uow, deps.official, cmd.issuer_path)
    for target in cmd.addressed_to:
        get_org_unit(uow, deps.official, target)
        if not issuer.path.contains(OrgPath.parse(target)):
            raise out_of_subtree(issuer.path.value, target)
    stream = f"guidance-{cmd.guidance_id}"
    if uow.stream(stream):
        raise DomainRefusal(
            "GUIDANCE_EXISTS",
            Kind.CONFLICT,
            f"Hướng dẫn {cmd.guidance_id} đã tồn tại.",
            f"Guidance {cmd.guidance_id} already exists.",
            guidance_id=cmd.guidance_id,
        )
    payload: GuidanceIssuedData = {
        "guidance_id": cmd.guidance_id,
        "issuer": issuer.ref,
        "title": cmd.title,
        "document_number": cmd.document_number,
        "issue_date": cmd.issue_date,
        "addressed_to": list(cmd.addressed_to),
        "summary": cmd.summary,
    }
    uow.append(stream, 0, [NewEvent("GuidanceIssued", nfc(payload), issuer.ref, cmd.actor, cmd.occurred_at)])
