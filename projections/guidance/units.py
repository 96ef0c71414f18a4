"""The org unit a guidance query is about: official units from the reference list, others from the read model."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection

from services.awards.routing import top_unit
from services.kernel.adminunits import AdminUnitCatalog
from services.kernel.orgpaths import ROOT, OrgPath
from services.registry.lookup import CENTRAL_REF, OrgUnit, unit_ref

from . import queries

OFFICIAL_CATEGORY = "AGENCY_LOCALITY"  # provinces and communes are judged as "cơ quan, địa phương, đơn vị"


@dataclass(frozen=True)
class UnitFacts:
    """What guidance needs to know of a unit: where it sits, its kind and its subject category."""

    path: str
    code: str
    level: str
    kind: str
    name: str
    subject_category: str | None
    emulation_bloc: str | None = None
    agency_type: str | None = None
    blocs: tuple[tuple[str, str], ...] = ()  # (code, KHOI | CUM) of the khối/cụm thi đua it belongs to
    top_kind: str | None = None  # kind of the unit directly under the province on its path (a sở, if it is one)

    @property
    def lineage(self) -> list[str]:
        """Paths from the root down to the unit itself."""
        return [*(a.value for a in OrgPath(self.path).ancestors()), self.path]

    def as_org_unit(self) -> OrgUnit:
        """The write side's view of the unit (for ``services.reporting.model.binds``)."""
        ref = unit_ref(self.code, self.path, self.level, self.name)
        return OrgUnit(ref, self.kind, self.subject_category, self.emulation_bloc, self.agency_type, self.blocs)


def official(catalog: AdminUnitCatalog, code: str) -> UnitFacts | None:
    """Central (VN), a province or a commune of the reference list (QĐ 19/2025/QĐ-TTg), as the write side sees it."""
    if code == ROOT:
        return UnitFacts(ROOT, ROOT, "CENTRAL", "CENTRAL", str(CENTRAL_REF["name"]), None)
    if code not in catalog:
        return None
    unit = catalog.get(code)
    path = f"{ROOT}/{unit.parent_code}/{unit.code}" if unit.parent_code else f"{ROOT}/{unit.code}"
    level = str(unit.level)
    return UnitFacts(path, unit.code, level, level, unit.name, OFFICIAL_CATEGORY)


def resolve(conn: Connection, catalog: AdminUnitCatalog, code: str) -> UnitFacts | None:
    """The unit with ``code``, official or registered, with its blocs and the kind of the sở above it, or None."""
    found = official(catalog, code)
    if found is None:
        row = queries.unit_by_code(conn, code)
        found = _registered(row) if row else None
    if found is None or found.level == "CENTRAL":
        return found
    top = top_unit(found.path)
    top_row = queries.unit_by_path(conn, top) if top else None
    province = "/".join(found.path.split("/")[:2])
    blocs = tuple(
        (b["bloc_code"], b["kind"])
        for b in queries.blocs_of(conn, province)
        if found.path in b["members"] or b["bloc_code"] == found.emulation_bloc
    )
    return replace(found, blocs=blocs, top_kind=top_row["unit_kind"] if top_row else None)


def _registered(row: dict[str, Any]) -> UnitFacts:
    return UnitFacts(
        row["path"],
        row["code"],
        row["level"],
        row["unit_kind"],
        row["name"],
        row["subject_category"],
        row["emulation_bloc"],
        row["agency_type"],
    )


def name_at(catalog: AdminUnitCatalog, path: str, unit: UnitFacts) -> str | None:
    """Display name of an org unit on ``unit``'s lineage (official names from the list, else the unit's own)."""
    if path == unit.path:
        return unit.name
    found = official(catalog, OrgPath(path).code)
    return found.name if found is not None and found.path == path else None
