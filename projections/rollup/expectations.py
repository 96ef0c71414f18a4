"""Pure rules for expectations: the periods a plan spans and which duty binds a unit for a period."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, cast

from services.kernel.contracts import ReportingDuty
from services.planning.occasions import plan_occasions
from services.registry.lookup import OrgUnit, unit_ref
from services.reporting.model import binding_duty, deadline, period_kind

EXPECTED_KINDS = ("ANNUAL", "SO_KET", "TONG_KET")  # periods a report is expected for; AD_HOC and others are not
Binding = tuple[str, date | None]  # (duty code, deadline of the period)


def plan_periods(phases: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every year the phases span, then each occasion (SO_KET_2027, TONG_KET_2030; a plan without phases: none)."""
    phases = list(phases)
    if not phases:
        return []
    first = min(p["start_date"] for p in phases).year
    last = max(p["end_date"] for p in phases).year
    return [str(year) for year in range(first, last + 1)] + sorted({o.code for o in plan_occasions(phases)})


def unit_view(
    path: str,
    code: str,
    level: str,
    kind: str,
    name: str | None,
    agency_type: str | None = None,
    blocs: tuple[tuple[str, str], ...] = (),
) -> OrgUnit:
    """The write side's view of a unit, so the projection binds exactly as ``SubmitReport`` does."""
    return OrgUnit(unit_ref(code, path, level, name), kind, None, None, agency_type, blocs)


def memberships(blocs: Sequence[Mapping[str, Any]], path: str, declared: str | None) -> tuple[tuple[str, str], ...]:
    """(code, kind) of the province's blocs that list ``path``, or that the unit was registered in."""
    return tuple((b["bloc_code"], b["kind"]) for b in blocs if path in b["members"] or b["bloc_code"] == declared)


def bind(duties: Sequence[dict[str, Any]], unit: OrgUnit, period: str) -> Binding | None:
    """The duty of the period's kind that governs ``unit`` (the most specific), with its deadline; None if none."""
    kind_year = period_kind(period)
    if kind_year is None or kind_year[0] not in EXPECTED_KINDS:
        return None
    duty = binding_duty(cast("Sequence[ReportingDuty]", duties), unit, kind_year[0])  # stored ReportingDuty JSON
    return (str(duty["code"]), deadline(duty, kind_year[1])) if duty is not None else None


def duty_scope(duty: Mapping[str, Any], issuer_path: str) -> str:
    """The subtree a duty binds in: its ``reporter_under``, else the issuer's subtree."""
    return str(duty.get("reporter_under") or issuer_path)


def duty_to_json(duty: Mapping[str, Any]) -> dict[str, Any]:
    """A duty datum with its date as an ISO string (for a JSON column)."""
    fixed = dict(duty)
    if isinstance(fixed.get("deadline_date"), date):
        fixed["deadline_date"] = fixed["deadline_date"].isoformat()
    return fixed


def duty_from_json(duty: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of ``duty_to_json``."""
    fixed = dict(duty)
    if isinstance(fixed.get("deadline_date"), str):
        fixed["deadline_date"] = date.fromisoformat(fixed["deadline_date"])
    return fixed
