"""The rollup's answers as the API and the web app show them (one place, so both show the same numbers): a
subtree's summary for a period, its children's plans, one drill-down page, report rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from services.kernel.labels import LEVELS, REPORT_STATES, label
from services.kernel.orgpaths import OrgPath

from . import codes, figures, queries

STATUS_LABELS = {**REPORT_STATES, "NONE": "Không thuộc diện phải báo cáo"}


def unit_ref(unit: dict[str, Any]) -> dict[str, Any]:
    """An org unit as a rollup answer names it: code, path, name, level (with its label), kind."""
    keys = ("code", "path", "name", "level", "kind")
    return {**{k: unit.get(k) for k in keys}, "level_label": label(LEVELS, unit.get("level"))}


def numbers(counts: dict[str, int], period: str) -> dict[str, Any]:
    """Reports, registrations and own targets of a subtree from its counters."""
    return {
        "reports": figures.reporting(counts),
        "registration": figures.registration(counts, period),
        "own_targets": figures.own_targets(counts),
    }


def indicators(conn: Connection, path: str, period: str, plan: str, catalog: codes.CodeCatalog) -> list[Any]:
    """The subtree's indicators by code, each with the definitions its plans resolve the code to."""
    rows = queries.indicators_by_code(conn, path, period, plan)
    variants = codes.subtree_variants(conn, path, period, plan, [r["indicator_code"] for r in rows], catalog)
    return [figures.indicator_by_code(row, variants[row["indicator_code"]]) for row in rows]


def child_plans(conn: Connection, path: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Plans of the direct children and each child's best state; official children without one are not issued."""
    plans = [figures.child_plan(p) for p in queries.child_plans(conn, path)]
    by_child: dict[str, list[dict[str, Any]]] = {}
    for plan in plans:
        by_child.setdefault(plan["issuer_path"], []).append(plan)
    states = {child: figures.best_state(found) for child, found in by_child.items()}
    official = [c for c, s in states.items() if OrgPath(c).level != "UNIT" and s in figures.ISSUED_STATES]
    expected = queries.official_children(conn, path)
    summary = {
        "children": expected,
        "issued": sum(s in figures.ISSUED_STATES for s in states.values()),
        "on_time": sum(s == "ON_TIME" for s in states.values()),
        "late": sum(s == "LATE" for s in states.values()),
        "drafts": sum(s == "DRAFT" for s in states.values()),
        "not_issued": max(expected - len(official), 0),
    }
    return {**summary, "items": plans}, states


def summary(
    conn: Connection, unit: dict[str, Any], period: str, plan: str, catalog: codes.CodeCatalog
) -> tuple[dict[str, Any], dict[str, str]]:
    """A subtree's numbers for the period (reports, registrations, own targets, its own reports, indicators by
    code, child plans), and each child's plan state (for a drill-down)."""
    path = unit["path"]
    counts = queries.counts(conn, [path], period, plan)[path]
    plans, states = child_plans(conn, path)
    body = {
        "org_unit": unit_ref(unit),
        "period": period,
        "period_label": figures.period_label(period),
        **numbers(counts, period),
        "own": figures.reporting(queries.own_counts(conn, path, period, plan)),
        "indicators": indicators(conn, path, period, plan, catalog),
        "child_plans": plans,
    }
    return body, states


def drill_down(
    conn: Connection,
    unit: dict[str, Any],
    period: str,
    plan: str,
    level: str | None,
    states: dict[str, str],
    after: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to ``limit + 1`` children of the unit (direct ones, or of ``level``) after the path ``after``, each with
    its numbers and plan state."""
    rows = queries.children(conn, unit["path"], level, after, limit)
    counts = queries.counts(conn, [r["path"] for r in rows], period, plan)
    items = []
    for row in rows:
        state = states.get(row["path"], "NOT_ISSUED")
        plan_state = {"plan_state": state, "plan_state_label": figures.PLAN_STATES[state]}
        items.append({**unit_ref(row), **numbers(counts[row["path"]], period), **plan_state})
    return items


def report_entry(row: dict[str, Any]) -> dict[str, Any]:
    """One unit's report slot for the period: deadline, status, version, review, registration."""
    deadline = row["report_deadline"] if row["version"] is not None else row["due_date"]
    return {
        "unit_path": row["unit_path"],
        "plan_id": row["plan_id"],
        "org_unit": unit_ref(
            {**row, "path": row["unit_path"], "code": row["code"] or row["unit_path"].rsplit("/")[-1]}
        ),
        "period": row["period"],
        "report_id": row["report_id"],
        "expected": row["expected"],
        "duty_code": row["duty_code"],
        "deadline": deadline.isoformat() if deadline else None,
        "status": row["status"],
        "status_label": label(STATUS_LABELS, row["status"]),
        "version": row["version"],
        "submitted_at": row["submitted_at"].isoformat() if row["submitted_at"] else None,
        "review": row["outcome"],
        "review_label": label(REPORT_STATES, row["outcome"]),
        "registered": row["targets"] is not None,
        "own_targets_met": row["own_met"],
    }
