"""Aggregation upward: a subtree's reporting numbers for a period, drill-down one level, and the report list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import Connection

from projections.rollup import codes, figures, queries, views
from projections.rollup.evolve import ALL_PLANS
from services.api.asof import ReadAt, Reading
from services.api.pagination import (
    DEFAULT_LIMIT,
    DRILL_DOWN,
    MAX_LIMIT,
    REPORTS,
    ROLLUP_INDICATORS,
    Cursors,
    page,
)
from services.api.problems import READ_RESPONSES
from services.api.security import Caller, Principal, current_principal, require_within
from services.bootstrap import Node
from services.kernel.errors import DomainRefusal, Kind, UnknownOrgUnit
from services.reporting.model import period_kind

LEVEL_RANK = {"CENTRAL": 0, "PROVINCE": 1, "COMMUNE": 2, "UNIT": 3}
BELOW = "PROVINCE, COMMUNE, UNIT (below the unit)"
PERIOD_HELP = "Kỳ báo cáo / period: 2026, SO_KET_2027, TONG_KET_2030"


def _refusal(code: str, what: tuple[str, str], value: str, allowed: str) -> DomainRefusal:
    vi, en = what
    message_en = f"Invalid {en} '{value}'; allowed: {allowed}."
    message_vi = f"{vi} '{value}' không hợp lệ; cho phép: {allowed}."
    return DomainRefusal(code, Kind.INVALID, message_vi, message_en, value=value)


def _period(period: str) -> str:
    if period_kind(period) is None:
        raise _refusal("INVALID_PERIOD", ("Kỳ báo cáo", "period"), period, "2026, SO_KET_2027, TONG_KET_2030")
    return period


def subtree(reading: Reading, code: str, principal: Principal) -> str | None:
    """For a read as of a past time, the subtree the rebuild needs (the unit's path, from the live tables: a path
    never changes), checked against the caller's subtree before anything is built; None for a live read."""
    if not reading.rebuilt:
        return None
    with reading.cache.engine.connect() as conn:
        return str(unit_in_scope(conn, code, principal)["path"])


def unit_in_scope(conn: Connection, code: str, principal: Principal) -> dict[str, Any]:
    """The rollup's org unit ``code`` if it lies in the caller's subtree (404 UNKNOWN_ORG_UNIT, 403 OUT_OF_SUBTREE)."""
    unit = queries.unit_by_code(conn, code)
    if unit is None:
        raise UnknownOrgUnit(code)
    require_within(principal, unit["path"])
    return unit


def _drill_level(unit: dict[str, Any], level: str) -> str | None:
    """None for every direct child; else a level below the unit's (units may sit under units)."""
    if level.lower() == "children":
        return None
    wanted = level.upper()
    if wanted not in LEVEL_RANK or (LEVEL_RANK[wanted] <= LEVEL_RANK[unit["level"]] and wanted != "UNIT"):
        raise _refusal("INVALID_LEVEL", ("Cấp xem chi tiết", "drill-down level"), level, "children, " + BELOW)
    return wanted


def _drill_down(
    conn: Connection, unit: dict[str, Any], period: str, plan: str, level: str, states: dict[str, str], paging: Any
) -> dict[str, Any]:
    after, limit, cursors = paging
    items = views.drill_down(
        conn, unit, period, plan, _drill_level(unit, level), states, after[0] if after else None, limit
    )
    return {"level": level, **page(items, limit, ("path",), cursors, DRILL_DOWN)}


def router(node: Node) -> APIRouter:
    """GET /org-units/{code}/rollup, /org-units/{code}/rollup/indicators and /org-units/{code}/reports."""
    catalog = codes.CodeCatalog()
    api = APIRouter(
        prefix="/api/v1", tags=["rollup"], responses=READ_RESPONSES, dependencies=[Depends(current_principal)]
    )

    @api.get("/org-units/{code}/rollup")
    def get_rollup(
        code: str,
        principal: Caller,
        reading: ReadAt,
        cursors: Cursors,
        period: str = Query(..., description=PERIOD_HELP),
        level: str | None = Query(None, description="Xem chi tiết một cấp / drill-down: children, COMMUNE, UNIT…"),
        plan_id: str | None = None,
        cursor: str | None = None,
        limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    ) -> dict[str, Any]:
        """Số liệu tổng hợp của cây đơn vị trong kỳ / the subtree's numbers for the period (all plans, or one):
        reports, registrations, own targets, **indicators by code** (summed over the subtree's plans, with the
        definition they resolve each code to: ``definitions`` distinct ones, ``consistent`` false and null fields
        where they disagree), child plans, and one row per direct child on drill-down (``level``). Per-plan
        indicator rows: ``/org-units/{code}/rollup/indicators`` (paged)."""
        plan = plan_id or ALL_PLANS
        with reading.connect(["rollup"], subtree(reading, code, principal)) as conn:
            unit = unit_in_scope(conn, code, principal)
            found, states = views.summary(conn, unit, _period(period), plan, catalog)
            body = {**found, "plan_id": plan_id}
            if level is not None:
                paging = (cursors.decode(DRILL_DOWN, cursor), limit, cursors)
                body["drill_down"] = _drill_down(conn, unit, period, plan, level, states, paging)
        return reading.stamp(body)

    @api.get("/org-units/{code}/rollup/indicators")
    def get_rollup_indicators(
        code: str,
        principal: Caller,
        reading: ReadAt,
        cursors: Cursors,
        period: str = Query(..., description=PERIOD_HELP),
        plan_id: str | None = Query(None, description="Một kế hoạch / one plan"),
        indicator_code: str | None = Query(None, description="Một mã chỉ tiêu / one indicator code"),
        cursor: str | None = None,
        limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    ) -> dict[str, Any]:
        """Chỉ tiêu của cây đơn vị theo từng kế hoạch / the subtree's indicators per plan and code, by plan then
        code (keyset pages), each with the definition that plan's reports resolve the code to."""
        with reading.connect(["rollup"], subtree(reading, code, principal)) as conn:
            unit = unit_in_scope(conn, code, principal)
            after, path = cursors.decode(ROLLUP_INDICATORS, cursor), unit["path"]
            rows = queries.indicator_plans(conn, path, _period(period), plan_id, indicator_code, after, limit)
        body = page(
            [figures.indicator(r) for r in rows], limit, ("plan_id", "indicator_code"), cursors, ROLLUP_INDICATORS
        )
        head = {"org_unit": views.unit_ref(unit), "period": period, "period_label": figures.period_label(period)}
        return reading.stamp({**head, "plan_id": plan_id, "indicator_code": indicator_code, **body})

    @api.get("/org-units/{code}/reports")
    def get_reports(
        code: str,
        principal: Caller,
        reading: ReadAt,
        cursors: Cursors,
        period: str = Query(..., description=PERIOD_HELP),
        status: str | None = Query(None, description="missing | late | on_time | submitted | returned"),
        plan_id: str | None = None,
        cursor: str | None = None,
        limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    ) -> dict[str, Any]:
        """Units of the subtree and the state of their report for the period, by unit path then plan."""
        if status is not None and status not in queries.STATUS_FILTERS:
            raise _refusal("INVALID_STATUS", ("Trạng thái", "status"), status, ", ".join(queries.STATUS_FILTERS))
        after = cursors.decode(REPORTS, cursor)
        with reading.connect(["rollup"], subtree(reading, code, principal)) as conn:
            unit = unit_in_scope(conn, code, principal)
            rows = queries.reports(conn, unit["path"], _period(period), status, plan_id, after, limit)
        body = page([views.report_entry(r) for r in rows], limit, ("unit_path", "plan_id"), cursors, REPORTS)
        return reading.stamp({"org_unit": views.unit_ref(unit), "period": period, "status": status, **body})

    return api
