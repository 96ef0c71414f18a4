"""A unit's guidance, composed at query time from a handful of indexed lookups along its ancestor paths."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import Connection

from services.awards import AuthorityMatrix
from services.kernel.adminunits import AdminUnitCatalog
from services.kernel.errors import UnknownOrgUnit
from services.kernel.labels import OCCASIONS
from services.planning.occasions import plan_occasions

from . import queries, units, views
from .duties import binding_duties, schedule
from .offers import offers, placement


def _chain_order(plan: dict[str, Any]) -> tuple[int, date, str]:
    return plan["issuer_path"].count("/"), plan["issue_date"] or date.max, plan["plan_id"]


def guidance(
    conn: Connection, catalog: AdminUnitCatalog, matrix: AuthorityMatrix, code: str, on: date
) -> dict[str, Any]:
    """Everything the unit ``code`` is asked to do on ``on``; raises UnknownOrgUnit."""
    unit = units.resolve(conn, catalog, code)
    if unit is None:
        raise UnknownOrgUnit(code)
    plans = sorted(queries.plans_issued_at(conn, unit.lineage), key=_chain_order)
    chain = [p["plan_id"] for p in plans]
    criteria = queries.criteria_of(conn, chain)
    indicators = views.indicator_index(criteria)
    issuers = {p["plan_id"]: p["issuer_path"] for p in plans}
    return {
        "unit": views.unit_view(unit),
        "on": on.isoformat(),
        "plans": [views.plan_view(p, unit, on) for p in plans],
        "criteria": [
            views.criteria_view(c, unit, issuers.get(c["plan_id"]))
            for c in criteria
            if c["subject_category"] == unit.subject_category
        ],
        "targets": [views.target_view(t, indicators, chain) for t in queries.targets_of(conn, unit.path)],
        "reporting_duties": _duties(plans, unit, queries.reports_of(conn, unit.path), on),
        "award_forms": _awards(plans, unit, catalog, matrix, on),
        "guidance_documents": [views.document_view(d) for d in queries.documents_for(conn, unit.lineage)],
    }


def _duties(
    plans: list[dict[str, Any]], unit: units.UnitFacts, reports: list[dict[str, Any]], on: date
) -> list[dict[str, Any]]:
    by_plan: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for report in reports:
        by_plan[report["plan_id"]][report["period"]] = report
    return [
        views.duty_view(plan["plan_id"], duty, schedule(duty, plan["phases"], by_plan[plan["plan_id"]], on))
        for plan in plans
        for duty in binding_duties(plan, unit)
    ]


def _awards(
    plans: list[dict[str, Any]], unit: units.UnitFacts, catalog: AdminUnitCatalog, matrix: AuthorityMatrix, on: date
) -> list[dict[str, Any]]:
    names = {path: units.name_at(catalog, path, unit) for path in unit.lineage}
    occasion_order = {o: i for i, o in enumerate(OCCASIONS)}
    where = placement(matrix, unit, on)
    dated = {p["plan_id"]: [o.as_dict() for o in plan_occasions(p["phases"])] for p in plans}
    found = [(i, o) for i, plan in enumerate(plans) for o in offers(plan, unit, matrix, on)]
    found.sort(key=lambda pair: (pair[0], occasion_order.get(pair[1].occasion, len(occasion_order))))
    return [views.offer_view(o, where, names, dated[o.plan_id]) for _, o in found]
