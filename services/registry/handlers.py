"""Handlers of the registry context."""

from __future__ import annotations

import unicodedata

from services.deps import Deps
from services.kernel.errors import DomainRefusal, OrgUnitExists, UnknownOrgUnit
from services.kernel.orgpaths import OrgPath
from services.kernel.store import NewEvent
from services.kernel.uow import UnitOfWork

from .commands import RegisterOrgUnit
from .lookup import find_org_unit, org_unit_stream

UNIT_KINDS = {
    "AGENCY": "Cơ quan (sở, ban, ngành, phòng)",
    "PUBLIC_SERVICE_UNIT": "Đơn vị sự nghiệp công lập",
    "ENTERPRISE": "Doanh nghiệp",
    "COOPERATIVE": "Hợp tác xã",
    "MTTQ": "Ủy ban Mặt trận Tổ quốc",
    "SOCIO_POLITICAL": "Tổ chức chính trị – xã hội",
    "VILLAGE": "Thôn, tổ dân phố",
}
SUBJECT_CATEGORIES = {
    "AGENCY_LOCALITY": "Cơ quan, địa phương, đơn vị",
    "MTTQ_SOCIO_POLITICAL": "Mặt trận Tổ quốc và các tổ chức chính trị – xã hội",
    "ENTERPRISE": "Doanh nghiệp",
    "INDIVIDUAL": "Cá nhân",
}


def _invalid(field: str, value: str, allowed: dict[str, str]) -> DomainRefusal:
    return DomainRefusal(
        "INVALID_CODE",
        422,
        f"Giá trị '{value}' của {field} không hợp lệ; cho phép: {', '.join(allowed)}.",
        f"'{value}' is not a valid {field}; allowed: {', '.join(allowed)}.",
        field=field,
        value=value,
    )


def register_org_unit(cmd: RegisterOrgUnit, uow: UnitOfWork, deps: Deps) -> None:
    """Append ``OrgUnitRegistered`` if the parent exists, the code is free and the categories are known."""
    official = deps.official
    parent = OrgPath.parse(cmd.parent_path)
    path = parent.child(cmd.code)
    if cmd.unit_kind not in UNIT_KINDS:
        raise _invalid("unit_kind", cmd.unit_kind, UNIT_KINDS)
    if cmd.subject_category is not None and cmd.subject_category not in SUBJECT_CATEGORIES:
        raise _invalid("subject_category", cmd.subject_category, SUBJECT_CATEGORIES)
    if find_org_unit(uow, official, parent.value) is None:
        raise UnknownOrgUnit(parent.value)
    if cmd.code in official or uow.stream(org_unit_stream(cmd.code)):
        raise OrgUnitExists(cmd.code)
    name = unicodedata.normalize("NFC", cmd.name)
    unit = {"code": cmd.code, "path": path.value, "level": "UNIT", "name": name}
    payload = {
        "unit": unit,
        "parent_path": parent.value,
        "name": name,
        "unit_kind": cmd.unit_kind,
        "subject_category": cmd.subject_category,
        "emulation_bloc": cmd.emulation_bloc,
        "valid_from": cmd.valid_from,
    }
    extra = {"event_id": cmd.event_id} if cmd.event_id else {}
    new = NewEvent(
        "OrgUnitRegistered", payload, unit, cmd.actor, cmd.occurred_at, correlation_id=cmd.correlation_id, **extra
    )
    uow.append(org_unit_stream(cmd.code), 0, [new])
