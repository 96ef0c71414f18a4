"""Thin store of the facts slots depend on: units, plans, their duties, links and indicator definitions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from services.kernel.adminunits import AdminUnitCatalog
from services.kernel.orgpaths import ROOT

from .binding import duty_from_json
from .store import below, upsert
from .tables import rollup_duty, rollup_indicator, rollup_plan, rollup_plan_link, rollup_unit


def seed_reference(conn: Connection, catalog: AdminUnitCatalog) -> int:
    """The root, provinces and communes (a commune is a LOCALITY unit duties may bind), once."""
    if conn.execute(select(func.count()).select_from(rollup_unit)).scalar_one():
        return 0
    root = dict(path=ROOT, code=ROOT, parent_path=None, level="CENTRAL", kind="CENTRAL", name="Trung ương")
    rows = [{**root, "source": "REFERENCE"}]
    for unit in catalog:
        parent = f"{ROOT}/{unit.parent_code}" if unit.parent_code else ROOT
        path, level = f"{parent}/{unit.code}", str(unit.level)
        rows.append(
            dict(
                path=path,
                code=unit.code,
                parent_path=parent,
                level=level,
                kind=level,
                name=unit.name,
                source="REFERENCE",
            )
        )
    conn.execute(insert(rollup_unit), rows)
    return len(rows)


def load_unit(conn: Connection, path: str) -> dict[str, Any] | None:
    """The unit at ``path``."""
    row = conn.execute(select(rollup_unit).where(rollup_unit.c.path == path)).first()
    return row._asdict() if row else None


def add_unit(conn: Connection, row: Mapping[str, Any]) -> bool:
    """Insert a registered unit unless its path is known (the first registration stands)."""
    result = conn.execute(upsert(conn, rollup_unit).values(**row, source="EVENT").on_conflict_do_nothing())
    return bool(result.rowcount)


def units_under(conn: Connection, scope: str, levels: Iterable[str]) -> list[dict[str, Any]]:
    """Units strictly below ``scope`` at one of ``levels``, by path."""
    path = rollup_unit.c.path
    query = select(rollup_unit).where(below(path, scope), rollup_unit.c.level.in_(list(levels)))
    return [r._asdict() for r in conn.execute(query.order_by(rollup_unit.c.path))]


def load_plan(conn: Connection, plan_id: str) -> dict[str, Any] | None:
    """The plan row."""
    row = conn.execute(select(rollup_plan).where(rollup_plan.c.plan_id == plan_id)).first()
    return row._asdict() if row else None


def save_plan(conn: Connection, row: Mapping[str, Any], duties: list[dict[str, Any]]) -> None:
    """Insert or replace a plan with its links and duties."""
    plan_id = row["plan_id"]
    conn.execute(delete(rollup_plan).where(rollup_plan.c.plan_id == plan_id))
    conn.execute(insert(rollup_plan).values(**row))
    conn.execute(delete(rollup_plan_link).where(rollup_plan_link.c.plan_id == plan_id))
    links = [{"plan_id": plan_id, "parent_plan_id": p} for p in sorted(set(row["implements"]))]
    if links:
        conn.execute(insert(rollup_plan_link), links)
    conn.execute(delete(rollup_duty).where(rollup_duty.c.plan_id == plan_id))
    if duties:
        conn.execute(insert(rollup_duty), duties)


def update_plan(conn: Connection, plan_id: str, **values: Any) -> None:
    """Change columns of a plan row."""
    conn.execute(update(rollup_plan).where(rollup_plan.c.plan_id == plan_id).values(**values))


def load_duties(conn: Connection, plan_id: str) -> list[dict[str, Any]]:
    """A plan's duties in their order."""
    query = select(rollup_duty.c.duty).where(rollup_duty.c.plan_id == plan_id).order_by(rollup_duty.c.seq)
    found: list[dict[str, Any]] = list(conn.execute(query).scalars().all())
    return [duty_from_json(d) for d in found]


def plans_binding_below(conn: Connection, ancestors: list[str]) -> list[str]:
    """Plans with a duty whose subtree is one of ``ancestors``."""
    query = select(rollup_duty.c.plan_id).where(rollup_duty.c.scope_path.in_(ancestors)).distinct()
    return sorted(conn.execute(query).scalars())


def descendants(conn: Connection, plan_id: str) -> set[str]:
    """Plans that implement ``plan_id``, directly or down the chain."""
    found: set[str] = set()
    todo = [plan_id]
    while todo:
        query = select(rollup_plan_link.c.plan_id).where(rollup_plan_link.c.parent_plan_id.in_(todo))
        parents: list[str] = list(conn.execute(query).scalars().all())
        todo = [p for p in parents if p not in found and p != plan_id]
        found.update(todo)
    return found


def definitions(conn: Connection, plan_id: str) -> dict[str, dict[str, Any]]:
    """Indicator definitions a plan's reports may use: its own, then its parents' up the chain (nearest wins)."""
    chain, todo = [plan_id], [plan_id]
    while todo:
        query = select(rollup_plan_link.c.parent_plan_id).where(rollup_plan_link.c.plan_id.in_(todo))
        todo = sorted(set(conn.execute(query).scalars()) - set(chain))
        chain += todo
    rows = conn.execute(select(rollup_indicator).where(rollup_indicator.c.plan_id.in_(chain))).all()
    rank = {p: i for i, p in enumerate(chain)}
    found: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: rank[r.plan_id], reverse=True):
        found[row.code] = row.definition
    return found


def save_indicators(conn: Connection, plan_id: str, rows: list[dict[str, Any]]) -> None:
    """Insert or replace indicator definitions of a plan."""
    codes = [r["code"] for r in rows]
    conn.execute(
        delete(rollup_indicator).where(and_(rollup_indicator.c.plan_id == plan_id, rollup_indicator.c.code.in_(codes)))
    )
    conn.execute(insert(rollup_indicator), [{"plan_id": plan_id, "code": r["code"], "definition": r} for r in rows])
