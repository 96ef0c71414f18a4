"""Handlers of the registry context."""

from __future__ import annotations

import unicodedata

from services.domain.deps import Deps
from services.kernel.contracts import EmulationBlocRegisteredData, OrgUnitRef, OrgUnitRegisteredData
from services.kernel.errors import DomainRefusal, Kind, OrgUnitExists, UnknownOrgUnit, out_of_subtree
from services.kernel.labels import SUBJECT_CATEGORIES, UNIT_KINDS
from services.kernel.orgpaths import OrgPath
from services.kernel.store import NewEvent
from services.kernel.uow import AbstractUnitOfWork

from .commands import RegisterEmulationBloc, RegisterOrgUnit
from .lookup import BLOC_KINDS, bloc_members, bloc_stream, find_org_unit, get_org_unit, org_unit_stream
from .refdata import agency_types


def _invalid(field: str, value: str, allowed: dict[str, str]) -> DomainRefusal:
    return DomainRefusal(
        "INVALID_CODE",
        Kind.INVALID,
        f"Giá trị '{value}' của {field} không hợp lệ; cho phép: {', '.join(allowed)}.",
        f"'{value}' is not a valid {field}; allowed: {', '.join(allowed)}.",
        field=field,
        value=value,
    )


def register_org_unit(cmd: RegisterOrgUnit, uow: AbstractUnitOfWork, deps: Deps) -> None:
    """Append ``OrgUnitRegistered`` if the parent exists, the code is free and the categories are known."""
    official = deps.official
    parent = OrgPath.parse(cmd.parent_path)
    path = parent.child(cmd.code)
    if cmd.unit_kind not in UNIT_KINDS:
        raise _invalid("unit_kind", cmd.unit_kind, UNIT_KINDS)
    if cmd.subject_category is not None and cmd.subject_category not in SUBJECT_CATEGORIES:
        raise _invalid("subject_category", cmd.subject_category, SUBJECT_CATEGORIES)
    if cmd.agency_type is not None and cmd.agency_type not in agency_types():
        raise _invalid("agency_type", cmd.agency_type, {k: v.name_vi for k, v in agency_types().items()})
    if find_org_unit(uow, official, parent.value) is None:
        raise UnknownOrgUnit(parent.value)
    if cmd.code in official or uow.stream(org_unit_stream(cmd.code)):
        raise OrgUnitExists(cmd.code)
    if cmd.emulation_bloc is not None:
        _check_bloc_of_province(uow, cmd.emulation_bloc, "/".join(path.parts[:2]))
    name = unicodedata.normalize("NFC", cmd.name)
    unit: OrgUnitRef = {"code": cmd.code, "path": path.value, "level": "UNIT", "name": name}
    payload: OrgUnitRegisteredData = {
        "unit": unit,
        "parent_path": parent.value,
        "name": name,
        "unit_kind": cmd.unit_kind,
        "subject_category": cmd.subject_category,
        "emulation_bloc": cmd.emulation_bloc,
        "valid_from": cmd.valid_from,
        "agency_type": cmd.agency_type,
    }
    extra = {"event_id": cmd.event_id} if cmd.event_id else {}
    new = NewEvent(
        "OrgUnitRegistered", payload, unit, cmd.actor, cmd.occurred_at, correlation_id=cmd.correlation_id, **extra
    )
    uow.append(org_unit_stream(cmd.code), 0, [new])


def _unknown_bloc(code: str, province: str) -> DomainRefusal:
    return DomainRefusal(
        "UNKNOWN_EMULATION_BLOC",
        Kind.INVALID,
        f"Không có khối, cụm thi đua mã {code} của {province}; đăng ký khối, cụm trước.",
        f"No khối/cụm thi đua {code} registered for {province}; register it first.",
        bloc_code=code,
        province=province,
    )


def _check_bloc_of_province(uow: AbstractUnitOfWork, code: str, province: str) -> None:
    bloc = bloc_members(uow.stream(bloc_stream(code)))
    if bloc is None or bloc[1] != province:
        raise _unknown_bloc(code, province)


def register_emulation_bloc(cmd: RegisterEmulationBloc, uow: AbstractUnitOfWork, deps: Deps) -> None:
    """EmulationBlocRegistered: a province's khối or cụm thi đua and its members, each in the province's subtree.

    Registering a code again redefines the bloc (new members, same stream): duties bind by the latest definition.
    """
    province = get_org_unit(uow, deps.official, cmd.province_path)
    if province.ref["level"] != "PROVINCE":
        raise _invalid("province_path", cmd.province_path, {"VN/<mã tỉnh>": "tỉnh, thành phố"})
    if cmd.kind not in BLOC_KINDS:
        raise _invalid("kind", cmd.kind, BLOC_KINDS)
    members = list(dict.fromkeys(cmd.members))
    for member in members:
        get_org_unit(uow, deps.official, member)
        if not province.path.contains(OrgPath.parse(member)) or member == province.path.value:
            raise out_of_subtree(province.path.value, member)
    stream = bloc_stream(cmd.bloc_code)
    earlier = bloc_members(uow.stream(stream))
    if earlier is not None and earlier[1] != province.path.value:
        raise DomainRefusal(
            "EMULATION_BLOC_EXISTS",
            Kind.CONFLICT,
            f"Mã khối, cụm thi đua {cmd.bloc_code} đã được dùng cho {earlier[1]}.",
            f"Bloc code {cmd.bloc_code} is already used by {earlier[1]}.",
            bloc_code=cmd.bloc_code,
        )
    for member in members:
        if cmd.bloc_code not in uow.lookup("bloc_member", member):
            uow.record("bloc_member", member, cmd.bloc_code)
    payload: EmulationBlocRegisteredData = {
        "bloc_code": cmd.bloc_code,
        "name": unicodedata.normalize("NFC", cmd.name),
        "kind": cmd.kind,
        "province": province.ref,
        "members": members,
        "source_document": cmd.source_document,
    }
    new = NewEvent("EmulationBlocRegistered", payload, province.ref, cmd.actor, cmd.occurred_at)
    uow.append(stream, uow.version(stream), [new])
