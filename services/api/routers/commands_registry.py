"""Commands of the registry over HTTP: register an org unit (đơn vị) under a province, commune or unit."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import Field

from services.api.bodies import CommandBody, OrgUnitPath, SubjectCategory, example, optional_text, text
from services.api.commanding import CommandAccepted, IfMatch, run_command
from services.api.idempotency import Idempotency
from services.api.problems import WRITE_RESPONSES
from services.api.security import Caller, current_principal, require_role, require_within
from services.api.security.scopes import OPERATOR
from services.bootstrap import Node
from services.registry.commands import RegisterOrgUnit
from services.registry.lookup import org_unit_stream

UnitKind = Literal["AGENCY", "PUBLIC_SERVICE_UNIT", "ENTERPRISE", "COOPERATIVE", "MTTQ", "SOCIO_POLITICAL", "VILLAGE"]


class RegisterOrgUnitBody(CommandBody):
    """Đăng ký đơn vị (sở, trường, doanh nghiệp, thôn…) / register an org unit."""

    model_config = example({"parent_path": "VN/31/11086", "code": "THCS-BL", "name": "Trường THCS Bình Lăng",
                            "unit_kind": "PUBLIC_SERVICE_UNIT", "subject_category": "AGENCY_LOCALITY",
                            "valid_from": "2026-05-04"})  # fmt: skip

    parent_path: OrgUnitPath = Field(description="Đơn vị cấp trên / parent org unit")
    code: str = Field(
        min_length=1,
        max_length=50,
        pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$",
        description="Mã đơn vị, duy nhất trên nút, ví dụ THCS-DS / unit code, unique on the node",
    )
    name: str = text("Tên đơn vị", "name", 300)
    unit_kind: UnitKind = Field(description="Loại đơn vị / kind of unit")
    subject_category: SubjectCategory | None = Field(None, description="Đối tượng thi đua / subject category")
    emulation_bloc: str | None = optional_text("Khối, cụm thi đua", "emulation bloc", 200)
    valid_from: date | None = Field(None, description="Hiệu lực từ ngày / valid from")


def router(node: Node) -> APIRouter:
    """POST /api/v1/org-units (role: operator; the parent in the caller's subtree)."""
    api = APIRouter(
        prefix="/api/v1",
        tags=["commands: registry"],
        responses=WRITE_RESPONSES,
        dependencies=[Depends(current_principal)],
    )

    @api.post("/org-units", status_code=201, response_model=CommandAccepted)
    def register_org_unit(
        body: RegisterOrgUnitBody, principal: Caller, key: Idempotency, if_match: IfMatch = None
    ) -> Response:
        """Đăng ký đơn vị (OrgUnitRegistered) / register an org unit.

        Vai trò operator; đơn vị cấp trên trong phạm vi / role operator; the parent in the caller's subtree.
        """
        require_role(principal, OPERATOR, "register org unit")
        require_within(principal, body.parent_path)
        command = RegisterOrgUnit(
            body.parent_path,
            body.code,
            body.name,
            body.unit_kind,
            body.business_time(),
            principal.actor(),
            subject_category=body.subject_category,
            emulation_bloc=body.emulation_bloc,
            valid_from=body.valid_from,
        )
        return run_command(
            node,
            command,
            stream_id=org_unit_stream(body.code),
            if_match=if_match,
            key=key,
            location=f"/api/v1/org-units/{body.code}",
        )

    return api
