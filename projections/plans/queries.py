"""Read queries of the plans read model: a filtered page of plans, one plan in full, its parent chain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, or_, select

from services.kernel.orgpaths import OrgPath

from .store import aware
from .tables import plans_amendment, plans_criteria, plans_parent, plans_plan

P = plans_plan.c
_TOTALS = (
    select(
        plans_criteria.c.plan_id,
        func.count().label("criteria_count"),
        func.sum(plans_criteria.c.indicator_count).label("indicator_count"),
        func.sum(plans_criteria.c.warning_count).label("criteria_warning_count"),
    )
    .group_by(plans_criteria.c.plan_id)
    .subquery()
)


def _with_totals() -> Any:
    return select(plans_plan, _TOTALS.c.criteria_count, _TOTALS.c.indicator_count, _TOTALS.c.criteria_warning_count)


def _row(row: Any) -> dict[str, Any]:
    data = aware(row._asdict())
    for key in ("criteria_count", "indicator_count", "criteria_warning_count"):
        data[key] = int(data.get(key) or 0)
    return data


def plans(
    conn: Connection,
    issuer: str | None = None,
    status: str | None = None,
    after: str | None = None,
    limit: int = 50,
    visible_to: str | None = None,
) -> list[dict[str, Any]]:
    """Up to ``limit`` plans after the id ``after``, ordered by id, with their criteria totals; ``visible_to``: only
    plans issued in that path's subtree or above it."""
    query = _with_totals().outerjoin(_TOTALS, _TOTALS.c.plan_id == P.plan_id)
    if visible_to is not None:
        above = [a.value for a in OrgPath(visible_to).ancestors()]
        query = query.where(
            or_(
                P.issuer_path == visible_to,
                P.issuer_path.startswith(visible_to + "/", autoescape=True),
                P.issuer_path.in_(above),
            )
        )
    if issuer is not None:
        query = query.where(P.issuer_code == issuer)
    if status is not None:
        query = query.where(P.status == status)
    if after is not None:
        query = query.where(P.plan_id > after)
    return [_row(r) for r in conn.execute(query.order_by(P.plan_id).limit(limit))]


def plan(conn: Connection, plan_id: str) -> dict[str, Any] | None:
    """One plan with its criteria sets (registration order) and amendments (in order)."""
    query = _with_totals().outerjoin(_TOTALS, _TOTALS.c.plan_id == P.plan_id).where(P.plan_id == plan_id)
    row = conn.execute(query).first()
    if row is None:
        return None
    found = _row(row)
    criteria = select(plans_criteria).where(plans_criteria.c.plan_id == plan_id).order_by(plans_criteria.c.seq)
    found["criteria"] = [aware(r._asdict()) for r in conn.execute(criteria)]
    amendments = (
        select(plans_amendment).where(plans_amendment.c.plan_id == plan_id).order_by(plans_amendment.c.amendment_no)
    )
    found["amendment_history"] = [aware(r._asdict()) for r in conn.execute(amendments)]
    return found


def summaries(conn: Connection, plan_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The plan rows (without criteria) of ``plan_ids`` that are known, by id."""
    if not plan_ids:
        return {}
    rows = conn.execute(select(plans_plan).where(P.plan_id.in_(plan_ids)))
    return {r.plan_id: aware(r._asdict()) for r in rows}


def parent_chain(conn: Connection, plan_id: str, max_depth: int = 10) -> list[dict[str, Any]]:
    """Every plan above ``plan_id`` through ``implements``, farthest first: ``{plan_id, depth, plan | None}``.

    ``depth`` is the longest distance (1 = a direct parent); a parent not (yet) in the read model is listed with
    ``plan: None`` and its own parents are unknown.
    """
    depth: dict[str, int] = {}
    frontier, level = [plan_id], 0
    while frontier and level < max_depth:
        level += 1
        rows = conn.execute(
            select(plans_parent.c.parent_id)
            .where(plans_parent.c.plan_id.in_(frontier))
            .order_by(plans_parent.c.plan_id, plans_parent.c.ordinal)
        )
        parents = list(dict.fromkeys(r.parent_id for r in rows if r.parent_id != plan_id))
        for parent in parents:
            depth[parent] = level
        frontier = parents
    known = summaries(conn, list(depth))
    ordered = sorted(depth, key=lambda p: (-depth[p], p))
    return [{"plan_id": p, "depth": depth[p], "plan": known.get(p)} for p in ordered]


def children(conn: Connection, plan_id: str) -> list[dict[str, Any]]:
    """Plans that implement ``plan_id`` directly, ordered by id."""
    query = (
        select(plans_plan)
        .join(plans_parent, plans_parent.c.plan_id == P.plan_id)
        .where(plans_parent.c.parent_id == plan_id)
        .order_by(P.plan_id)
    )
    return [aware(r._asdict()) for r in conn.execute(query)]
