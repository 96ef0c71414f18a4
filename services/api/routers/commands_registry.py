"""Commands of the registry over HTTP: register an org unit (đơn vị) under a province, commune or unit, and a
province's khối / cụm thi đua (reference data duties bind by)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from pydantic import Field

from services.api.bodies import Code, CommandBody, OrgUnitPath, SubjectCategory, example, optional_text, text
from services.api.commanding import CommandAccepted, IfMatch, run_command
from services.api.idempotency import Idempotency
from services.api.problems import WRITE_RESPONSES
from services.api.security import Caller, current_principal, require_role, require_within
from services.api.security.scopes import OPERATOR
from services.bootstrap import Node
from services.registry.commands import RegisterEmulationBloc, RegisterOrgUnit
from services.registry.lookup import bloc_stream, org_unit_stream

UnitKind = Literal["AGENCY", "PUBLIC_SERVICE_UNIT", "ENTERPRISE", "COOPERATIVE", "MTTQ", "SOCIO_POLITICAL", "VILLAGE"]


class RegisterOrgUnitBody(CommandBody):
    """Đăng ký đơn vị (sở, trường, doanh nghiệp, thôn…) / register an org unit."""

    model_config = example(
        {
            "parent_path": "VN/31/11086",
            "code": "THCS-BL",
            "name": "Trường THCS Bình Lăng",
            "unit_kind": "PUBLIC_SERVICE_UNIT",
            "subject_category": "AGENCY_LOCALITY",
            "valid_from": "2026-05-04",
        }
    )

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
    emulation_bloc: str | None = optional_text(
        "Mã khối, cụm thi đua đã đăng ký của tỉnh", "code of a registered khối/cụm thi đua of its province", 200
    )
    valid_from: date | None = Field(None, description="Hiệu lực từ ngày / valid from")
    agency_type: Code | None = Field(
        None,
        description="Loại cơ quan chuyên môn, ví dụ SO_NOI_VU, PHONG_VHXH (agency_types.csv) / agency type",
    )


class RegisterEmulationBlocBody(CommandBody):
    """Đăng ký (hoặc xác định lại) khối, cụm thi đua của tỉnh / register or redefine a khối or cụm thi đua."""

    model_config = example(
        {
            "bloc_code": "15-K01",
            "province_path": "VN/15",
            "kind": "KHOI",
            "name": "Khối thi đua số 1",
            "members": ["VN/15/SKHCN-15", "VN/15/02683"],
        }
    )

    bloc_code: str = Field(
        min_length=1, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="Mã khối, cụm / bloc code"
    )
    province_path: OrgUnitPath = Field(description="Tỉnh, thành phố / province")
    kind: Literal["KHOI", "CUM"] = Field(description="KHOI (khối thi đua) hoặc CUM (cụm thi đua) / a khối or a cụm")
    name: str = text("Tên khối, cụm", "name", 300)
    members: list[OrgUnitPath] = Field(description="Thành viên / members", max_length=2000)
    source_document: str | None = optional_text("Văn bản quyết định", "the deciding document", 300)


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
            agency_type=body.agency_type,
        )
        return run_command(
            node,
            command,
            stream_id=org_unit_stream(body.code),
            if_match=if_match,
            key=key,
            location=f"/api/v1/org-units/{body.code}",
        )

    @api.post("/emulation-blocs", status_code=201, response_model=CommandAccepted)
    def register_emulation_bloc(
        body: RegisterEmulationBlocBody, principal: Caller, key: Idempotency, if_match: IfMatch = None
    ) -> Response:
        """Đăng ký khối, cụm thi đua (EmulationBlocRegistered) / register a khối or cụm thi đua.

        Vai trò operator; tỉnh trong phạm vi / role operator; the province in the caller's subtree.
        """
        require_role(principal, OPERATOR, "register emulation bloc")
        require_within(principal, body.province_path)
        command = RegisterEmulationBloc(
            body.bloc_code,
            body.province_path,
            body.kind,
            body.name,
            tuple(body.members),
            body.business_time(),
            principal.actor(),
            source_document=body.source_document,
        )
        return run_command(node, command, stream_id=bloc_stream(body.bloc_code), if_match=if_match, key=key)

    return api
