"""The plan aggregate, folded from its stream (PlanIssued, PlanNumberAssigned, PlanAmended, CriteriaRegistered)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import singledispatch
from typing import Any

from services.kernel.contracts import (
    AwardAllowance,
    CriteriaRegistered,
    CriteriaRegisteredData,
    OrgUnitRef,
    PlanAmended,
    PlanIssued,
    PlanNumberAssigned,
    PlanPeriod,
    PlanPhase,
    ReportingDuty,
)
from services.kernel.events import Event, fold_events

# A plan's award forms name a form code or a code of services/awards/allowance_codes.csv ("Giấy khen", "theo thẩm
# quyền", "cấp trên", HCLĐ of no stated class), resolved against the authority matrix.


def plan_stream(plan_id: str) -> str:
    """Stream id of a plan (its criteria live in the same stream)."""
    return f"plan-{plan_id}"


@dataclass(frozen=True)
class Plan:
    """What the rules need to know of a plan."""

    plan_id: str
    issuer: OrgUnitRef
    document_number: str | None
    document_symbol: str
    issue_date: date | None
    title: str
    implements: list[str]
    phases: list[PlanPhase]
    duties: list[ReportingDuty]
    award_forms: list[AwardAllowance]
    criteria: list[CriteriaRegisteredData] = field(default_factory=list)
    amendments: int = 0
    version: int = 0
    period: PlanPeriod | None = None  # the movement's span as stated (giai đoạn 2026 – 2030)

    @property
    def issuer_path(self) -> str:
        """Path of the issuing org unit."""
        return str(self.issuer["path"])

    @property
    def is_draft(self) -> bool:
        """A draft has no document number yet."""
        return self.document_number is None

    def span(self) -> tuple[date, date] | None:
        """First and last day of the plan's phases, else of its stated period (a plan known only from citations)."""
        if self.phases:
            return min(p["start_date"] for p in self.phases), max(p["end_date"] for p in self.phases)
        if self.period:
            return self.period["start_date"], self.period["end_date"]
        return None

    def indicators(self) -> dict[str, Mapping[str, Any]]:
        """Every indicator of the plan's criteria, by code, and each of their conditions ("trong đó ≥ 50 % …") as a
        measure of its own (code LC-26.1), whose target belongs to the same units as its indicator's."""
        found: dict[str, Mapping[str, Any]] = {}
        for c in self.criteria:
            for item in c["items"]:
                for i in item["indicators"]:
                    found[i["code"]] = i
                    for condition in i.get("conditions") or []:
                        found[condition["code"]] = {
                            **condition,
                            "scope": i.get("scope"),
                            "scope_kinds": i.get("scope_kinds"),
                        }
        return found


@singledispatch
def evolve(event: Event, plan: Plan | None) -> Plan | None:
    """Events of other aggregates leave the plan as it is."""
    return plan


@evolve.register
def _issued(event: PlanIssued, plan: Plan | None) -> Plan:
    d = event.data
    return Plan(
        d["plan_id"],
        d["issuer"],
        d["document_number"],
        d["document_symbol"],
        d["issue_date"],
        d["title"],
        list(d["implements"]),
        list(d["phases"]),
        list(d["reporting_duties"]),
        list(d["award_forms"]),
        version=event.meta["stream_version"],
        period=d.get("period"),
    )


@evolve.register
def _numbered(event: PlanNumberAssigned, plan: Plan | None) -> Plan:
    assert plan is not None
    return replace(
        plan,
        document_number=event.data["document_number"],
        issue_date=event.data["issue_date"],
        version=event.meta["stream_version"],
    )


@evolve.register
def _amended(event: PlanAmended, plan: Plan | None) -> Plan:
    assert plan is not None
    d = event.data
    return replace(
        plan,
        amendments=d["amendment_no"],
        title=d["title"] or plan.title,
        phases=list(d["phases"]) if d["phases"] is not None else plan.phases,
        version=event.meta["stream_version"],
    )


@evolve.register
def _criteria(event: CriteriaRegistered, plan: Plan | None) -> Plan:
    assert plan is not None
    return replace(plan, criteria=[*plan.criteria, event.data.copy()], version=event.meta["stream_version"])


def fold(events: list[Event]) -> Plan | None:
    """The plan after its events (None if it does not exist)."""
    return fold_events(evolve, events)
