"""Pure evolution of the award pipeline: ``evolve(event, row) -> row``, plus the history step and the registry
entry an event adds. No I/O; redeliveries (a stream version already applied) leave everything unchanged."""

from __future__ import annotations

from dataclasses import replace
from functools import singledispatch
from typing import Any

from services.kernel.contracts import (
    AwardDecided,
    AwardForwarded,
    AwardProposed,
    AwardReturned,
    Nominee,
    OrgUnitRef,
    RouteStep,
)
from services.kernel.events import Event

from .rows import ProposalRow


def unit_fields(prefix: str, ref: OrgUnitRef | None) -> dict[str, Any]:
    """An OrgUnitRef flattened into ``<prefix>_code``, ``_path``, ``_name``."""
    if ref is None:
        return {f"{prefix}_code": None, f"{prefix}_path": None, f"{prefix}_name": None}
    return {f"{prefix}_code": ref["code"], f"{prefix}_path": ref["path"], f"{prefix}_name": ref.get("name")}


def nominee_fields(nominee: Nominee) -> dict[str, Any]:
    """The nominee (cá nhân, tập thể, hộ gia đình) and its org unit."""
    unit = nominee["org_unit"]
    return {
        "nominee_kind": nominee["kind"],
        "nominee_name": nominee["name"],
        "nominee_code": unit["code"],
        "nominee_path": unit["path"],
        "nominee_unit_name": unit.get("name"),
    }


def holder_fields(route: list[RouteStep], index: int) -> dict[str, Any]:
    """The holder columns for ``route[index]`` (index, org unit, level, role, authority)."""
    step = route[index]
    return {
        "holder_index": index,
        **unit_fields("holder", step["org_unit"]),
        "holder_level": step["org_unit"]["level"],
        "holder_role": step["role"],
        "holder_authority": step.get("authority"),
    }


def is_next(event: Event, state: ProposalRow | None) -> bool:
    """Whether ``event`` is the next fact of its proposal (not a redelivery, not an orphan of an unknown one)."""
    if state is None:
        return isinstance(event, AwardProposed)
    return not isinstance(event, AwardProposed) and int(event.meta["stream_version"]) > state.version


@singledispatch
def evolve(event: Event, state: ProposalRow | None) -> ProposalRow | None:
    """Events this read model does not know leave it unchanged."""
    return state


@evolve.register
def _proposed(event: AwardProposed, state: ProposalRow | None) -> ProposalRow | None:
    if not is_next(event, state):
        return state
    d, when = event.data, event.occurred_at
    route = list(d["route"]) or [RouteStep(org_unit=d["proposer"], role="PROPOSE", authority=None)]
    decider = route[-1]
    return ProposalRow(
        proposal_id=d["proposal_id"],
        plan_id=d.get("plan_id"),
        form_code=d["form_code"],
        occasion=d["occasion"],
        **nominee_fields(d["nominee"]),
        **unit_fields("proposer", d["proposer"]),
        achievements=d["achievements"],
        route=route,
        **unit_fields("decider", decider["org_unit"]),
        decider_authority=d.get("decider_authority") or decider.get("authority"),
        proposed_at=when,
        **holder_fields(route, 0),
        held_since=when,
        state="PENDING",
        state_entered_at=when,
        prerequisites=list(d.get("prerequisites") or []),
        warnings=list(d.get("warnings") or []),
        version=int(event.meta["stream_version"]),
        event_id=event.event_id,
        occasion_period=d.get("occasion_period"),
    )


def _moved(event: Event, row: ProposalRow, index: int, **changes: Any) -> ProposalRow:
    """The proposal held at ``route[index]`` from the event's business time on."""
    index = max(0, min(index, len(row.route) - 1))
    held = row.held_since if index == row.holder_index else event.occurred_at
    return replace(
        row,
        **holder_fields(row.route, index),
        held_since=held,
        version=int(event.meta["stream_version"]),
        event_id=event.event_id,
        **changes,
    )


@evolve.register
def _forwarded(event: AwardForwarded, state: ProposalRow | None) -> ProposalRow | None:
    if state is None or not is_next(event, state):
        return state
    return _moved(event, state, state.holder_index + 1)


@evolve.register
def _returned(event: AwardReturned, state: ProposalRow | None) -> ProposalRow | None:
    if state is None or not is_next(event, state):
        return state
    return _moved(
        event, state, 0, state="RETURNED", state_entered_at=event.occurred_at, closing_reason=event.data["reason"]
    )


@evolve.register
def _decided(event: AwardDecided, state: ProposalRow | None) -> ProposalRow | None:
    if state is None or not is_next(event, state):
        return state
    d = event.data
    return _moved(
        event,
        state,
        state.holder_index,
        state=d["outcome"],
        state_entered_at=event.occurred_at,
        decision_number=d.get("decision_number"),
        decision_date=d.get("decision_date"),
        closing_reason=d.get("reason"),
    )


def target(event: Event) -> str | None:
    """The proposal an event changes, or None if it changes none."""
    if isinstance(event, AwardProposed | AwardForwarded | AwardReturned | AwardDecided):
        return str(event.data["proposal_id"])
    return None
