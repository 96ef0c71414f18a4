"""Handlers of the awards context: propose (route computed), forward, return, decide."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.deps import Deps
from services.kernel.errors import DomainRefusal, out_of_subtree
from services.kernel.orgpaths import OrgPath
from services.kernel.store import NewEvent
from services.kernel.uow import UnitOfWork
from services.lookups import award_conferred
from services.planning.handlers import load_plan, nfc
from services.planning.model import BY_AUTHORITY, CAP_TREN, HCLD, OCCASIONS, Plan
from services.registry.lookup import OrgUnit, get_org_unit

from . import prerequisites
from .authority import AuthorityMatrix
from .commands import DecideAward, ForwardAward, ProposeAward, ReturnAward
from .levels import Authority, Level
from .model import TRACK_OF_OCCASION, Proposal, fold, nominee_key, proposal_stream
from .routing import route_from


def plan_allows(plan: Plan, form_code: str, occasion: str, matrix: AuthorityMatrix, on: date) -> bool:
    """Whether the plan offers ``form_code`` for ``occasion`` (directly, as HCLĐ, by authority, or upward)."""
    issuer_rank = Level(plan.issuer["level"]).rank
    decider_rank = matrix.form(form_code, on).decider_level.rank
    for allowance in plan.award_forms:
        code = allowance["form_code"]
        if allowance["occasion"] == occasion and (
            code == form_code
            or (code == HCLD and form_code.startswith("HCLD_"))
            or (code == BY_AUTHORITY and decider_rank <= issuer_rank)
            or (code == CAP_TREN and decider_rank > issuer_rank)
        ):
            return True
    return False


def _route(cmd: ProposeAward, proposer: OrgUnit, uow: UnitOfWork, deps: Deps, on: date) -> list[dict[str, Any]]:
    steps = route_from(deps.matrix, cmd.form_code, proposer.path.value, proposer.ref["level"], on)
    return [
        {"org_unit": get_org_unit(uow, deps.official, path).ref, "role": str(s.role), "authority": str(s.authority)}
        for s, path in steps
    ]


def _refuse_form(cmd: ProposeAward, plan: Plan) -> DomainRefusal:
    return DomainRefusal(
        "FORM_NOT_ALLOWED_IN_PLAN",
        422,
        f"Kế hoạch {plan.plan_id} không có hình thức {cmd.form_code} cho dịp "
        f"{OCCASIONS.get(cmd.occasion, cmd.occasion)}.",
        f"Plan {plan.plan_id} does not offer {cmd.form_code} for occasion {cmd.occasion}.",
        plan_id=plan.plan_id,
        form_code=cmd.form_code,
        occasion=cmd.occasion,
    )


def propose_award(cmd: ProposeAward, uow: UnitOfWork, deps: Deps) -> None:
    """AwardProposed with its computed route and prerequisite checks."""
    on = cmd.occurred_at.date()
    proposer = get_org_unit(uow, deps.official, cmd.proposer_path)
    nominee_unit = get_org_unit(uow, deps.official, cmd.nominee_path)
    if not proposer.path.contains(nominee_unit.path):
        raise out_of_subtree(proposer.path.value, nominee_unit.path.value)
    form = deps.matrix.form(cmd.form_code, on)
    if cmd.nominee_kind not in {str(s) for s in form.subjects} or cmd.occasion not in OCCASIONS:
        raise DomainRefusal(
            "SUBJECT_NOT_ALLOWED",
            422,
            f"{form.name_vi} không dành cho đối tượng {cmd.nominee_kind} / dịp {cmd.occasion}.",
            f"{cmd.form_code} is not for nominee kind {cmd.nominee_kind} / occasion {cmd.occasion}.",
            form_code=cmd.form_code,
            nominee_kind=cmd.nominee_kind,
        )
    if cmd.plan_id is not None:
        plan = load_plan(uow, cmd.plan_id)
        if not OrgPath(plan.issuer_path).contains(proposer.path):
            raise out_of_subtree(plan.issuer_path, proposer.path.value)
        if not plan_allows(plan, cmd.form_code, cmd.occasion, deps.matrix, on):
            raise _refuse_form(cmd, plan)
    if uow.stream(proposal_stream(cmd.proposal_id)):
        raise DomainRefusal(
            "PROPOSAL_EXISTS",
            409,
            f"Đề nghị {cmd.proposal_id} đã tồn tại.",
            f"Proposal {cmd.proposal_id} already exists.",
            proposal_id=cmd.proposal_id,
        )
    route = _route(cmd, proposer, uow, deps, on)
    key = nominee_key(cmd.nominee_kind, cmd.nominee_name, nominee_unit.path.value)
    checks = prerequisites.check(cmd.form_code, TRACK_OF_OCCASION[cmd.occasion], uow.lookup("award_conferred", key), on)
    payload = nfc(
        {
            "proposal_id": cmd.proposal_id,
            "plan_id": cmd.plan_id,
            "nominee": {"kind": cmd.nominee_kind, "name": cmd.nominee_name, "org_unit": nominee_unit.ref},
            "form_code": cmd.form_code,
            "occasion": cmd.occasion,
            "achievements": cmd.achievements,
            "proposer": proposer.ref,
            "route": route,
            "decider_authority": route[-1]["authority"],
            "prerequisites": checks,
            "warnings": [],
        }
    )
    uow.append(
        proposal_stream(cmd.proposal_id),
        0,
        [NewEvent("AwardProposed", payload, proposer.ref, cmd.actor, cmd.occurred_at)],
    )


def _held_by(
    uow: UnitOfWork, deps: Deps, proposal_id: str, acting_path: str, deciding: bool = False
) -> tuple[Proposal, OrgUnit]:
    """The open proposal and the acting unit, checked in order: subtree, authority (to decide), holder."""
    proposal = fold(uow.stream(proposal_stream(proposal_id)))
    if proposal is None:
        raise DomainRefusal(
            "UNKNOWN_PROPOSAL",
            404,
            f"Không tìm thấy đề nghị {proposal_id}.",
            f"Unknown proposal {proposal_id}.",
            proposal_id=proposal_id,
        )
    actor = get_org_unit(uow, deps.official, acting_path)
    if proposal.state != "PENDING":
        raise DomainRefusal(
            "PROPOSAL_CLOSED",
            409,
            f"Đề nghị {proposal_id} đã kết thúc ({proposal.state}).",
            f"Proposal {proposal_id} is closed ({proposal.state}).",
            proposal_id=proposal_id,
        )
    nominee = proposal.nominee["org_unit"]["path"]
    if not actor.path.contains(OrgPath(nominee)):
        raise out_of_subtree(actor.path.value, nominee)
    decider = proposal.route[-1]
    if deciding and actor.path.value != decider["org_unit"]["path"]:
        raise DomainRefusal(
            "AUTHORITY_MISMATCH",
            403,
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
            409,
            f"Đề nghị {proposal_id} đang ở bước {proposal.current_step['role']} tại {holder}.",
            f"Proposal {proposal_id} is at step {proposal.current_step['role']} held by {holder}.",
            proposal_id=proposal_id,
            holder=holder,
        )
    return proposal, actor


def forward_award(cmd: ForwardAward, uow: UnitOfWork, deps: Deps) -> None:
    """AwardForwarded to the next step; the deciding step cannot forward."""
    proposal, actor = _held_by(uow, deps, cmd.proposal_id, cmd.acting_path)
    if proposal.current_step["role"] == "DECIDE":
        raise DomainRefusal(
            "NOTHING_TO_FORWARD",
            409,
            "Cấp quyết định không chuyển tiếp; hãy quyết định.",
            "The deciding step does not forward; decide instead.",
            proposal_id=cmd.proposal_id,
        )
    payload = nfc(
        {
            "proposal_id": cmd.proposal_id,
            "from_unit": actor.ref,
            "to_unit": proposal.route[proposal.holder + 1]["org_unit"],
            "note": cmd.note,
        }
    )
    uow.append(
        proposal_stream(cmd.proposal_id),
        proposal.version,
        [NewEvent("AwardForwarded", payload, actor.ref, cmd.actor, cmd.occurred_at)],
    )


def return_award(cmd: ReturnAward, uow: UnitOfWork, deps: Deps) -> None:
    """AwardReturned to the proposer, with a reason."""
    proposal, actor = _held_by(uow, deps, cmd.proposal_id, cmd.acting_path)
    payload = nfc(
        {
            "proposal_id": cmd.proposal_id,
            "from_unit": actor.ref,
            "to_unit": proposal.route[0]["org_unit"],
            "reason": cmd.reason,
        }
    )
    uow.append(
        proposal_stream(cmd.proposal_id),
        proposal.version,
        [NewEvent("AwardReturned", payload, actor.ref, cmd.actor, cmd.occurred_at)],
    )


def decide_award(cmd: DecideAward, uow: UnitOfWork, deps: Deps) -> None:
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
            422,
            "Phê duyệt cần số và ngày quyết định; từ chối cần lý do.",
            "Approval needs a decision number and date; rejection needs a reason.",
            proposal_id=cmd.proposal_id,
        )
    if approved:
        uow.record(*award_conferred(proposal))
    payload = nfc(
        {
            "proposal_id": cmd.proposal_id,
            "outcome": cmd.outcome,
            "decider": actor.ref,
            "decision_number": cmd.decision_number,
            "decision_date": cmd.decision_date,
            "reason": cmd.reason,
        }
    )
    uow.append(
        proposal_stream(cmd.proposal_id),
        proposal.version,
        [NewEvent("AwardDecided", payload, actor.ref, cmd.actor, cmd.occurred_at)],
    )
