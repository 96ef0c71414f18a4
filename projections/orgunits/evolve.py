"""Pure evolution of one org unit's row: ``evolve(event, state) -> state``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import singledispatch

from services.kernel.contracts import OrgUnitRegistered
from services.kernel.events import Event


@dataclass(frozen=True)
class OrgUnitRow:
    """One org unit as the read model shows it."""

    path: str
    code: str
    parent_path: str | None
    level: str
    unit_type: str
    name: str
    subject_category: str | None
    emulation_bloc: str | None
    depth: int
    agency_type: str | None
    valid_from: date | None
    source: str
    event_id: str | None = None
    position: int | None = None


@singledispatch
def evolve(event: Event, state: OrgUnitRow | None) -> OrgUnitRow | None:
    """Events this read model does not know leave it unchanged."""
    return state


@evolve.register
def _registered(event: OrgUnitRegistered, state: OrgUnitRow | None) -> OrgUnitRow | None:
    if state is not None:  # a duplicate delivery or a second registration: the first one stands
        return state
    unit = event.data["unit"]
    return OrgUnitRow(
        path=unit["path"],
        code=unit["code"],
        parent_path=event.data["parent_path"],
        level=unit["level"],
        unit_type=event.data["unit_kind"],
        name=event.data["name"],
        subject_category=event.data.get("subject_category"),
        emulation_bloc=event.data.get("emulation_bloc"),
        depth=unit["path"].count("/"),
        agency_type=event.data.get("agency_type"),
        valid_from=event.data.get("valid_from"),
        source="EVENT",
        event_id=event.event_id,
        position=event.position,
    )


def target_path(event: Event) -> str | None:
    """The path of the row an event changes, or None if it changes none."""
    if isinstance(event, OrgUnitRegistered):
        return str(event.data["unit"]["path"])
    return None
