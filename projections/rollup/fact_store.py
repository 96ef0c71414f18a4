"""Thin store of the facts slots depend on: units, plans, their duties, links and indicator definitions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from projections.bulk import chunked, copy_rows
from services.kernel.adminunits import AdminUnitCatalog
from services.kernel.orgpaths import ROOT

from .expectations import duty_from_json
from .store import below
from .tables import rollup_bloc, rollup_duty, rollup_indicator, rollup_plan, rollup_plan_link, rollup_unit


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
    empty = dict.fromkeys(rollup_unit.columns.keys())
    copy_rows(conn, rollup_unit, [empty | row for row in rows])  # a build seeds 3,300 communes
    return len(rows)


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
    return definitions_many(conn, [plan_id])[plan_id]


def definitions_many(conn: Connection, plan_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``definitions`` of each plan: the link graph above them read level by level, the indicators in one query."""
    wanted = sorted(set(plan_ids))
    parents: dict[str, set[str]] = {}
    todo = wanted
    while todo:
        for chunk in chunked(todo):
            for p in chunk:
                parents[p] = set()
            query = select(rollup_plan_link.c.plan_id, rollup_plan_link.c.parent_plan_id)
            for row in conn.execute(query.where(rollup_plan_link.c.plan_id.in_(list(chunk)))):
                parents[row.plan_id].add(row.parent_plan_id)
        todo = sorted({q for p in todo for q in parents[p]} - parents.keys())
    chains = {plan_id: _chain(plan_id, parents) for plan_id in wanted}
    by_plan: dict[str, list[Any]] = {}
    for chunk in chunked(sorted({p for chain in chains.values() for p in chain})):
        for row in conn.execute(select(rollup_indicator).where(rollup_indicator.c.plan_id.in_(list(chunk)))):
            by_plan.setdefault(row.plan_id, []).append(row)
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for plan_id, chain in chains.items():
        merged: dict[str, dict[str, Any]] = {}
        for ancestor in reversed(chain):  # the farthest first: the nearest plan's definition wins
            for row in by_plan.get(ancestor, ()):
                merged[row.code] = row.definition
        found[plan_id] = merged
    return found


def _chain(plan_id: str, parents: Mapping[str, set[str]]) -> list[str]:
    """The plan, then its parents level by level (each level sorted, every plan once)."""
    chain, todo = [plan_id], [plan_id]
    while todo:
        todo = sorted({q for p in todo for q in parents.get(p, ())} - set(chain))
        chain += todo
    return chain


def load_plans(conn: Connection, plan_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The plan rows of ``plan_ids`` that exist, by id."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in chunked(sorted(set(plan_ids))):
        for row in conn.execute(select(rollup_plan).where(rollup_plan.c.plan_id.in_(list(chunk)))):
            found[row.plan_id] = row._asdict()
    return found


def load_duties_many(conn: Connection, plan_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """``load_duties`` of each plan (an empty list for a plan without duties)."""
    wanted = sorted(set(plan_ids))
    found: dict[str, list[dict[str, Any]]] = {p: [] for p in wanted}
    for chunk in chunked(wanted):
        query = select(rollup_duty.c.plan_id, rollup_duty.c.duty).where(rollup_duty.c.plan_id.in_(list(chunk)))
        for row in conn.execute(query.order_by(rollup_duty.c.plan_id, rollup_duty.c.seq)):
            found[row.plan_id].append(duty_from_json(row.duty))
    return found


def plans_scoped_at(conn: Connection, paths: Iterable[str]) -> dict[str, set[str]]:
    """For each of ``paths``, the plans with a duty whose subtree is that path."""
    wanted = sorted(set(paths))
    found: dict[str, set[str]] = {p: set() for p in wanted}
    for chunk in chunked(wanted):
        query = select(rollup_duty.c.scope_path, rollup_duty.c.plan_id).where(rollup_duty.c.scope_path.in_(chunk))
        for row in conn.execute(query.distinct()):
            found[row.scope_path].add(row.plan_id)
    return found


def known_units(conn: Connection, paths: Iterable[str], codes: Iterable[str]) -> tuple[set[str], set[str]]:
    """Which of ``paths`` and which of ``codes`` a unit already holds (the two unique keys of a unit)."""
    found_paths: set[str] = set()
    found_codes: set[str] = set()
    for column, values, found in ((rollup_unit.c.path, paths, found_paths), (rollup_unit.c.code, codes, found_codes)):
        for chunk in chunked(sorted(set(values))):
            found.update(conn.execute(select(column).where(column.in_(list(chunk)))).scalars())
    return found_paths, found_codes


def insert_units(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert registered units (checked new by ``known_units``), in one statement."""
    if rows:
        conn.execute(insert(rollup_unit), [{**row, "source": "EVENT"} for row in rows])


def save_indicators(conn: Connection, plan_id: str, rows: list[dict[str, Any]]) -> None:
    """Insert or replace indicator definitions of a plan."""
    codes = [r["code"] for r in rows]
    conn.execute(
        delete(rollup_indicator).where(and_(rollup_indicator.c.plan_id == plan_id, rollup_indicator.c.code.in_(codes)))
    )
    conn.execute(insert(rollup_indicator), [{"plan_id": plan_id, "code": r["code"], "definition": r} for r in rows])


def load_bloc(conn: Connection, bloc_code: str) -> dict[str, Any] | None:
    """A khối/cụm thi đua row."""
    row = conn.execute(select(rollup_bloc).where(rollup_bloc.c.bloc_code == bloc_code)).first()
    return row._asdict() if row else None


def save_bloc(conn: Connection, row: Mapping[str, Any]) -> None:
    """Insert or replace a khối/cụm thi đua (its latest definition)."""
    conn.execute(delete(rollup_bloc).where(rollup_bloc.c.bloc_code == row["bloc_code"]))
    conn.execute(insert(rollup_bloc).values(**row))


def blocs_of(conn: Connection, provinces: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """The khối/cụm thi đua of each of ``provinces``."""
    wanted = sorted(set(provinces))
    found: dict[str, list[dict[str, Any]]] = {p: [] for p in wanted}
    for chunk in chunked(wanted):
        for row in conn.execute(select(rollup_bloc).where(rollup_bloc.c.province_path.in_(list(chunk)))):
            found[row.province_path].append(row._asdict())
    return found
