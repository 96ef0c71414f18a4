"""Pure evolution of the plans read model: ``evolve(event, plan) -> plan`` (the rows an event adds: ``facts``).

No I/O. Rows of one plan come from its own stream only (the parent chain is resolved when read), so events of
different streams commute; the stored stream version makes a redelivered event a no-op.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import singledispatch
from typing import Any

from services.kernel.contracts import CriteriaRegistered, PlanAmended, PlanIssued, PlanNumberAssigned
from services.kernel.events import Event

from .rows import PlanRow


def jsonable(value: Any) -> Any:
    """``value`` with dates as ISO strings, tuples as lists (for JSON columns)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def is_next(event: Event, state: PlanRow | None) -> bool:
    """Whether ``event`` is the next fact of its plan (not a redelivery, not an orphan of an unknown plan)."""
    if state is None:
        return isinstance(event, PlanIssued)
    return not isinstance(event, PlanIssued) and int(event.meta["stream_version"]) > state.version


def _status(document_number: str | None) -> str:
    return "DRAFT" if document_number is None else "ISSUED"


@singledispatch
def evolve(event: Event, state: PlanRow | None) -> PlanRow | None:
    """Events this read model does not know leave it unchanged."""
    return state


@evolve.register
def _issued(event: PlanIssued, state: PlanRow | None) -> PlanRow | None:
    if not is_next(event, state):
        return state
    d, issuer = event.data, event.data["issuer"]
    warnings = jsonable(d.get("warnings") or [])
    return PlanRow(
        plan_id=d["plan_id"],
        issuer_code=issuer["code"],
        issuer_path=issuer["path"],
        issuer_level=issuer["level"],
        issuer_name=issuer.get("name"),
        issuer_name_printed=d.get("issuer_name"),
        document_number=d.get("document_number"),
        document_symbol=d["document_symbol"],
        issue_date=d.get("issue_date"),
        title=d["title"],
        signer_name=d.get("signer_name"),
        signer_capacity=d.get("signer_capacity"),
        status=_status(d.get("document_number")),
        plan_deadline=d.get("plan_deadline"),
        registered_at=event.occurred_at,
        numbered_at=None,
        amended_at=None,
        amendments=0,
        implements=list(d.get("implements") or []),
        phases=jsonable(d.get("phases") or []),
        content_areas=jsonable(d.get("content_areas") or []),
        duties=jsonable(d.get("reporting_duties") or []),
        award_forms=jsonable(d.get("award_forms") or []),
        criteria_owners=list(d.get("criteria_owners") or []),
        warnings=warnings,
        warning_count=len(warnings),
        period=jsonable(d.get("period")),
        document_references=jsonable(d.get("references") or []),
        version=int(event.meta["stream_version"]),
        event_id=event.event_id,
    )


def _next(event: Event, row: PlanRow, **changes: Any) -> PlanRow:
    return replace(row, version=int(event.meta["stream_version"]), event_id=event.event_id, **changes)


@evolve.register
def _numbered(event: PlanNumberAssigned, state: PlanRow | None) -> PlanRow | None:
    if state is None or not is_next(event, state):
        return state
    number = event.data["document_number"]
    return _next(
        event,
        state,
        document_number=number,
        issue_date=event.data["issue_date"],
        status=_status(number),
        numbered_at=event.occurred_at,
    )


@evolve.register
def _amended(event: PlanAmended, state: PlanRow | None) -> PlanRow | None:
    if state is None or not is_next(event, state):
        return state
    d = event.data
    return _next(
        event,
        state,
        amendments=max(state.amendments, int(d["amendment_no"])),
        amended_at=event.occurred_at,
        title=d.get("title") or state.title,
        phases=jsonable(d["phases"]) if d.get("phases") is not None else state.phases,
    )


@evolve.register
def _criteria(event: CriteriaRegistered, state: PlanRow | None) -> PlanRow | None:
    if state is None or not is_next(event, state):
        return state
    return _next(event, state)


def target(event: Event) -> str | None:
    """The plan an event changes, or None if it changes none."""
    if isinstance(event, PlanIssued | PlanNumberAssigned | PlanAmended | CriteriaRegistered):
        return str(event.data["plan_id"])
    return None
