"""Resolve org units on the write side: official provinces/communes from the reference list, units from events."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, cast

from services.kernel.adminunits import AdminUnitCatalog
from services.kernel.contracts import OrgLevel, OrgUnitRef
from services.kernel.errors import UnknownOrgUnit
from services.kernel.orgpaths import ROOT, OrgPath
from services.kernel.uow import AbstractUnitOfWork

CENTRAL_REF: OrgUnitRef = {"code": ROOT, "path": ROOT, "level": "CENTRAL", "name": "Trung ương"}
# Kind families used by reporting duties and criteria: a duty bound to AGENCY also binds public service units.
KIND_FAMILIES = {
    "AGENCY": {"AGENCY", "PUBLIC_SERVICE_UNIT", "MTTQ", "SOCIO_POLITICAL"},
    "ENTERPRISE": {"ENTERPRISE", "COOPERATIVE"},
    "LOCALITY": {"COMMUNE", "PROVINCE", "VILLAGE"},
}


BLOC_KINDS = {"KHOI": "Khối thi đua", "CUM": "Cụm thi đua"}
MEMBER_OF = {"KHOI_THI_DUA": ("KHOI",), "CUM_THI_DUA": ("CUM",), "KHOI_CUM_THI_DUA": ("KHOI", "CUM")}


def org_unit_stream(code: str) -> str:
    """Stream of a registered unit; one per code, so a code is registered once per node."""
    return f"orgunit-{code}"


def bloc_stream(code: str) -> str:
    """Stream of a khối/cụm thi đua; a later definition replaces the earlier one (its history stays)."""
    return f"bloc-{code}"


@dataclass(frozen=True)
class OrgUnit:
    """What commands need to know of an org unit."""

    ref: OrgUnitRef
    kind: str
    subject_category: str | None = None
    emulation_bloc: str | None = None
    agency_type: str | None = None
    blocs: tuple[tuple[str, str], ...] = ()  # (code, KHOI | CUM) of the khối/cụm thi đua it belongs to

    @property
    def path(self) -> OrgPath:
        """The unit's path."""
        return OrgPath(self.ref["path"])

    def is_of_kind(self, kinds: list[str]) -> bool:
        """Whether the unit belongs to one of ``kinds`` (or to their families); an empty list binds all."""
        return not kinds or any(self.kind == k or self.kind in KIND_FAMILIES.get(k, ()) for k in kinds)

    def member_of(self, member_of: str) -> bool:
        """Whether the unit belongs to a bloc of the kinds ``member_of`` names (KHOI_THI_DUA, CUM_THI_DUA…)."""
        return any(kind in MEMBER_OF.get(member_of, ()) for _, kind in self.blocs)


def unit_ref(code: str, path: str, level: str, name: str | None) -> OrgUnitRef:
    """An OrgUnitRef; ``level`` is one of OrgLevel's symbols (CENTRAL, PROVINCE, COMMUNE, UNIT)."""
    return {"code": code, "path": path, "level": cast(OrgLevel, level), "name": name}


def find_org_unit(uow: AbstractUnitOfWork, official: AdminUnitCatalog, path: str) -> OrgUnit | None:
    """The org unit at ``path``, or None."""
    target = OrgPath.parse(path)
    if target.level == "CENTRAL":
        return OrgUnit(CENTRAL_REF.copy(), "CENTRAL")
    if target.level in ("PROVINCE", "COMMUNE"):
        if target.code not in official:
            return None
        unit = official.get(target.code)
        expected = f"{ROOT}/{unit.parent_code}/{unit.code}" if unit.parent_code else f"{ROOT}/{unit.code}"
        if expected != target.value:
            return None
        return OrgUnit(unit_ref(unit.code, target.value, target.level, unit.name), target.level, "AGENCY_LOCALITY")
    events = uow.stream(org_unit_stream(target.code))
    if not events or events[0].data["unit"]["path"] != target.value:
        return None
    data = events[0].data
    return OrgUnit(
        cast(OrgUnitRef, dict(data["unit"])),
        data["unit_kind"],
        data.get("subject_category"),
        data.get("emulation_bloc"),
        data.get("agency_type"),
    )


def get_org_unit(uow: AbstractUnitOfWork, official: AdminUnitCatalog, path: str) -> OrgUnit:
    """The org unit at ``path``; raises UnknownOrgUnit."""
    unit = find_org_unit(uow, official, path)
    if unit is None:
        raise UnknownOrgUnit(path)
    return unit


def bloc_members(events: list[Any]) -> tuple[str, str, list[str]] | None:
    """(kind, province path, members) of a bloc as its latest definition states them, or None."""
    if not events:
        return None
    d = events[-1].data
    return d["kind"], d["province"]["path"], list(d["members"])


def with_blocs(uow: AbstractUnitOfWork, unit: OrgUnit) -> OrgUnit:
    """``unit`` with the khối/cụm thi đua it belongs to: those listing it now, and the one it was registered in."""
    found: dict[str, str] = {}
    declared = [unit.emulation_bloc] if unit.emulation_bloc else []
    for code in sorted({*uow.lookup("bloc_member", unit.path.value), *declared}):
        bloc = bloc_members(uow.stream(bloc_stream(code)))
        if bloc is not None and (unit.path.value in bloc[2] or code == unit.emulation_bloc):
            found[code] = bloc[0]
    return replace(unit, blocs=tuple(sorted(found.items())))
