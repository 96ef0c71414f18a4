"""Pure derivation of the rows an applied plan event adds besides the plan row: parents, amendments, criteria."""

from __future__ import annotations

from functools import singledispatch

from services.kernel.contracts import CriteriaRegistered, PlanAmended, PlanIssued
from services.kernel.events import Event

from .evolve import jsonable
from .rows import AmendmentRow, CriteriaRow, Fact, ParentRow, PlanRow


@singledispatch
def facts(event: Event, after: PlanRow) -> list[Fact]:
    """The rows an applied event adds besides the plan row (parents, an amendment, a criteria set)."""
    return []


@facts.register
def _parents(event: PlanIssued, after: PlanRow) -> list[Fact]:
    return [ParentRow(after.plan_id, parent, i) for i, parent in enumerate(dict.fromkeys(after.implements))]


@facts.register
def _amendment(event: PlanAmended, after: PlanRow) -> list[Fact]:
    d = event.data
    phases = jsonable(d["phases"]) if d.get("phases") is not None else None
    return [
        AmendmentRow(
            after.plan_id,
            int(d["amendment_no"]),
            d["reason"],
            d.get("document_number"),
            d.get("issue_date"),
            d.get("title"),
            phases,
            event.occurred_at,
            event.event_id,
        )
    ]


@facts.register
def _criteria_set(event: CriteriaRegistered, after: PlanRow) -> list[Fact]:
    d, owner = event.data, event.data["owner"]
    items = jsonable(d.get("items") or [])
    warnings = jsonable(d.get("warnings") or [])
    return [
        CriteriaRow(
            plan_id=after.plan_id,
            criteria_id=d["criteria_id"],
            seq=int(event.meta["stream_version"]),
            owner_code=owner["code"],
            owner_path=owner["path"],
            owner_name=owner.get("name"),
            subject_category=d["subject_category"],
            items=items,
            indicator_count=sum(len(item.get("indicators") or []) for item in items),
            warnings=warnings,
            warning_count=len(warnings),
            occurred_at=event.occurred_at,
            event_id=event.event_id,
        )
    ]
