"""Commands of awards over HTTP: propose (đề nghị), forward (trình), return (trả lại), decide (quyết định).

The acting unit of forward, return and decide is the caller's own org unit: the domain then refuses a unit that is
not the holder (``NOT_CURRENT_HOLDER``), not above the nominee (``OUT_OF_SUBTREE``) or not the decider
(``AUTHORITY_MISMATCH``). Who may act at the step holding the proposal is a role rule (``scopes.STEP_ROLES``).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import Field

from services.api.bodies import CommandBody, Id, IdPath, Occasion, OrgUnitPath, example, optional_text, text
from services.api.commanding import Authorize, CommandAccepted, IfMatch, run_command
from services.api.idempotency import Idempotency
from services.api.problems import WRITE_RESPONSES
from services.api.routers.awards import PROPOSAL, unknown_proposal
from services.api.security import Caller, Principal, current_principal, require_role, require_within
from services.api.security.scopes import DECIDER, STEP_ROLES, SUBMITTER, require_target
from services.awards.commands import DecideAward, ForwardAward, ProposeAward, ReturnAward
from services.awards.model import fold, proposal_stream
from services.bootstrap import Node
from services.kernel.uow import UnitOfWork

FORWARDERS = STEP_ROLES["PROPOSE"] | STEP_ROLES["REVIEW"]
RETURNERS = FORWARDERS | STEP_ROLES["DECIDE"]


class ProposeAwardBody(CommandBody):
    """Đề nghị khen thưởng; lộ trình tính từ ma trận thẩm quyền / propose an award; the route is computed."""

    model_config = example(
        {
            "proposal_id": "gk-ds-2026-7",
            "proposer_path": "VN/31/11086/TH-DS",
            "nominee_kind": "COLLECTIVE",
            "nominee_name": "Trường Tiểu học Đại Sơn",
            "nominee_path": "VN/31/11086/TH-DS",
            "form_code": "GK_XA",
            "occasion": "ANNUAL",
            "achievements": "Hoàn thành xuất sắc nhiệm vụ chuyển đổi số năm học 2025–2026",
            "plan_id": "dai-son-draft-2026-06",
        }
    )

    proposal_id: Id = Field(description="Mã đề nghị / proposal id")
    proposer_path: OrgUnitPath = Field(description="Đơn vị đề nghị / proposing org unit")
    nominee_kind: Literal["INDIVIDUAL", "COLLECTIVE", "HOUSEHOLD"] = Field(
        description="Cá nhân, tập thể, hộ gia đình / individual, collective, household"
    )
    nominee_name: str = text("Tên đối tượng được đề nghị", "nominee's name", 300)
    nominee_path: OrgUnitPath = Field(description="Đơn vị của đối tượng / the nominee's org unit")
    form_code: str = Field(
        min_length=1, max_length=40, description="Hình thức khen thưởng, ví dụ GK_XA, BK_TINH / award form"
    )
    occasion: Occasion = Field(description="Dịp khen thưởng / occasion")
    achievements: str = text("Thành tích", "achievements", 100_000)
    plan_id: Id | None = Field(None, description="Kế hoạch căn cứ / governing plan")


class ForwardAwardBody(CommandBody):
    """Trình đề nghị lên bước tiếp theo của lộ trình / send the proposal to the next step."""

    model_config = example({"note": "Kính trình Chủ tịch UBND tỉnh xem xét"})

    note: str | None = optional_text("Ghi chú", "note", 10_000)


class ReturnAwardBody(CommandBody):
    """Trả lại đề nghị cho đơn vị đề nghị / return the proposal to the proposer."""

    model_config = example({"reason": "Hồ sơ thiếu báo cáo thành tích có xác nhận"})

    reason: str = text("Lý do trả lại", "reason", 10_000)


class DecideAwardBody(CommandBody):
    """Quyết định: phê duyệt (số, ngày quyết định) hoặc không (lý do) / approve (number, date) or reject (reason)."""

    model_config = example({"outcome": "APPROVED", "decision_number": "215/QĐ-UBND", "decision_date": "2026-12-20"})

    outcome: Literal["APPROVED", "REJECTED"] = Field(description="Khen thưởng / không — approve or reject")
    decision_number: str | None = optional_text("Số quyết định, ví dụ 215/QĐ-UBND", "decision number", 100)
    decision_date: date | None = Field(None, description="Ngày quyết định / decision date")
    reason: str | None = optional_text("Lý do không khen thưởng", "reason of a rejection", 10_000)


def proposal_access(principal: Principal, proposal_id: str, action: str, step_role: bool = True) -> Authorize:
    """Write-side checks before the handler, in the command's transaction: first that the proposal's nominee lies
    in the caller's subtree (the same 403 whatever the proposal's state, or when there is none: nothing about it is
    told to a caller who may not read it); then, when the caller's unit holds it, the role of that step."""

    def check(uow: UnitOfWork) -> None:
        proposal = fold(uow.stream(proposal_stream(proposal_id)))
        places = None if proposal is None else [proposal.nominee["org_unit"]["path"]]
        require_target(principal, PROPOSAL, proposal_id, places, lambda: unknown_proposal(proposal_id))
        assert proposal is not None
        if not step_role or proposal.state != "PENDING":
            return  # the handler refuses with PROPOSAL_CLOSED
        step = proposal.current_step
        if step["org_unit"]["path"] == principal.path:
            require_role(principal, STEP_ROLES[step["role"]], f"{action} at step {step['role']}")

    return check


def router(node: Node) -> APIRouter:
    """POST /awards/proposals and /awards/proposals/{proposal_id}/forward|return|decide."""
    api = APIRouter(
        prefix="/api/v1/awards/proposals",
        tags=["commands: awards"],
        responses=WRITE_RESPONSES,
        dependencies=[Depends(current_principal)],
    )
    created: dict[str, Any] = {"status_code": 201, "response_model": CommandAccepted}

    def location(proposal_id: str) -> str:
        return f"/api/v1/awards/{proposal_id}"

    def held(proposal_id: str, command: Any, authorize: Authorize, **request: Any) -> Response:
        """Run a command on a proposal held by the caller's unit (``authorize`` runs in its transaction)."""
        stream = proposal_stream(proposal_id)
        return run_command(
            node, command, stream_id=stream, authorize=authorize, location=location(proposal_id), **request
        )

    @api.post("", **created)
    def propose_award(
        body: ProposeAwardBody, principal: Caller, key: Idempotency, if_match: IfMatch = None
    ) -> Response:
        """Đề nghị khen thưởng (AwardProposed) / propose an award. Vai trò submitter; đơn vị đề nghị trong phạm vi."""
        require_role(principal, SUBMITTER, "propose award")
        require_within(principal, body.proposer_path)
        command = ProposeAward(
            body.proposal_id,
            body.proposer_path,
            body.nominee_kind,
            body.nominee_name,
            body.nominee_path,
            body.form_code,
            body.occasion,
            body.achievements,
            body.business_time(),
            principal.actor(),
            plan_id=body.plan_id,
        )
        stream = proposal_stream(body.proposal_id)
        return run_command(
            node, command, stream_id=stream, if_match=if_match, key=key, location=location(body.proposal_id)
        )

    @api.post("/{proposal_id}/forward", **created)
    def forward_award(
        proposal_id: IdPath, body: ForwardAwardBody, principal: Caller, key: Idempotency, if_match: IfMatch = None
    ) -> Response:
        """Trình lên (AwardForwarded) / forward. Bước đề nghị: submitter; bước thẩm định: reviewer hoặc council."""
        require_role(principal, FORWARDERS, "forward award")
        command = ForwardAward(proposal_id, principal.path, body.business_time(), principal.actor(), body.note)
        access = proposal_access(principal, proposal_id, "forward award")
        return held(proposal_id, command, access, if_match=if_match, key=key)

    @api.post("/{proposal_id}/return", **created)
    def return_award(
        proposal_id: IdPath, body: ReturnAwardBody, principal: Caller, key: Idempotency, if_match: IfMatch = None
    ) -> Response:
        """Trả lại (AwardReturned) / return. Vai trò của bước đang giữ hồ sơ / the role of the step holding it."""
        require_role(principal, RETURNERS, "return award")
        command = ReturnAward(proposal_id, principal.path, body.reason, body.business_time(), principal.actor())
        access = proposal_access(principal, proposal_id, "return award")
        return held(proposal_id, command, access, if_match=if_match, key=key)

    @api.post("/{proposal_id}/decide", **created)
    def decide_award(
        proposal_id: IdPath, body: DecideAwardBody, principal: Caller, key: Idempotency, if_match: IfMatch = None
    ) -> Response:
        """Quyết định (AwardDecided) / decide. Vai trò decider; đơn vị của mã truy cập phải là cấp quyết định."""
        require_role(principal, DECIDER, "decide award")
        command = DecideAward(
            proposal_id,
            principal.path,
            body.outcome,
            body.business_time(),
            principal.actor(),
            body.decision_number,
            body.decision_date,
            body.reason,
        )
        access = proposal_access(principal, proposal_id, "decide award", step_role=False)  # the domain: authority
        return held(proposal_id, command, access, if_match=if_match, key=key)

    return api
