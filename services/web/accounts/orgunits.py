"""Org units named by code (``15``, ``02683``, ``DN-BATXAT``, ``VN``) or path, resolved on the write side: official
provinces and communes from the reference list, registered units from their events (no read model needed)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from services.kernel.adminunits import AdminUnitCatalog
from services.kernel.errors import InvalidOrgPath
from services.kernel.events import Event
from services.kernel.orgpaths import ROOT
from services.kernel.store import EventStore
from services.kernel.uow import UnitOfWork
from services.registry.lookup import find_org_unit, org_unit_stream

Found = tuple[str, str]  # (path, name)


def official_path(official: AdminUnitCatalog, code: str) -> str | None:
    """The path of an official province or commune code, or None."""
    if code not in official:
        return None
    unit = official.get(code)
    return f"{ROOT}/{unit.parent_code}/{unit.code}" if unit.parent_code else f"{ROOT}/{unit.code}"


def resolve_many(
    store: EventStore, types: Mapping[str, type[Event]], official: AdminUnitCatalog, refs: Iterable[str]
) -> dict[str, Found | None]:
    """``(path, name)`` of the org unit each of ``refs`` names (None when there is none), in one read."""
    wanted = sorted({r.strip() for r in refs})
    with UnitOfWork(store, types) as uow:
        return {ref: _one(uow, official, ref) for ref in wanted}


def _one(uow: UnitOfWork, official: AdminUnitCatalog, ref: str) -> Found | None:
    if not ref:
        return None
    if "/" in ref or ref == ROOT:
        try:
            found = find_org_unit(uow, official, ref)
        except InvalidOrgPath:
            return None
        return (found.ref["path"], found.ref.get("name") or ref) if found else None
    path = official_path(official, ref)
    if path is not None:
        return path, official.get(ref).name
    events = uow.stream(org_unit_stream(ref))
    if not events:
        return None
    unit = events[0].data["unit"]
    return unit["path"], unit.get("name") or ref
