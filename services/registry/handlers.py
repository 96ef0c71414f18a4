"""Handlers of the registry context."""

from __future__ import annotations

import unicodedata

from services.kernel.adminunits import AdminUnitCatalog
from services.kernel.contracts import OrgUnitRegistered
from services.kernel.errors import OrgUnitExists, UnknownOrgUnit, VersionConflict
from services.kernel.events import decode_event
from services.kernel.orgpaths import OrgPath
from services.kernel.store import AppendResult, EventStore, NewEvent

from .commands import RegisterOrgUnit


def org_unit_stream(code: str) -> str:
    """Stream of a registered unit; one per code, so a code is registered once per node."""
    return f"orgunit-{code}"


def parent_exists(path: OrgPath, store: EventStore, official: AdminUnitCatalog) -> bool:
    """Whether ``path`` names the root, an official province/commune at its place, or a registered unit."""
    if path.level == "CENTRAL":
        return True
    if path.level in ("PROVINCE", "COMMUNE"):
        if path.code not in official:
            return False
        unit = official.get(path.code)
        return (unit.parent_code or None) == (path.parts[1] if path.level == "COMMUNE" else None)
    events = store.read_stream(org_unit_stream(path.code))
    if not events:
        return False
    first = decode_event(events[0].body, store.codec, {"OrgUnitRegistered": OrgUnitRegistered})
    return first.data["unit"]["path"] == path.value


def register_org_unit(cmd: RegisterOrgUnit, store: EventStore, official: AdminUnitCatalog) -> AppendResult:
    """Append ``OrgUnitRegistered`` if the parent exists and the code is free on this node."""
    parent = OrgPath.parse(cmd.parent_path)
    path = parent.child(cmd.code)
    if not parent_exists(parent, store, official):
        raise UnknownOrgUnit(parent.value)
    if cmd.code in official:
        raise OrgUnitExists(cmd.code)
    unit = {"code": cmd.code, "path": path.value, "level": "UNIT", "name": unicodedata.normalize("NFC", cmd.name)}
    payload = {
        "unit": unit,
        "parent_path": parent.value,
        "name": unit["name"],
        "unit_kind": cmd.unit_kind,
        "subject_category": cmd.subject_category,
        "emulation_bloc": cmd.emulation_bloc,
        "valid_from": cmd.valid_from,
    }
    new = NewEvent(
        "OrgUnitRegistered",
        payload,
        unit,
        cmd.actor,
        cmd.occurred_at,
        **({"event_id": cmd.event_id} if cmd.event_id else {}),
        correlation_id=cmd.correlation_id,
    )
    try:
        return store.append(org_unit_stream(cmd.code), 0, [new])
    except VersionConflict as exc:
        raise OrgUnitExists(cmd.code) from exc
