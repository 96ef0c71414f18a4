"""Resolve org units on the write side: official provinces/communes from the reference list, units from events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.kernel.adminunits import AdminUnitCatalog
from services.kernel.errors import UnknownOrgUnit
from services.kernel.orgpaths import ROOT, OrgPath
from services.kernel.uow import UnitOfWork

CENTRAL_REF = {"code": ROOT, "path": ROOT, "level": "CENTRAL", "name": "Trung ương"}
# Kind families used by reporting duties and criteria: a duty bound to AGENCY also binds public service units.
KIND_FAMILIES = {
    "AGENCY": {"AGENCY", "PUBLIC_SERVICE_UNIT", "MTTQ", "SOCIO_POLITICAL"},
    "ENTERPRISE": {"ENTERPRISE", "COOPERATIVE"},
    "LOCALITY": {"COMMUNE", "PROVINCE", "VILLAGE"},
}


def org_unit_stream(code: str) -> str:
    """Stream of a registered unit; one per code, so a code is registered once per node."""
    return f"orgunit-{code}"


@dataclass(frozen=True)
class OrgUnit:
    """What commands need to know of an org unit."""

    ref: dict[str, Any]
    kind: str
    subject_category: str | None = None
    emulation_bloc: str | None = None

    @property
    def path(self) -> OrgPath:
        """The unit's path."""
        return OrgPath(self.ref["path"])

    def is_of_kind(self, kinds: list[str]) -> bool:
        """Whether the unit belongs to one of ``kinds`` (or to their families); an empty list binds all."""
        return not kinds or any(self.kind == k or self.kind in KIND_FAMILIES.get(k, ()) for k in kinds)


def find_org_unit(uow: UnitOfWork, official: AdminUnitCatalog, path: str) -> OrgUnit | None:
    """The org unit at ``path``, or None."""
    target = OrgPath.parse(path)
    if target.level == "CENTRAL":
        return OrgUnit(dict(CENTRAL_REF), "CENTRAL")
    if target.level in ("PROVINCE", "COMMUNE"):
        if target.code not in official:
            return None
        unit = official.get(target.code)
        expected = f"{ROOT}/{unit.parent_code}/{unit.code}" if unit.parent_code else f"{ROOT}/{unit.code}"
        if expected != target.value:
            return None
        ref = {"code": unit.code, "path": target.value, "level": target.level, "name": unit.name}
        return OrgUnit(ref, target.level, "AGENCY_LOCALITY")
    events = uow.stream(org_unit_stream(target.code))
    if not events or events[0].data["unit"]["path"] != target.value:
        return None
    data = events[0].data
    return OrgUnit(dict(data["unit"]), data["unit_kind"], data.get("subject_category"), data.get("emulation_bloc"))


def get_org_unit(uow: UnitOfWork, official: AdminUnitCatalog, path: str) -> OrgUnit:
    """The org unit at ``path``; raises UnknownOrgUnit."""
    unit = find_org_unit(uow, official, path)
    if unit is None:
        raise UnknownOrgUnit(path)
    return unit
