"""Read queries of the rollup: each is a key lookup or one index range, never a scan of the subtree."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection, func, or_, select

from . import fact_store
from .counters import contribution, indicator_vectors
from .evolve import ALL_PLANS, COUNTERS, INDICATOR_COUNTERS, LATE, ON_TIME, RETURNED, SUBMITTED
from .store import below, slot_from_row
from .tables import rollup_count, rollup_indicator_count, rollup_plan, rollup_slot, rollup_unit

ZERO = dict.fromkeys(COUNTERS, 0)
STATUS_FILTERS = {
    "missing": rollup_slot.c.status == "MISSING",
    "late": rollup_slot.c.status == LATE,
    "on_time": rollup_slot.c.status == ON_TIME,
    "submitted": rollup_slot.c.status.in_([ON_TIME, LATE, SUBMITTED]),
    "returned": rollup_slot.c.outcome == RETURNED,
}


def unit_by_code(conn: Connection, code: str) -> dict[str, Any] | None:
    """The org unit with ``code`` (VN, a province or commune code, or a unit code)."""
    row = conn.execute(select(rollup_unit).where(rollup_unit.c.code == code)).first()
    return row._asdict() if row else None


def counts(conn: Connection, paths: list[str], period: str, plan_id: str = ALL_PLANS) -> dict[str, dict[str, int]]:
    """Counters of each subtree in ``paths``: the row of what is below each node (primary-key lookups) plus the
    node's own slots (one per plan and period: one index range per node); zeros where nothing is due."""
    query = select(rollup_count).where(
        rollup_count.c.node_path.in_(paths), rollup_count.c.period == period, rollup_count.c.plan_id == plan_id
    )
    found = {r.node_path: Counter({c: int(getattr(r, c)) for c in COUNTERS}) for r in conn.execute(query)}
    own = select(rollup_slot).where(rollup_slot.c.unit_path.in_(paths), rollup_slot.c.period == period)
    if plan_id != ALL_PLANS:
        own = own.where(rollup_slot.c.plan_id == plan_id)
    for row in conn.execute(own):
        found.setdefault(row.unit_path, Counter()).update(contribution(slot_from_row(row)))
    return {p: {c: found[p][c] for c in COUNTERS} if p in found else dict(ZERO) for p in paths}


def own_counts(conn: Connection, path: str, period: str, plan_id: str = ALL_PLANS) -> dict[str, int]:
    """Counters of the unit's own reports only (a handful of slots: one per plan)."""
    query = select(rollup_slot).where(rollup_slot.c.period == period, rollup_slot.c.unit_path == path)
    if plan_id != ALL_PLANS:
        query = query.where(rollup_slot.c.plan_id == plan_id)
    total: Counter[str] = Counter(dict(ZERO))
    for row in conn.execute(query):
        total.update(contribution(slot_from_row(row)))
    return {c: total[c] for c in COUNTERS}


def children(conn: Connection, path: str, level: str | None, after: str | None, limit: int) -> list[dict[str, Any]]:
    """Direct children of ``path`` (of one level if given), by path, after the cursor; ``limit + 1`` rows."""
    query = select(rollup_unit).where(rollup_unit.c.parent_path == path)
    if level is not None:
        query = query.where(rollup_unit.c.level == level)
    if after is not None:
        query = query.where(rollup_unit.c.path > after)
    return [r._asdict() for r in conn.execute(query.order_by(rollup_unit.c.path).limit(limit + 1))]


def indicators_by_code(conn: Connection, path: str, period: str, plan_id: str = ALL_PLANS) -> list[dict[str, Any]]:
    """Indicator counters of the subtree summed by code over its plans (and how many plans report each code): one
    GROUP BY over the node's index range, a few rows whatever the number of plans below, plus the node's own
    slots (rows hold what is below a node)."""
    t = rollup_indicator_count
    sums = [func.sum(t.c[name]).label(name) for name in INDICATOR_COUNTERS]
    query = select(t.c.indicator_code, func.count().label("plans"), *sums)
    query = query.where(t.c.node_path == path, t.c.period == period)
    if plan_id != ALL_PLANS:
        query = query.where(t.c.plan_id == plan_id)
    rows = conn.execute(query.group_by(t.c.indicator_code).order_by(t.c.indicator_code))
    found = {r.indicator_code: {k: int(getattr(r, k)) for k in ("plans", *INDICATOR_COUNTERS)} for r in rows}
    own = own_figures(conn, path, period, None if plan_id == ALL_PLANS else plan_id)
    if own:
        known = select(t.c.plan_id, t.c.indicator_code).where(
            t.c.node_path == path, t.c.period == period, t.c.plan_id.in_(sorted({p for p, _ in own}))
        )
        below = {(r.plan_id, r.indicator_code) for r in conn.execute(known)}
        for (plan, code), figures in own.items():
            row = found.setdefault(code, dict.fromkeys(("plans", *INDICATOR_COUNTERS), 0))
            row["plans"] += (plan, code) not in below
            for name, value in zip(INDICATOR_COUNTERS, figures, strict=True):
                row[name] += value
    return [{"indicator_code": code, **found[code]} for code in sorted(found)]


def indicator_plans(
    conn: Connection, path: str, period: str, plan_id: str | None, code: str | None, after: list[str] | None, limit: int
) -> list[dict[str, Any]]:
    """Indicator counters of the subtree per plan and code, by (plan, code) from the cursor on (keyset pagination),
    ``limit + 1`` rows, each with the definition its plan's reports resolve the code to (only this page's plans).
    The page is the stored rows of what is below the node merged with the node's own slots (a handful)."""
    t = rollup_indicator_count
    query = select(t).where(t.c.node_path == path, t.c.period == period)
    if plan_id is not None:
        query = query.where(t.c.plan_id == plan_id)
    if code is not None:
        query = query.where(t.c.indicator_code == code)
    if after is not None:  # (plan_id, indicator_code) > cursor, as a range on the primary key
        query = query.where(t.c.plan_id >= after[0], or_(t.c.plan_id != after[0], t.c.indicator_code > after[1]))
    query = query.order_by(t.c.plan_id, t.c.indicator_code).limit(limit + 1)
    page = {(r.plan_id, r.indicator_code): r._asdict() for r in conn.execute(query)}
    for key, figures in own_figures(conn, path, period, plan_id).items():
        if (code is None or key[1] == code) and (after is None or key > (after[0], after[1])):
            row = page.setdefault(
                key,
                {
                    "node_path": path,
                    "period": period,
                    "plan_id": key[0],
                    "indicator_code": key[1],
                    **dict.fromkeys(INDICATOR_COUNTERS, 0),
                },
            )
            for name, value in zip(INDICATOR_COUNTERS, figures, strict=True):
                row[name] += value
    rows = [page[key] for key in sorted(page)][: limit + 1]
    definitions = fact_store.definitions_many(conn, {r["plan_id"] for r in rows})
    for row in rows:
        row["definition"] = definitions[row["plan_id"]].get(row["indicator_code"])
    return rows


def own_figures(
    conn: Connection, path: str, period: str, plan_id: str | None
) -> dict[tuple[str, str], tuple[int, ...]]:
    """What the node's own slots add per (plan, indicator code), in the order of ``INDICATOR_COUNTERS``."""
    query = select(rollup_slot).where(rollup_slot.c.unit_path == path, rollup_slot.c.period == period)
    if plan_id is not None:
        query = query.where(rollup_slot.c.plan_id == plan_id)
    found: dict[tuple[str, str], tuple[int, ...]] = {}
    for row in conn.execute(query):
        slot = slot_from_row(row)
        for code, figures in indicator_vectors(slot).items():
            held = found.get((slot.plan_id, code), (0, 0, 0, 0))
            found[(slot.plan_id, code)] = tuple(a + b for a, b in zip(held, figures, strict=True))
    return found


def reports(
    conn: Connection,
    path: str,
    period: str,
    status: str | None,
    plan_id: str | None,
    after: list[str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Report slots of the subtree for the period (optionally one status or plan), by unit then plan: the node's
    own slots, then one index range below it, each read from the cursor on (keyset pagination)."""
    own = [] if after and after[0] > path else _report_rows(conn, period, status, plan_id, limit, own=path, after=after)
    below = _report_rows(
        conn, period, status, plan_id, limit, below=path, after=after if after and after[0] > path else None
    )
    return (own + below)[: limit + 1]


def _report_rows(
    conn: Connection, period: str, status: str | None, plan_id: str | None, limit: int, **where: Any
) -> list[dict[str, Any]]:
    s, u = rollup_slot, rollup_unit
    query = select(s, u.c.code, u.c.name, u.c.level, u.c.kind).join_from(s, u, u.c.path == s.c.unit_path, isouter=True)
    query = query.where(s.c.period == period)
    if "own" in where:
        query = query.where(s.c.unit_path == where["own"])
    else:
        query = query.where(below(s.c.unit_path, where["below"]))
    if status is not None:
        query = query.where(STATUS_FILTERS[status])
    if plan_id is not None:
        query = query.where(s.c.plan_id == plan_id)
    if (after := where["after"]) is not None:  # (unit_path, plan_id) > cursor, as a range on the index
        query = query.where(s.c.unit_path >= after[0], or_(s.c.unit_path != after[0], s.c.plan_id > after[1]))
    query = query.order_by(s.c.unit_path, s.c.plan_id).limit(limit + 1)
    return [r._asdict() for r in conn.execute(query)]


def child_plans(conn: Connection, path: str) -> list[dict[str, Any]]:
    """Plans issued (or drafted) by direct children of ``path`` that implement a plan above them."""
    rows = [r._asdict() for r in conn.execute(select(rollup_plan).where(rollup_plan.c.issuer_parent_path == path))]
    rows = [r for r in rows if r["implements"]]
    parent_ids = sorted({p for r in rows for p in r["implements"]})
    query = select(rollup_plan.c.plan_id, rollup_plan.c.plan_deadline).where(rollup_plan.c.plan_id.in_(parent_ids))
    deadlines = {r.plan_id: r.plan_deadline for r in conn.execute(query)}
    for row in rows:
        due = [deadlines[p] for p in row["implements"] if deadlines.get(p) is not None]
        row["deadline"] = min(due) if due else None
    return sorted(rows, key=lambda r: (r["issuer_path"], r["plan_id"]))


def official_children(conn: Connection, path: str) -> int:
    """How many official units (provinces of VN, communes of a province) sit directly under ``path``."""
    query = select(func.count()).where(rollup_unit.c.parent_path == path, rollup_unit.c.source == "REFERENCE")
    return int(conn.execute(query).scalar_one())
