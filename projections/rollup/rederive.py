"""Re-deriving slots: bind a plan's units period by period, re-judge slots when definitions change; every change
goes through the batch's ``Work`` (which tallies its deltas)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.reporting.model import period_kind

from .batch import Work
from .evolve import Slot, with_binding
from .expectations import Binding, bind, duty_scope


def rebind(work: Work, plan_id: str, periods: Iterable[str]) -> None:
    """Bind every unit the plan's duties reach, period by period (slots no longer bound are released)."""
    facts = work.fact_tables
    plan, duties = facts.load_plan(work.conn, plan_id), facts.load_duties(work.conn, plan_id)
    assert plan is not None
    defs = facts.definitions(work.conn, plan_id)
    reach: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}  # units under a scope, read once
    periods = list(periods)
    desired = {period: _bindings(work, plan, duties, period, reach) for period in periods}
    existing = work.slots_of(plan_id, periods)  # every period's slots in one read
    for period in periods:
        for path, binding in desired[period].items():
            if path not in existing[period]:
                work.resettle(None, with_binding(Slot(plan_id, period, path), binding), defs)
        for path, before in sorted(existing[period].items()):
            work.resettle(before, with_binding(before, desired[period].get(path)), defs)


def _bindings(
    work: Work, plan: dict[str, Any], duties: list[dict[str, Any]], period: str, reach: dict[Any, Any]
) -> dict[str, Binding]:
    """Each unit a duty of the period's kind reaches, with the binding that governs it."""
    kind = period_kind(period)
    if kind is None or period not in plan["periods"]:
        return {}
    found: dict[str, Binding | None] = {}
    for duty in (d for d in duties if d["period"] == kind[0]):
        scope = (duty_scope(duty, plan["issuer_path"]), tuple(duty["reporter_levels"]))
        if scope not in reach:
            reach[scope] = work.units_under(*scope)
        for u in reach[scope]:
            if u["path"] not in found:
                found[u["path"]] = bind(duties, work.unit(u), period)
    return {path: binding for path, binding in found.items() if binding is not None}


def refresh(work: Work, keys: Iterable[tuple[str, str, str]]) -> None:
    """Re-judge slots against the indicator definitions known now."""
    keys = list(keys)
    work.prefetch(keys)
    defs = work.fact_tables.definitions_many(work.conn, {key[0] for key in keys})  # a few queries, not a few per plan
    for key in keys:
        if (before := work.slot(key)) is not None:
            work.resettle(before, before, defs[key[0]])
