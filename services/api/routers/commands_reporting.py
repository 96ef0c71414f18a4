"""Commands of reporting over HTTP: register targets (đăng ký thi đua), submit a report, review it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import Field

from services.api.bodies import (
    CommandBody,
    Id,
    IdPath,
    IndicatorValue,
    OrgUnitPath,
    Year,
    example,
    optional_text,
    records,
)
from services.api.commanding import Authorize, CommandAccepted, IfMatch, run_command
from services.api.idempotency import Idempotency
from services.api.problems import WRITE_RESPONSES
from services.api.security import Caller, Principal, current_principal, require_role, require_within
from services.api.security.scopes import REVIEWER, SUBMITTER, require_target
from services.bootstrap import Node
from services.kernel.orgpaths import OrgPath
from services.kernel.uow import UnitOfWork
from services.reporting.commands import RegisterTargets, ReviewReport, SubmitReport
from services.reporting.handlers import unknown_report
from services.reporting.model import fold, report_stream
from services.reporting.model import report_id as report_id_of

Period = Annotated[
    str,
    Field(
        min_length=4,
        max_length=20,
        pattern=r"^[A-Z0-9_]+$",
        description="Kỳ báo cáo: 2026, SO_KET_2027, TONG_KET_2030 / period",
    ),
]


class RegisterTargetsBody(CommandBody):
    """Đơn vị đăng ký chỉ tiêu thi đua cho một năm / a unit registers its targets for a year."""

    model_config = example(
        {
            "registration_id": "dk-THCS-LC-2026",
            "plan_id": "lao-cai-draft-2026-05",
            "unit_path": "VN/15/02647/THCS-LC",
            "year": 2026,
            "targets": [{"indicator_code": "LC-38", "value": 95.0}],
        }
    )

    registration_id: Id = Field(description="Mã bản đăng ký / registration id")
    plan_id: Id = Field(description="Kế hoạch / plan")
    unit_path: OrgUnitPath = Field(description="Đơn vị đăng ký / registering unit")
    year: Year = Field(description="Năm / year")
    targets: list[IndicatorValue] = Field(
        description="Chỉ tiêu đăng ký / targets per indicator", min_length=1, max_length=500
    )


class SubmitReportBody(CommandBody):
    """Đơn vị nộp (hoặc nộp lại sau khi bị trả) báo cáo kỳ / a unit submits (or resubmits) its report."""

    model_config = example(
        {
            "plan_id": "dai-son-draft-2026-06",
            "unit_path": "VN/31/11086/HTX-DS",
            "period": "2026",
            "values": [{"indicator_code": "DS-1", "value": 1.0}],
            "narrative": "Báo cáo kết quả thực hiện Phong trào thi đua năm 2026",
            "occurred_at": "2026-11-27T15:00:00+07:00",
        }
    )

    plan_id: Id = Field(description="Kế hoạch / plan")
    unit_path: OrgUnitPath = Field(description="Đơn vị báo cáo / reporting unit")
    period: Period
    values: list[IndicatorValue] = Field([], description="Kết quả theo chỉ tiêu / values", max_length=500)
    narrative: str | None = optional_text("Nội dung báo cáo", "narrative", 100_000)
    attachments: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(
        [], description="Tệp đính kèm (URL hoặc mã) / attachments (URLs or ids)", max_length=100
    )
    initiatives: list[Annotated[str, Field(min_length=1, max_length=1000)]] = Field(
        [], description="Mô hình, sáng kiến / models and initiatives", max_length=200
    )


class ReviewReportBody(CommandBody):
    """Cấp nhận báo cáo tiếp nhận hoặc trả lại (kèm lý do) / the receiving level accepts or returns the report."""

    model_config = example({"outcome": "RETURNED", "reason": "Thiếu số liệu mô hình chuyển đổi số"})

    outcome: Literal["ACCEPTED", "RETURNED"] = Field(description="Tiếp nhận / trả lại — accept or return")
    reason: str | None = optional_text("Lý do trả lại", "reason of a return", 10_000)


def _report_access(principal: Principal, report_id: str) -> Authorize:
    """A write-side check before the handler: the reporting unit or the level it reports to lies in the caller's
    subtree (the same 403 for a report outside it, whatever its state, and for none)."""

    def check(uow: UnitOfWork) -> None:
        report = fold(uow.stream(report_stream(report_id)))
        places = None
        if report is not None:
            places = [report.unit["path"], *([report.submitted_to["path"]] if report.submitted_to else [])]
        require_target(principal, ("báo cáo", "report"), report_id, places, lambda: unknown_report(report_id))

    return check


def router(node: Node) -> APIRouter:
    """POST /registrations, /reports (role submitter) and /reports/{report_id}/review (role reviewer)."""
    api = APIRouter(
        prefix="/api/v1",
        tags=["commands: reporting"],
        responses=WRITE_RESPONSES,
        dependencies=[Depends(current_principal)],
    )
    created: dict[str, Any] = {"status_code": 201, "response_model": CommandAccepted}

    @api.post("/registrations", **created)
    def register_targets(
        body: RegisterTargetsBody, principal: Caller, key: Idempotency, if_match: IfMatch = None
    ) -> Response:
        """Đăng ký thi đua (TargetsRegistered) / register targets. Vai trò submitter; đơn vị trong phạm vi.

        Đăng ký lại cùng kế hoạch và năm thay thế bản trước / registering again replaces the earlier targets.
        """
        require_role(principal, SUBMITTER, "register targets")
        require_within(principal, body.unit_path)
        command = RegisterTargets(
            body.registration_id,
            body.plan_id,
            body.unit_path,
            body.year,
            records(body.targets),
            body.business_time(),
            principal.actor(),
        )
        stream = f"registration-{body.plan_id}:{OrgPath(body.unit_path).code}:{body.year}"
        return run_command(node, command, stream_id=stream, if_match=if_match, key=key)

    @api.post("/reports", **created)
    def submit_report(
        body: SubmitReportBody, principal: Caller, key: Idempotency, if_match: IfMatch = None
    ) -> Response:
        """Nộp báo cáo (ReportSubmitted) / submit a report. Vai trò submitter; đơn vị trong phạm vi.

        Mã báo cáo là ``{plan_id}:{mã đơn vị}:{kỳ}`` / the report id is ``{plan_id}:{unit code}:{period}``.
        """
        require_role(principal, SUBMITTER, "submit report")
        require_within(principal, body.unit_path)
        command = SubmitReport(
            body.plan_id,
            body.unit_path,
            body.period,
            body.business_time(),
            principal.actor(),
            values=records(body.values),
            narrative=body.narrative,
            attachments=tuple(body.attachments),
            initiatives=tuple(body.initiatives),
        )
        stream = report_stream(report_id_of(body.plan_id, OrgPath(body.unit_path).code, body.period))
        return run_command(node, command, stream_id=stream, if_match=if_match, key=key)

    @api.post("/reports/{report_id}/review", **created)
    def review_report(
        report_id: IdPath, body: ReviewReportBody, principal: Caller, key: Idempotency, if_match: IfMatch = None
    ) -> Response:
        """Xem xét báo cáo (ReportReviewed) / review a report.

        Vai trò reviewer; đơn vị xem xét là đơn vị của mã truy cập / role reviewer; the caller's org unit reviews.
        """
        require_role(principal, REVIEWER, "review report")
        command = ReviewReport(
            report_id, principal.path, body.outcome, body.business_time(), principal.actor(), reason=body.reason
        )
        access = _report_access(principal, report_id)
        return run_command(
            node, command, stream_id=report_stream(report_id), authorize=access, if_match=if_match, key=key
        )

    return api
