"""Commands of planning over HTTP: issue, number and amend a plan (kế hoạch); criteria (tiêu chí); guidance."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import Field

from services.api.bodies import (
    AwardAllowance,
    CommandBody,
    ContentArea,
    CriteriaId,
    CriteriaItem,
    DocumentReference,
    DomainWarning,
    Id,
    IdPath,
    Name,
    OrgUnitPath,
    PlanPeriod,
    PlanPhase,
    ReportingDuty,
    SubjectCategory,
    example,
    optional_text,
    records,
    text,
)
from services.api.commanding import Authorize, CommandAccepted, IfMatch, run_command
from services.api.idempotency import Idempotency
from services.api.problems import WRITE_RESPONSES
from services.api.security import Caller, Principal, current_principal, require_role, require_within
from services.api.security.scopes import OPERATOR, require_target
from services.bootstrap import Node
from services.kernel.uow import UnitOfWork
from services.planning.commands import AmendPlan, AssignPlanNumber, IssueGuidance, IssuePlan, RegisterCriteria
from services.planning.model import fold, plan_stream
from services.planning.rules import unknown_plan

DocumentNumber = Field(None, min_length=1, max_length=20, description="Số văn bản, ví dụ 220 / document number")


class IssuePlanBody(CommandBody):
    """Ban hành kế hoạch (hoặc ghi dự thảo chưa có số, ngày) / issue a plan (or record a draft)."""

    model_config = example(
        {
            "plan_id": "ds-thcs-2027",
            "issuer_path": "VN/31/11086/THCS-DS",
            "document_symbol": "KH-THCS",
            "title": "Kế hoạch phát động phong trào thi đua năm học 2026–2027",
            "implements": ["dai-son-draft-2026-06"],
            "phases": [
                {
                    "code": "P1",
                    "name": "Năm học 2026–2027",
                    "start_date": "2026-09-05",
                    "end_date": "2027-05-31",
                    "review": "TONG_KET",
                }
            ],
            "award_forms": [{"occasion": "ANNUAL", "form_code": "GK_XA"}],
            "occurred_at": "2026-09-05T08:00:00+07:00",
        }
    )

    plan_id: Id = Field(description="Mã kế hoạch do bên gọi đặt, ví dụ hue-220-2026 / plan id chosen by the caller")
    issuer_path: OrgUnitPath = Field(description="Đơn vị ban hành / issuing org unit")
    document_symbol: str = text("Ký hiệu văn bản, ví dụ KH-UBND", "document symbol, e.g. KH-UBND", 50)
    title: str = text("Trích yếu", "title", 1000)
    document_number: str | None = DocumentNumber
    issue_date: date | None = Field(None, description="Ngày ban hành / issue date")
    signer_name: str | None = optional_text("Người ký", "signer", 300)
    signer_capacity: str | None = optional_text("Chức vụ người ký", "signer's capacity", 300)
    implements: list[Id] = Field([], description="Kế hoạch cấp trên được thực hiện / parent plans", max_length=20)
    phases: list[PlanPhase] = Field([], description="Giai đoạn / phases", max_length=20)
    content_areas: list[ContentArea] = Field([], description="Nội dung thi đua / content areas", max_length=200)
    reporting_duties: list[ReportingDuty] = Field([], description="Chế độ báo cáo / reporting duties", max_length=50)
    award_forms: list[AwardAllowance] = Field([], description="Hình thức khen thưởng / award forms", max_length=200)
    criteria_owners: list[Name] = Field(
        [], description="Cơ quan chủ trì tiêu chí / agencies owning criteria", max_length=50
    )
    plan_deadline: date | None = Field(None, description="Hạn cấp dưới ban hành kế hoạch / deadline for lower levels")
    warnings: list[DomainWarning] = Field([], description="Cảnh báo kèm theo / warnings carried", max_length=100)
    period: PlanPeriod | None = Field(None, description="Thời gian thực hiện như văn bản ghi / stated span")
    issuer_name: str | None = optional_text(
        "Tên cơ quan ban hành như văn bản in", "the issuer as the document prints it", 300
    )
    references: list[DocumentReference] = Field(
        [], description="Văn bản, phong trào được viện dẫn / cited documents, linked movements", max_length=100
    )


class AssignPlanNumberBody(CommandBody):
    """Cấp số, ngày cho kế hoạch dự thảo / give a draft plan its number and date."""

    model_config = example({"document_number": "118", "issue_date": "2026-06-20"})

    document_number: str = Field(min_length=1, max_length=20, description="Số văn bản / document number")
    issue_date: date = Field(description="Ngày ban hành / issue date")


class AmendPlanBody(CommandBody):
    """Sửa đổi, bổ sung kế hoạch / amend a plan."""

    model_config = example(
        {"reason": "Bổ sung thời hạn báo cáo sơ kết", "document_number": "131", "issue_date": "2026-07-15"}
    )

    reason: str = text("Lý do sửa đổi", "reason", 10_000)
    document_number: str | None = DocumentNumber
    issue_date: date | None = Field(None, description="Ngày của văn bản sửa đổi / date of the amending document")
    title: str | None = optional_text("Trích yếu mới", "new title", 1000)
    phases: list[PlanPhase] | None = Field(None, description="Giai đoạn mới / new phases", max_length=20)


class RegisterCriteriaBody(CommandBody):
    """Đăng ký bộ tiêu chí của kế hoạch / register a criteria set of a plan."""

    model_config = example(
        {
            "criteria_id": "dai-son-draft-2026-06/DN",
            "plan_id": "dai-son-draft-2026-06",
            "owner_path": "VN/31/11086/PKT-DS",
            "subject_category": "ENTERPRISE",
            "items": [
                {
                    "code": "DN.1",
                    "title": "Chuyển đổi số trong doanh nghiệp",
                    "indicators": [
                        {
                            "code": "DS-DN-1",
                            "name": "Tỷ lệ hóa đơn điện tử",
                            "unit": "%",
                            "comparator": "GE",
                            "threshold": 100.0,
                            "year": 2026,
                        }
                    ],
                }
            ],
        }
    )

    criteria_id: CriteriaId = Field(description="Mã bộ tiêu chí / criteria set id")
    plan_id: Id = Field(description="Kế hoạch / plan")
    owner_path: OrgUnitPath = Field(description="Cơ quan chủ trì / owning org unit")
    subject_category: SubjectCategory = Field(description="Đối tượng áp dụng / subject category")
    items: list[CriteriaItem] = Field([], description="Tiêu chí / items", max_length=500)
    warnings: list[DomainWarning] = Field([], description="Cảnh báo kèm theo / warnings", max_length=100)


class IssueGuidanceBody(CommandBody):
    """Ban hành văn bản hướng dẫn cho các đơn vị cấp dưới / issue guidance to subtrees."""

    model_config = example(
        {
            "guidance_id": "hd-ds-2026-12",
            "issuer_path": "VN/31/11086",
            "title": "Hướng dẫn tổng kết công tác thi đua, khen thưởng năm 2026",
            "addressed_to": ["VN/31/11086"],
            "document_number": "25",
            "issue_date": "2026-11-02",
        }
    )

    guidance_id: Id = Field(description="Mã hướng dẫn / guidance id")
    issuer_path: OrgUnitPath = Field(description="Đơn vị ban hành / issuer")
    title: str = text("Trích yếu", "title", 1000)
    addressed_to: list[OrgUnitPath] = Field(
        description="Gửi tới (các phạm vi) / addressed to (subtrees)", min_length=1, max_length=100
    )
    document_number: str | None = DocumentNumber
    issue_date: date | None = Field(None, description="Ngày ban hành / issue date")
    summary: str | None = optional_text("Tóm tắt", "summary", 10_000)


def _issuer_within(principal: Principal, plan_id: str) -> Authorize:
    """A write-side check before the handler: the plan's issuer lies in the caller's subtree (the same 403 for a
    plan outside it, whatever its state, and for none)."""

    def check(uow: UnitOfWork) -> None:
        plan = fold(uow.stream(plan_stream(plan_id)))
        places = None if plan is None else [plan.issuer_path]
        require_target(principal, ("kế hoạch", "plan"), plan_id, places, lambda: unknown_plan(plan_id))

    return check


def router(node: Node) -> APIRouter:
    """POST /plans, /plans/{plan_id}/number, /plans/{plan_id}/amend, /criteria, /guidance (role: operator)."""
    api = APIRouter(
        prefix="/api/v1",
        tags=["commands: planning"],
        responses=WRITE_RESPONSES,
        dependencies=[Depends(current_principal)],
    )
    created: dict[str, Any] = {"status_code": 201, "response_model": CommandAccepted}

    def on_plan(plan_id: str, command: Any, principal: Principal, **request: Any) -> Response:
        """Run a command on a plan whose issuer must lie in the caller's subtree (checked in its transaction)."""
        authorize = _issuer_within(principal, plan_id)
        location = f"/api/v1/plans/{plan_id}"
        return run_command(
            node, command, stream_id=plan_stream(plan_id), authorize=authorize, location=location, **request
        )

    @api.post("/plans", **created)
    def issue_plan(body: IssuePlanBody, principal: Caller, key: Idempotency, if_match: IfMatch = None) -> Response:
        """Ban hành kế hoạch (PlanIssued) / issue a plan. Vai trò operator; đơn vị ban hành trong phạm vi."""
        require_role(principal, OPERATOR, "issue plan")
        require_within(principal, body.issuer_path)
        command = IssuePlan(
            plan_id=body.plan_id,
            issuer_path=body.issuer_path,
            document_symbol=body.document_symbol,
            title=body.title,
            occurred_at=body.business_time(),
            actor=principal.actor(),
            document_number=body.document_number,
            issue_date=body.issue_date,
            signer_name=body.signer_name,
            signer_capacity=body.signer_capacity,
            implements=tuple(body.implements),
            phases=records(body.phases),
            content_areas=records(body.content_areas),
            reporting_duties=records(body.reporting_duties),
            award_forms=records(body.award_forms),
            criteria_owners=tuple(body.criteria_owners),
            plan_deadline=body.plan_deadline,
            warnings=records(body.warnings),
            period=body.period.model_dump() if body.period else None,
            issuer_name=body.issuer_name,
            references=records(body.references),
        )
        location = f"/api/v1/plans/{body.plan_id}"
        return run_command(
            node, command, stream_id=plan_stream(body.plan_id), if_match=if_match, key=key, location=location
        )

    @api.post("/plans/{plan_id}/number", **created)
    def assign_plan_number(
        plan_id: IdPath, body: AssignPlanNumberBody, principal: Caller, key: Idempotency, if_match: IfMatch = None
    ) -> Response:
        """Cấp số cho dự thảo (PlanNumberAssigned) / number a draft. Vai trò operator."""
        require_role(principal, OPERATOR, "number plan")
        command = AssignPlanNumber(
            plan_id, body.document_number, body.issue_date, body.business_time(), principal.actor()
        )
        return on_plan(plan_id, command, principal, if_match=if_match, key=key)

    @api.post("/plans/{plan_id}/amend", **created)
    def amend_plan(
        plan_id: IdPath, body: AmendPlanBody, principal: Caller, key: Idempotency, if_match: IfMatch = None
    ) -> Response:
        """Sửa đổi kế hoạch (PlanAmended) / amend a plan. Vai trò operator; If-Match khuyến nghị."""
        require_role(principal, OPERATOR, "amend plan")
        command = AmendPlan(
            plan_id=plan_id,
            reason=body.reason,
            occurred_at=body.business_time(),
            actor=principal.actor(),
            document_number=body.document_number,
            issue_date=body.issue_date,
            title=body.title,
            phases=records(body.phases) if body.phases is not None else None,
        )
        return on_plan(plan_id, command, principal, if_match=if_match, key=key)

    @api.post("/criteria", **created)
    def register_criteria(
        body: RegisterCriteriaBody, principal: Caller, key: Idempotency, if_match: IfMatch = None
    ) -> Response:
        """Đăng ký tiêu chí (CriteriaRegistered) / register criteria. Vai trò operator; cơ quan chủ trì trong phạm vi.

        Role operator; the owner in the caller's subtree.
        """
        require_role(principal, OPERATOR, "register criteria")
        require_within(principal, body.owner_path)
        command = RegisterCriteria(
            body.criteria_id,
            body.plan_id,
            body.owner_path,
            body.subject_category,
            body.business_time(),
            principal.actor(),
            records(body.items),
            records(body.warnings),
        )
        return run_command(
            node,
            command,
            stream_id=plan_stream(body.plan_id),
            if_match=if_match,
            key=key,
            location=f"/api/v1/plans/{body.plan_id}",
        )

    @api.post("/guidance", **created)
    def issue_guidance(
        body: IssueGuidanceBody, principal: Caller, key: Idempotency, if_match: IfMatch = None
    ) -> Response:
        """Ban hành hướng dẫn (GuidanceIssued) / issue guidance. Vai trò operator; đơn vị ban hành trong phạm vi."""
        require_role(principal, OPERATOR, "issue guidance")
        require_within(principal, body.issuer_path)
        command = IssueGuidance(
            guidance_id=body.guidance_id,
            issuer_path=body.issuer_path,
            title=body.title,
            addressed_to=tuple(body.addressed_to),
            occurred_at=body.business_time(),
            actor=principal.actor(),
            document_number=body.document_number,
            issue_date=body.issue_date,
            summary=body.summary,
        )
        return run_command(node, command, stream_id=f"guidance-{body.guidance_id}", if_match=if_match, key=key)

    return api
