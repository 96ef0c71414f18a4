"""Thin store of the org-unit read model: load and save rows, seed the official reference list."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from projections.bulk import copy_rows
from projections.rowstore import RowStore
from services.kernel.adminunits import AdminUnitCatalog
from services.kernel.orgpaths import ROOT

from .evolve import OrgUnitRow
from .tables import orgunit_unit

CENTRAL_NAME = "Trung ương"  # central level (Chính phủ, Thủ tướng, bộ, ngành)


UNITS = RowStore(orgunit_unit, OrgUnitRow, "path", ())
load, save = UNITS.load, UNITS.save


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
    empty = dict.fromkeys(orgunit_unit.columns.keys())
    copy_rows(conn, orgunit_unit, [empty | row for row in rows])  # a build seeds 3,300 communes
    return len(rows)
