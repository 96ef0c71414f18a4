"""Read queries on the org-unit hierarchy: one unit, its children, its ancestors, its subtree."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, or_, select

from services.kernel.orgpaths import OrgPath

from .tables import orgunit_unit


def by_code(conn: Connection, code: str) -> dict[str, Any] | None:
    """The unit with ``code`` (official code, unit code, or VN)."""
    row = conn.execute(select(orgunit_unit).where(orgunit_unit.c.code == code)).first()
    return row._asdict() if row else None


def children(conn: Connection, path: str) -> list[dict[str, Any]]:
    """Direct children of ``path``, ordered by code."""
    query = select(orgunit_unit).where(orgunit_unit.c.parent_path == path).order_by(orgunit_unit.c.code)
    return [r._asdict() for r in conn.execute(query)]


def ancestors(conn: Connection, path: str) -> list[dict[str, Any]]:
    """Ancestors of ``path`` from the root down (the chain a plan or an award travels)."""
    paths = [a.value for a in OrgPath.parse(path).ancestors()]
    rows = {r.path: r._asdict() for r in conn.execute(select(orgunit_unit).where(orgunit_unit.c.path.in_(paths)))}
    return [rows[p] for p in paths if p in rows]


def subtree(conn: Connection, path: str, max_depth: int | None = None) -> list[dict[str, Any]]:
    """``path`` and every unit below it (to ``max_depth`` levels below), ordered by path."""
    query = select(orgunit_unit).where(
        or_(orgunit_unit.c.path == path, orgunit_unit.c.path.startswith(path + "/", autoescape=True))
    )
    if max_depth is not None:
        query = query.where(orgunit_unit.c.depth <= path.count("/") + max_depth)
    return [r._asdict() for r in conn.execute(query.order_by(orgunit_unit.c.path))]
