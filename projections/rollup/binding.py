"""Pure rules for expectations: the periods a plan spans and which duty binds a unit for a period."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from services.registry.lookup import OrgUnit
from services.reporting.model import binds, deadline, period_kind

EXPECTED_KINDS = ("ANNUAL", "SO_KET", "TONG_KET")  # periods a report is expected for; AD_HOC and others are not
Binding = tuple[str, date | None]  # (duty code, deadline of the period)


def plan_periods(phases: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every year the phases span, then one SO_KET_/TONG_KET_<year> per phase review (a plan without phases: none)."""
    phases = list(phases)
    if not phases:
        return []
    first = min(p["start_date"] for p in phases).year
    last = max(p["end_date"] for p in phases).year
    reviews = [f"{p['review']}_{p['end_date'].year}" for p in phases if p.get("review") in ("SO_KET", "TONG_KET")]
    return [str(year) for year in range(first, last + 1)] + sorted(set(reviews))


def unit_view(path: str, code: str, level: str, kind: str, name: str | None) -> OrgUnit:
    """The write side's view of a unit, so the projection binds exactly as ``SubmitReport`` does."""
    return OrgUnit({"code": code, "path": path, "level": level, "name": name}, kind)


def bind(duties: Sequence[dict[str, Any]], unit: OrgUnit, period: str) -> Binding | None:
    """The first duty of the plan for the period's kind that binds ``unit``, with its deadline; None if none."""
    kind_year = period_kind(period)
    if kind_year is None or kind_year[0] not in EXPECTED_KINDS:
        return None
    for duty in duties:
        if duty["period"] == kind_year[0] and binds(duty, unit):
            return str(duty["code"]), deadline(duty, kind_year[1])
    return None


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
