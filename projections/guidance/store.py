"""Thin store of the guidance read model: load a row by its key, save the change from before to after."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from sqlalchemy import Connection, Table, and_, insert, select, update

from .rows import CriteriaRow, DocumentRow, PlanRow, ReportRow, Row, TargetRow, UnitRow
from .tables import (
    guidance_criteria,
    guidance_document,
    guidance_document_target,
    guidance_plan,
    guidance_report,
    guidance_target,
    guidance_unit,
)

TABLES: dict[type, tuple[Table, tuple[str, ...]]] = {
    UnitRow: (guidance_unit, ("path",)),
    PlanRow: (guidance_plan, ("plan_id",)),
    CriteriaRow: (guidance_criteria, ("criteria_id",)),
    TargetRow: (guidance_target, ("unit_path", "plan_id", "year")),
    ReportRow: (guidance_report, ("report_id",)),
    DocumentRow: (guidance_document, ("guidance_id",)),
}


def _where(table: Table, columns: tuple[str, ...], key: tuple[Any, ...]) -> Any:
    return and_(*(table.c[c] == v for c, v in zip(columns, key, strict=True)))


def load(conn: Connection, row_type: type, key: tuple[Any, ...]) -> Row | None:
    """The row of ``row_type`` with primary key ``key``, if any."""
    table, columns = TABLES[row_type]
    found = conn.execute(select(table).where(_where(table, columns, key))).first()
    if found is None:
        return None
    values = found._asdict()
    return row_type(**{f.name: values[f.name] for f in fields(row_type)})  # type: ignore[no-any-return]


def save(conn: Connection, before: Row | None, after: Row | None) -> None:
    """Persist the change from ``before`` to ``after`` (rows are never deleted)."""
    if after is None or after == before:
        return
    table, columns = TABLES[type(after)]
    values = asdict(after)
    if before is None:
        conn.execute(insert(table).values(**values))
        if isinstance(after, DocumentRow):
            targets = [{"path": p, "guidance_id": after.guidance_id} for p in sorted(set(after.addressed_to))]
            if targets:
                conn.execute(insert(guidance_document_target), targets)
        return
    key = tuple(values[c] for c in columns)
    conn.execute(update(table).where(_where(table, columns, key)).values(**values))
