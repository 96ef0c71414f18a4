"""Re-deriving slots: bind a plan's units period by period, re-judge slots when definitions change, and
persist each change with its counter deltas."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from services.reporting.model import period_kind

from . import facts, store
from .binding import Binding, bind, duty_scope, unit_view
from .evolve import Slot, settle, with_binding
from .tally import Tally


def settled(after: Slot | None, defs: dict[str, Any]) -> Slot | None:
    """``after`` settled against the definitions; None when the slot holds nothing any more."""
    after = settle(after, defs) if after is not None else None
    return None if after is not None and after.is_empty else after


def resettle(conn: Connection, tally: Tally, before: Slot | None, after: Slot | None, defs: dict[str, Any]) -> bool:
    """Settle ``after``, persist the change and tally its deltas; False when nothing changed."""
    after = settled(after, defs)
    if after == before:
        return False
    store.save_slot(conn, before, after)
    tally.change(before, after)
    return True


def rebind(conn: Connection, tally: Tally, plan_id: str, periods: Iterable[str]) -> None:
    """Bind every unit the plan's duties reach, period by period (slots no longer bound are released)."""
    plan, duties = facts.load_plan(conn, plan_id), facts.load_duties(conn, plan_id)
    assert plan is not None
    defs = facts.definitions(conn, plan_id)
    reach: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}  # units under a scope, read once
    for period in periods:
        desired = _bindings(conn, plan, duties, period, reach)
        existing = store.load_slots(conn, plan_id, period)
        new = [
            settled(with_binding(Slot(plan_id, period, p), b), defs) for p, b in desired.items() if p not in existing
        ]
        store.insert_slots(conn, [slot for slot in new if slot is not None])
        for slot in new:
            tally.change(None, slot)
        for path, before in sorted(existing.items()):
            resettle(conn, tally, before, with_binding(before, desired.get(path)), defs)


def _bindings(
    conn: Connection, plan: dict[str, Any], duties: list[dict[str, Any]], period: str, reach: dict[Any, Any]
) -> dict[str, Binding]:
    """Each unit a duty of the period's kind reaches, with the binding that governs it."""
    kind = period_kind(period)
    if kind is None or period not in plan["periods"]:
        return {}
    found: dict[str, Binding | None] = {}
    for duty in (d for d in duties if d["period"] == kind[0]):
        scope = (duty_scope(duty, plan["issuer_path"]), tuple(duty["reporter_levels"]))
        if scope not in reach:
            reach[scope] = facts.units_under(conn, *scope)
        for u in reach[scope]:
            if u["path"] not in found:
                found[u["path"]] = bind(
                    duties, unit_view(u["path"], u["code"], u["level"], u["kind"], u["name"]), period
                )
    return {path: binding for path, binding in found.items() if binding is not None}


def refresh(conn: Connection, tally: Tally, keys: Iterable[tuple[str, str, str]]) -> None:
    """Re-judge slots against the indicator definitions known now."""
    defs: dict[str, dict[str, Any]] = {}
    for key in keys:
        if (before := store.load_slot(conn, key)) is not None:
            if key[0] not in defs:
                defs[key[0]] = facts.definitions(conn, key[0])
            resettle(conn, tally, before, before, defs[key[0]])
