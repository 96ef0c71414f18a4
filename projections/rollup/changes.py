"""How each event changes the rollup: store the fact, then re-settle the slots it touches and tally the deltas."""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from sqlalchemy import Connection

from services.kernel.contracts import (
    CriteriaRegistered,
    OrgUnitRegistered,
    PlanAmended,
    PlanIssued,
    PlanNumberAssigned,
    ReportReviewed,
    ReportSubmitted,
    TargetsRegistered,
)
from services.kernel.events import Event

from . import facts, store
from .binding import bind, plan_periods, unit_view
from .evolve import Slot, evolve, slot_key, with_binding
from .rebind import rebind, refresh, resettle
from .records import duty_rows, indicator_rows, plan_row, unit_row
from .tally import Tally, nodes_of


@singledispatch
def change(event: Event, conn: Connection, tally: Tally) -> bool:
    """Events the rollup does not use change nothing."""
    return False


@change.register
def _report(event: ReportSubmitted | TargetsRegistered, conn: Connection, tally: Tally) -> bool:
    key = slot_key(event)
    assert key is not None
    before = store.load_slot(conn, key)
    after = evolve(event, before)
    return after is not before and resettle(conn, tally, before, after, facts.definitions(conn, key[0]))


@change.register
def _reviewed(event: ReportReviewed, conn: Connection, tally: Tally) -> bool:
    before = store.slot_of_report(conn, event.data["report_id"])
    if before is None or (after := evolve(event, before)) is before:
        return False
    return resettle(conn, tally, before, after, facts.definitions(conn, before.plan_id))


@change.register
def _unit(event: OrgUnitRegistered, conn: Connection, tally: Tally) -> bool:
    row = unit_row(event)
    if not facts.add_unit(conn, row):
        return False
    unit = unit_view(row["path"], row["code"], row["level"], row["kind"], row["name"])
    for plan_id in facts.plans_binding_below(conn, nodes_of(row["path"])[:-1]):
        plan, duties = facts.load_plan(conn, plan_id), facts.load_duties(conn, plan_id)
        defs = facts.definitions(conn, plan_id)
        for period in plan["periods"] if plan else []:
            before = store.load_slot(conn, (plan_id, period, row["path"]))
            binding = bind(duties, unit, period)
            if before is not None or binding is not None:
                resettle(conn, tally, before, with_binding(before or Slot(plan_id, period, row["path"]), binding), defs)
    return True


@change.register
def _plan(event: PlanIssued, conn: Connection, tally: Tally) -> bool:
    plan_id = event.data["plan_id"]
    if (known := facts.load_plan(conn, plan_id)) is not None and known["version"] >= event.meta["stream_version"]:
        return False
    row = plan_row(event)
    facts.save_plan(conn, row, duty_rows(event))
    rebind(conn, tally, plan_id, row["periods"])
    refresh(conn, tally, store.keys_of_plans(conn, facts.descendants(conn, plan_id)))  # the chain above them grew
    return True


@change.register
def _numbered(event: PlanNumberAssigned, conn: Connection, tally: Tally) -> bool:
    if not _newer(conn, event):
        return False
    d = event.data
    version = event.meta["stream_version"]
    facts.update_plan(
        conn, d["plan_id"], document_number=d["document_number"], issue_date=d["issue_date"], version=version
    )
    return True


@change.register
def _amended(event: PlanAmended, conn: Connection, tally: Tally) -> bool:
    if not (plan := _newer(conn, event)):
        return False
    d = event.data
    periods = plan["periods"] if d["phases"] is None else plan_periods(d["phases"])
    facts.update_plan(conn, d["plan_id"], periods=periods, version=event.meta["stream_version"])
    rebind(conn, tally, d["plan_id"], sorted(set(plan["periods"]) | set(periods)))
    return True


@change.register
def _criteria(event: CriteriaRegistered, conn: Connection, tally: Tally) -> bool:
    if not _newer(conn, event):
        return False
    rows = indicator_rows(event)
    facts.update_plan(conn, event.data["plan_id"], version=event.meta["stream_version"])
    if rows:
        facts.save_indicators(conn, event.data["plan_id"], rows)
        refresh(conn, tally, store.keys_using_codes(conn, {r["code"] for r in rows}))
    return True


def _newer(conn: Connection, event: Event) -> dict[str, Any] | None:
    """The plan row if ``event`` (of the plan's stream) is newer than what it holds."""
    plan = facts.load_plan(conn, event.data["plan_id"])
    return plan if plan is not None and plan["version"] < event.meta["stream_version"] else None
