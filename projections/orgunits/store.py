"""Thin store of the org-unit read model: load and save rows, seed the official reference list."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import Connection, func, insert, select, update

from services.kernel.adminunits import AdminUnitCatalog
from services.kernel.orgpaths import ROOT

from .evolve import OrgUnitRow
from .tables import orgunit_unit

CENTRAL_NAME = "Trung ương"  # central level (Chính phủ, Thủ tướng, bộ, ngành)


def load(conn: Connection, path: str) -> OrgUnitRow | None:
    """The row at ``path``, if any."""
    row = conn.execute(select(orgunit_unit).where(orgunit_unit.c.path == path)).first()
    return OrgUnitRow(**row._asdict()) if row else None


def save(conn: Connection, before: OrgUnitRow | None, after: OrgUnitRow | None) -> None:
    """Persist the change from ``before`` to ``after``."""
    if after is None or after == before:
        return
    if before is None:
        conn.execute(insert(orgunit_unit).values(**asdict(after)))
    else:
        conn.execute(update(orgunit_unit).where(orgunit_unit.c.path == after.path).values(**asdict(after)))


def reference_rows(catalog: AdminUnitCatalog) -> list[dict[str, object]]:
    """Rows for the central root and the official provinces and communes."""
    rows: list[dict[str, object]] = [
        dict(
            path=ROOT,
            code=ROOT,
            parent_path=None,
            level="CENTRAL",
            unit_type="CENTRAL",
            name=CENTRAL_NAME,
            depth=0,
            source="REFERENCE",
        )
    ]
    for unit in catalog:
        parent = f"{ROOT}/{unit.parent_code}" if unit.parent_code else ROOT
        path = f"{parent}/{unit.code}"
        rows.append(
            dict(
                path=path,
                code=unit.code,
                parent_path=parent,
                level=str(unit.level),
                unit_type=str(unit.unit_type),
                name=unit.name,
                depth=path.count("/"),
                valid_from=unit.valid_from,
                source="REFERENCE",
            )
        )
    return rows


def seed_reference(conn: Connection, catalog: AdminUnitCatalog) -> int:
    """Insert the reference rows when they are not there yet; return how many were inserted."""
    present = conn.execute(
        select(func.count()).select_from(orgunit_unit).where(orgunit_unit.c.source == "REFERENCE")
    ).scalar_one()
    if present:
        return 0
    rows = reference_rows(catalog)
    conn.execute(insert(orgunit_unit), rows)
    return len(rows)
