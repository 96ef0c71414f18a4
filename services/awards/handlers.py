"""Handlers of the awards context: propose (route computed), forward, return, decide."""

from __future__ import annotations

from datetime import date

from services.domain.deps import Deps
from services.domain.lookups import award_conferred
from services.kernel.contracts import (
    AwardDecidedData,
    AwardForwardedData,
    AwardProposedData,
    AwardReturnedData,
    DomainWarning,
    RouteStep,
)
from services.kernel.errors import DomainRefusal, Kind, out_of_subtree
from services.kernel.labels import OCCASIONS
from services.kernel.orgpaths import OrgPath
from services.kernel.store import NewEvent
from services.kernel.uow import AbstractUnitOfWork
from services.kernel.vntime import business_day
from services.planning.handlers import load_plan, nfc
from services.planning.model import Plan
from services.planning.occasions import REVIEW_KINDS, occasion_for
from services.planning.rules import warning
from services.registry.lookup import OrgUnit, find_org_unit, get_org_unit

from . import prerequisites
from .allowances import plan_allows
from .commands import DecideAward, ForwardAward, ProposeAward, ReturnAward
from .levels import Authority
from .model import Proposal, award_type, fold, nominee_key, proposal_stream
from .routing import Placement, place, route_from, self_nominated, top_unit


def placement(uow: AbstractUnitOfWork, deps: Deps, unit: OrgUnit, on: date, self_nominated: bool = False) -> Placement:
    """Where ``unit`` sits as a proposer: the powers its head holds and the sở managing it (``routing.place``)."""
    top = top_unit(unit.path.value)
    top_found = find_org_unit(uow, deps.official, top) if top else None
    return place(
        deps.matrix,
        unit.path.value,
        unit.ref["level"],
        unit.kind,
        on,
        top_found.kind if top_found else None,
        self_nominated,
    )


def _route(uow: AbstractUnitOfWork, deps: Deps, cmd: ProposeAward, proposer: OrgUnit, on: date) -> list[RouteStep]:
    own = self_nominated(cmd.nominee_kind, cmd.nominee_path, proposer.path.value)
    steps = route_from(deps.matrix, cmd.form_code, placement(uow, deps, proposer, on, own), on)
    return [
        {"org_unit": get_org_unit(uow, deps.official, path).ref, "role": str(s.role), "authority": str(s.authority)}
        for s, path in steps
    ]


def _refuse_form(cmd: ProposeAward, plan: Plan) -> DomainRefusal:
    return DomainRefusal(
        "FORM_NOT_ALLOWED_IN_PLAN",
        Kind.INVALID,
        f"Kế hoạch {plan.plan_id} không có hình thức {cmd.form_code} cho dịp "
        f"{OCCASIONS.get(cmd.occasion, cmd.occasion)}.",
        f"Plan {plan.plan_id} does not offer {cmd.form_code} for occasion {cmd.occasion}.",
        plan_id=plan.plan_id,
        form_code=cmd.form_code,
        occasion=cmd.occasion,
    )


def _check_occasion(cmd: ProposeAward, deps: Deps, name_vi: str, on: date) -> None:
    """The law's link between a form and the occasions it is given at (award_occasions.csv, Law Art. 8)."""
    rules = deps.matrix.occasions
    if rules.allows(cmd.form_code, cmd.occasion, on):
        return
    rule = rules.rule(cmd.form_code, on)
    allowed = ", ".join(OCCASIONS.get(o, o) for o in rule.occasions) if rule else "không dịp nào"
    raise DomainRefusal(
        "FORM_NOT_FOR_OCCASION",
        Kind.INVALID,
        f"{name_vi} không được đề nghị vào dịp {OCCASIONS.get(cmd.occasion, cmd.occasion)} "
        f"(chỉ: {allowed}; {rule.basis.cite() if rule else 'chưa có quy định'}).",
        f"{cmd.form_code} may not be proposed at occasion {cmd.occasion} (law: {rule.basis.cite() if rule else '-'}).",
        form_code=cmd.form_code,
        occasion=cmd.occasion,
        allowed=list(rule.occasions) if rule else [],
    )


def _occasion(plan: Plan | None, occasion: str, day: date) -> tuple[str | None, list[DomainWarning]]:
    """The plan's sơ kết / tổng kết the proposal belongs to, and a warning when it is undated or far ahead."""
    if plan is None or occasion not in REVIEW_KINDS:
        return None, []
    found = occasion_for(plan.phases, occasion, day)
    if found is None:
        return None, [
            warning(
                "OCCASION_UNDATED",
                f"Kế hoạch {plan.plan_id} không nêu thời điểm {OCCASIONS[occasion].lower()}.",
                f"Plan {plan.plan_id} states no date for its {occasion}.",
            )
        ]
    if found.date_from is not None and day < found.date_from.replace(year=found.date_from.year - 1):
        return found.code, [
            warning(
                "BEFORE_OCCASION",
                f"Đề nghị khen thưởng {OCCASIONS[occasion].lower()} trước thời điểm {found.stated_as or found.year} "
                "hơn một năm.",
                f"Proposed more than a year before the {occasion} of {found.stated_as or found.year}.",
            )
        ]
    return found.code, []


def propose_award(cmd: ProposeAward, uow: AbstractUnitOfWork, deps: Deps) -> None:
    """AwardProposed with its computed route, its occasion and prerequisite checks."""
    on = business_day(cmd.occurred_at)
    proposer = get_org_unit(uow, deps.official, cmd.proposer_path)
    nominee_unit = get_org_unit(uow, deps.official, cmd.nominee_path)
    if not proposer.path.contains(nominee_unit.path):
        raise out_of_subtree(proposer.path.value, nominee_unit.path.value)
    form = deps.matrix.form(cmd.form_code, on)
    if cmd.nominee_kind not in {str(s) for s in form.subjects} or cmd.occasion not in OCCASIONS:
        raise DomainRefusal(
            "SUBJECT_NOT_ALLOWED",
            Kind.INVALID,
            f"{form.name_vi} không dành cho đối tượng {cmd.nominee_kind} / dịp {cmd.occasion}.",
            f"{cmd.form_code} is not for nominee kind {cmd.nominee_kind} / occasion {cmd.occasion}.",
            form_code=cmd.form_code,
            nominee_kind=cmd.nominee_kind,
        )
    _check_occasion(cmd, deps, form.name_vi, on)
    plan = None
    if cmd.plan_id is not None:
        plan = load_plan(uow, cmd.plan_id)
        if not OrgPath(plan.issuer_path).contains(proposer.path):
            raise out_of_subtree(plan.issuer_path, proposer.path.value)
        if plan_allows(plan, cmd.form_code, cmd.occasion, deps.matrix, on) is None:
            raise _refuse_form(cmd, plan)
    if uow.stream(proposal_stream(cmd.proposal_id)):
        raise DomainRefusal(
            "PROPOSAL_EXISTS",
            Kind.CONFLICT,
            f"Đề nghị {cmd.proposal_id} đã tồn tại.",
            f"Proposal {cmd.proposal_id} already exists.",
            proposal_id=cmd.proposal_id,
        )
    route = _route(uow, deps, cmd, proposer, on)
    period, warnings = _occasion(plan, cmd.occasion, on)
    key = nominee_key(cmd.nominee_kind, cmd.nominee_name, nominee_unit.path.value)
    conferred = uow.lookup("award_conferred", key)
    checks = prerequisites.check(cmd.form_code, award_type(cmd.occasion), conferred, on, cmd.nominee_kind)
    payload: AwardProposedData = {
        "proposal_id": cmd.proposal_id,
        "plan_id": cmd.plan_id,
        "nominee": {"kind": cmd.nominee_kind, "name": cmd.nominee_name, "org_unit": nominee_unit.ref},
        "form_code": cmd.form_code,
        "occasion": cmd.occasion,
        "occasion_period": period,
        "achievements": cmd.achievements,
        "proposer": proposer.ref,
        "route": route,
        "decider_authority": route[-1]["authority"],
        "prerequisites": checks,
        "warnings": warnings,
    }
    uow.append(
        proposal_stream(cmd.proposal_id),
        0,
        [NewEvent("AwardProposed", nfc(payload), proposer.ref, cmd.actor, cmd.occurred_at)],
    )


def _held_by(
    uow: AbstractUnitOfWork, deps: Deps, proposal_id: str, acting_path: str, deciding: bool = False
) -> tuple[Proposal, OrgUnit]:
    """The open proposal and the acting unit, checked in order: subtree, authority (to decide), holder."""
    proposal = fold(uow.stream(proposal_stream(proposal_id)))
    if proposal is None:
        raise DomainRefusal(
            "UNKNOWN_PROPOSAL",
            Kind.NOT_FOUND,
            f"Không tìm thấy đề nghị {proposal_id}.",
            f"Unknown proposal {proposal_id}.",
            proposal_id=proposal_id,
        )
    actor = get_org_unit(uow, deps.official, acting_path)
    if proposal.state != "PENDING":
        raise DomainRefusal(
            "PROPOSAL_CLOSED",
            Kind.CONFLICT,
            f"Đề nghị {proposal_id} đã kết thúc ({proposal.state}).",
            f"Proposal {proposal_id} is closed ({proposal.state}).",
            proposal_id=proposal_id,
        )
    nominee = proposal.nominee["org_unit"]["path"]
    if not actor.path.contains(OrgPath(nominee)):
        raise out_of_subtree(actor.path.value, nominee)
    decider = proposal.route[-1]
    if deciding and actor.path.value != decider["org_unit"]["path"]:
        assert decider["authority"] is not None, "a route's last step names its deciding authority"
        raise DomainRefusal(
            "AUTHORITY_MISMATCH",
            Kind.FORBIDDEN,
            f"Sai thẩm quyền: {actor.ref['name']} không có thẩm quyền quyết định {proposal.form_code}; "
            f"người quyết định là {Authority(decider['authority']).label_vi} ({decider['org_unit']['name']}).",
            f"Authority mismatch: {actor.path.value} may not decide {proposal.form_code}; "
            f"the decider is {decider['authority']} at {decider['org_unit']['path']}.",
            proposal_id=proposal_id,
            decider=decider["authority"],
        )
    holder = proposal.current_step["org_unit"]["path"]
    if actor.path.value != holder or (deciding and proposal.current_step["role"] != "DECIDE"):
        raise DomainRefusal(
            "NOT_CURRENT_HOLDER",
            Kind.CONFLICT,
            f"Đề nghị {proposal_id} đang ở bước {proposal.current_step['role']} tại {holder}.",
            f"Proposal {proposal_id} is at step {proposal.current_step['role']} held by {holder}.",
            proposal_id=proposal_id,
            holder=holder,
        )
    return proposal, actor


def forward_award(cmd: ForwardAward, uow: AbstractUnitOfWork, deps: Deps) -> None:
    """AwardForwarded to the next step; the deciding step cannot forward."""
    proposal, actor = _held_by(uow, deps, cmd.proposal_id, cmd.acting_path)
    if proposal.current_step["role"] == "DECIDE":
        raise DomainRefusal(
            "NOTHING_TO_FORWARD",
            Kind.CONFLICT,
            "Cấp quyết định không chuyển tiếp; hãy quyết định.",
            "The deciding step does not forward; decide instead.",
            proposal_id=cmd.proposal_id,
        )
    payload: AwardForwardedData = {
        "proposal_id": cmd.proposal_id,
        "from_unit": actor.ref,
        "to_unit": proposal.route[proposal.holder + 1]["org_unit"],
        "note": cmd.note,
    }
    uow.append(
        proposal_stream(cmd.proposal_id),
        proposal.version,
        [NewEvent("AwardForwarded", nfc(payload), actor.ref, cmd.actor, cmd.occurred_at)],
    )


def return_award(cmd: ReturnAward, uow: AbstractUnitOfWork, deps: Deps) -> None:
    """AwardReturned to the proposer, with a reason."""
    proposal, actor = _held_by(uow, deps, cmd.proposal_id, cmd.acting_path)
    payload: AwardReturnedData = {
        "proposal_id": cmd.proposal_id,
        "from_unit": actor.ref,
        "to_unit": proposal.route[0]["org_unit"],
        "reason": cmd.reason,
    }
    uow.append(
        proposal_stream(cmd.proposal_id),
        proposal.version,
        [NewEvent("AwardReturned", nfc(payload), actor.ref, cmd.actor, cmd.occurred_at)],
    )


def decide_award(cmd: DecideAward, uow: AbstractUnitOfWork, deps: Deps) -> None:
    """AwardDecided by the deciding authority only; an approval is recorded for later prerequisite checks."""
    proposal, actor = _held_by(uow, deps, cmd.proposal_id, cmd.acting_path, deciding=True)
    approved = cmd.outcome == "APPROVED"
    if (
        cmd.outcome not in ("APPROVED", "REJECTED")
        or (approved and not (cmd.decision_number and cmd.decision_date))
        or (not approved and not cmd.reason)
    ):
        raise DomainRefusal(
            "DECISION_INCOMPLETE",
            Kind.INVALID,
            "Phê duyệt cần số và ngày quyết định; từ chối cần lý do.",
            "Approval needs a decision number and date; rejection needs a reason.",
            proposal_id=cmd.proposal_id,
        )
    if approved:
        uow.record(*award_conferred(proposal))
    payload: AwardDecidedData = {
        "proposal_id": cmd.proposal_id,
        "outcome": cmd.outcome,
        "decider": actor.ref,
        "decision_number": cmd.decision_number,
        "decision_date": cmd.decision_date,
        "reason": cmd.reason,
    }
    uow.append(
        proposal_stream(cmd.proposal_id),
        proposal.version,
        [NewEvent("AwardDecided", nfc(payload), actor.ref, cmd.actor, cmd.occurred_at)],
    )
