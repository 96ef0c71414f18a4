"""Reporting duties (chế độ báo cáo) that bind a unit, with the current and next periods and their state.

Periods: ANNUAL duties report each year of the plan's span ("2026"); SO_KET / TONG_KET duties report at the plan's
occasions of that kind ("SO_KET_2027", with the occasion's dates). The current period is the first whose year is not
before the day asked (else the last one); earlier periods still missing are listed as overdue. Where several duties
of one period kind bind a unit, the most specific governs (``services.reporting.model.binding_duty``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from services.kernel.contracts import ReportingDuty
from services.planning.occasions import REVIEW_KINDS, Occasion, plan_occasions
from services.reporting.model import binding_duty, deadline

from .units import UnitFacts


@dataclass(frozen=True)
class Period:
    """One reporting period of a duty and its deadline (None when the plan states none)."""

    period: str
    year: int
    deadline: date | None
    occasion: Occasion | None = None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _year(iso_day: str) -> int:
    return date.fromisoformat(iso_day).year


def rule_view(duty: dict[str, Any]) -> dict[str, Any]:
    """The duty as ``services.reporting.model`` expects it (dates as dates)."""
    return {**duty, "deadline_date": _day(duty.get("deadline_date"))}


def binding_duties(plan: dict[str, Any], unit: UnitFacts) -> list[dict[str, Any]]:
    """The plan's duties that govern ``unit``, one per period kind (the write side's own rule)."""
    org_unit, duties = unit.as_org_unit(), [rule_view(d) for d in plan["duties"]]
    contract = cast("list[ReportingDuty]", duties)  # the stored JSON of the event's duties, dates as dates
    governing: dict[str, object] = {
        k: binding_duty(contract, org_unit, k) for k in dict.fromkeys(d["period"] for d in duties)
    }
    return [d for d in duties if governing[d["period"]] is d]


def periods(duty: dict[str, Any], phases: list[dict[str, Any]], on: date) -> list[Period]:
    """Every period of ``duty`` within the plan's phases, oldest first."""
    kind = duty["period"]
    if kind == "ANNUAL":
        if phases:
            first, last = min(_year(p["start_date"]) for p in phases), max(_year(p["end_date"]) for p in phases)
        else:  # a plan without phases: this year and the next
            first, last = on.year, on.year + 1
        return [Period(str(y), y, deadline(cast(ReportingDuty, duty), y)) for y in range(first, last + 1)]
    if kind in REVIEW_KINDS:
        found = [o for o in plan_occasions(phases) if o.kind == kind]
        return [Period(o.code, o.year, deadline(cast(ReportingDuty, duty), o.year), o) for o in found]
    return []


def state(report: dict[str, Any] | None, due: date | None, on: date) -> str:
    """SUBMITTED, LATE, RETURNED, MISSING, DUE or NOT_SUBMITTED."""
    if report is not None:
        if report["outcome"] == "RETURNED":
            return "RETURNED"
        return "LATE" if report["late"] else "SUBMITTED"
    if due is None:
        return "NOT_SUBMITTED"
    return "MISSING" if on > due else "DUE"


def schedule(
    duty: dict[str, Any], phases: list[dict[str, Any]], reports: dict[str, dict[str, Any]], on: date
) -> dict[str, Any]:
    """The current and next periods of ``duty`` and the earlier ones still missing, each with its state."""
    found = periods(duty, phases, on)
    if not found:
        return {"current": None, "next": None, "overdue": []}
    index = next((i for i, p in enumerate(found) if p.year >= on.year), len(found) - 1)

    def entry(p: Period) -> dict[str, Any]:
        return {"period": p, "state": state(reports.get(p.period), p.deadline, on), "report": reports.get(p.period)}

    earlier = [entry(p) for p in found[:index]]
    return {
        "current": entry(found[index]),
        "next": entry(found[index + 1]) if index + 1 < len(found) else None,
        "overdue": [e for e in earlier if e["state"] == "MISSING"],
    }
