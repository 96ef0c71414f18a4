"""How each event changes the rollup: store the fact, then re-settle the slots it touches (in the batch's ``Work``,
which tallies the deltas)."""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from projections.base import Handlers
from services.kernel.contracts import (
    CriteriaRegistered,
    EmulationBlocRegistered,
    OrgUnitRegistered,
    PlanAmended,
    PlanIssued,
    PlanNumberAssigned,
    ReportReviewed,
    ReportSubmitted,
    TargetsRegistered,
)
from services.kernel.events import Event

from .batch import Work
from .counters import nodes_of
from .evolve import EVOLVE, Slot, slot_key, with_binding
from .expectations import bind, plan_periods
from .fact_rows import duty_rows, indicator_rows, plan_row, unit_row
from .rederive import rebind, refresh

# Events that write facts (plans, duties, links, indicator definitions, blocs) and read slots by other keys than their
# own.
FACT_EVENTS = (PlanIssued, PlanNumberAssigned, PlanAmended, CriteriaRegistered, EmulationBlocRegistered)


@singledispatch
def change(event: Event, work: Work) -> bool:
    """Events the rollup does not use change nothing."""
    return False


@change.register
def _report(event: ReportSubmitted | TargetsRegistered, work: Work) -> bool:
    key = slot_key(event)
    assert key is not None
    before = work.slot(key)
    after = EVOLVE[event.__class__](event, before)
    return after is not before and work.resettle(before, after, work.definitions(key[0]))


@change.register
def _reviewed(event: ReportReviewed, work: Work) -> bool:
    before = work.report_slot(event.data["report_id"])
    if before is None or (after := EVOLVE[event.__class__](event, before)) is before:
        return False
    return work.resettle(before, after, work.definitions(before.plan_id))


@change.register
def _unit(event: OrgUnitRegistered, work: Work) -> bool:
    row = unit_row(event)
    if not work.add_unit(row):
        return False
    unit = work.unit(row)
    for plan_id in work.plans_binding_below(nodes_of(row["path"])[:-1]):
        plan, duties, defs = work.plan(plan_id), work.duties(plan_id), work.definitions(plan_id)
        for period in plan["periods"] if plan else []:
            before = work.slot((plan_id, period, row["path"]))
            binding = bind(duties, unit, period)
            if before is not None or binding is not None:
                work.resettle(before, with_binding(before or Slot(plan_id, period, row["path"]), binding), defs)
    return True


# The fact events below read and write the fact tables directly (``work`` holds no facts while they run), or a
# build's facts in memory (``Work.fact_tables``).


@change.register
def _plan(event: PlanIssued, work: Work) -> bool:
    conn, plan_id, facts = work.conn, event.data["plan_id"], work.fact_tables
    if (known := facts.load_plan(conn, plan_id)) is not None and known["version"] >= event.meta["stream_version"]:
        return False
    row = plan_row(event)
    facts.save_plan(conn, row, duty_rows(event))
    rebind(work, plan_id, row["periods"])
    refresh(work, work.keys_of_plans(facts.descendants(conn, plan_id)))  # the chain above them grew
    return True


@change.register
def _numbered(event: PlanNumberAssigned, work: Work) -> bool:
    if not _newer(work, event):
        return False
    d = event.data
    version = event.meta["stream_version"]
    work.fact_tables.update_plan(
        work.conn, d["plan_id"], document_number=d["document_number"], issue_date=d["issue_date"], version=version
    )
    return True


@change.register
def _amended(event: PlanAmended, work: Work) -> bool:
    if not (plan := _newer(work, event)):
        return False
    d = event.data
    periods = plan["periods"] if d["phases"] is None else plan_periods(d["phases"])
    work.fact_tables.update_plan(work.conn, d["plan_id"], periods=periods, version=event.meta["stream_version"])
    rebind(work, d["plan_id"], sorted(set(plan["periods"]) | set(periods)))
    return True


@change.register
def _criteria(event: CriteriaRegistered, work: Work) -> bool:
    if not _newer(work, event):
        return False
    rows, plan_id, facts = indicator_rows(event), event.data["plan_id"], work.fact_tables
    facts.update_plan(work.conn, plan_id, version=event.meta["stream_version"])
    if rows:
        facts.save_indicators(work.conn, plan_id, rows)
        # Only the plan's own reports and those of the plans below it resolve codes through its criteria.
        reach = {plan_id} | facts.descendants(work.conn, plan_id)
        refresh(work, work.keys_using_codes({r["code"] for r in rows}, reach))
    return True


@change.register
def _bloc(event: EmulationBlocRegistered, work: Work) -> bool:
    d, version, facts = event.data, int(event.meta["stream_version"]), work.fact_tables
    if (known := facts.load_bloc(work.conn, d["bloc_code"])) is not None and known["version"] >= version:
        return False
    province = d["province"]["path"]
    row = {"bloc_code": d["bloc_code"], "province_path": province, "kind": d["kind"], "members": list(d["members"])}
    facts.save_bloc(work.conn, {**row, "version": version})
    work.forget_facts()  # the province's blocs changed: read them again
    scoped = facts.plans_scoped_at(work.conn, [province, *nodes_of(province)[:-1]])
    for plan_id in sorted(set().union(*scoped.values())):
        if (plan := facts.load_plan(work.conn, plan_id)) is not None:
            rebind(work, plan_id, plan["periods"])
    return True


CHANGE = Handlers(change)  # the hot path's dispatch: ``CHANGE[type(event)](event, work)``


def _newer(work: Work, event: Event) -> dict[str, Any] | None:
    """The plan row if ``event`` (of the plan's stream) is newer than what it holds."""
    plan = work.fact_tables.load_plan(work.conn, event.data["plan_id"])
    return plan if plan is not None and plan["version"] < event.meta["stream_version"] else None
